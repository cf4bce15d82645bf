import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { apiErrorText, del, get, type Key, post } from "../api";
import { DataTable } from "../components/DataTable";
import { useAction } from "../useAction";

type Secret = Key & { key: string };

/** API keys: create (the secret is shown this once), list, revoke. */
export function Keys() {
  const keys = useQuery({ queryKey: ["keys"], queryFn: () => get<{ data: Key[] }>("/v1/keys") });
  const [created, setCreated] = useState<Secret | null>(null);
  const { error, act } = useAction([["keys"]], apiErrorText);

  function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    // Held now: React clears event.currentTarget once the handler returns, before the key arrives.
    const element = event.currentTarget;
    const form = new FormData(element);
    void act(async () => {
      setCreated(await post<Secret>("/v1/keys", { name: form.get("name"), mode: form.get("mode") }));
      element.reset();
    });
  }

  // The replacement is shown once; the old key keeps working until its expires_at.
  const rotate = (key: Key) => act(async () => setCreated(await post<Secret>(`/v1/keys/${key.id}/rotate`)));
  const revoke = (key: Key) => act(() => del(`/v1/keys/${key.id}`));

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <form className="inline" onSubmit={create}>
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
      <DataTable columns={["Name", "Key", "Mode", "Last used", "Expires"]}>
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
      </DataTable>
    </section>
  );
}
