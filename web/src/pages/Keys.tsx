import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ApiError, del, get, type Key, post } from "../api";

/** API keys: create (the secret is shown this once), list, revoke. */
export function Keys() {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ["keys"], queryFn: () => get<{ data: Key[] }>("/v1/keys") });
  const [created, setCreated] = useState<(Key & { key: string }) | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    try {
      setCreated(await post<Key & { key: string }>("/v1/keys", { name: form.get("name"), mode: form.get("mode") }));
      event.currentTarget?.reset();
      await queryClient.invalidateQueries({ queryKey: ["keys"] });
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    }
  }

  async function rotate(key: Key) {
    setError(null);
    try {
      // The replacement is shown once; the old key keeps working until its expires_at.
      setCreated(await post<Key & { key: string }>(`/v1/keys/${key.id}/rotate`));
      await queryClient.invalidateQueries({ queryKey: ["keys"] });
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    }
  }

  async function revoke(key: Key) {
    setError(null);
    try {
      await del(`/v1/keys/${key.id}`);
      await queryClient.invalidateQueries({ queryKey: ["keys"] });
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    }
  }

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <form className="inline" onSubmit={(e) => void create(e)}>
        <label>
          Name
          <input name="name" required maxLength={200} />
        </label>
        <label>
          Mode
          <select name="mode" defaultValue="live">
            <option value="live">live</option>
            <option value="test">test (sandbox models, no credits)</option>
          </select>
        </label>
        <button type="submit">Create key</button>
      </form>
      {error && <p role="alert">{error}</p>}
      {created && (
        <div role="status" className="secret">
          <p>
            Your new key <strong>{created.name}</strong>. Copy it now: it is not shown again.
          </p>
          <code data-testid="new-key">{created.key}</code>{" "}
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.key)}>
            Copy
          </button>{" "}
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {keys.error && <p role="alert">Could not load keys: {keys.error.message}</p>}
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Mode</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(keys.data?.data ?? []).map((key) => (
            <tr key={key.id} data-key-id={key.id}>
              <td>{key.name}</td>
              <td>
                <code>{key.prefix}…</code>
              </td>
              <td>{key.mode}</td>
              <td>{key.last_used_at ? new Date(key.last_used_at).toLocaleString() : "never"}</td>
              <td>{key.expires_at ? new Date(key.expires_at).toLocaleString() : "—"}</td>
              <td className="actions">
                {!key.expires_at && (
                  <button type="button" onClick={() => void rotate(key)} aria-label={`Rotate ${key.name}`}>
                    Rotate
                  </button>
                )}
                <button type="button" onClick={() => void revoke(key)} aria-label={`Revoke ${key.name}`}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
