import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, get, put } from "../../api";
import { messageOf, type Provider } from "../../accountApi";

/**
 * Upstream providers and the key serving this workspace, masked. Saving a key checks it against the
 * upstream first (a refused key is not saved); removing falls back to the operator's key.
 */
export default function Providers() {
  const queryClient = useQueryClient();
  const providers = useQuery({ queryKey: ["providers"], queryFn: () => get<{ data: Provider[] }>("/v1/providers") });
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  async function act(work: () => Promise<unknown>, done: string) {
    setError(null);
    setSaved(null);
    try {
      await work();
      setSaved(done);
      await queryClient.invalidateQueries({ queryKey: ["providers"] });
    } catch (exc) {
      setError(messageOf(exc));
    }
  }

  function setKey(provider: Provider, event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const key = String(new FormData(form).get("key"));
    void act(async () => {
      await put(`/v1/providers/${provider.id}/key`, { key, scope: "workspace" });
      form.reset();
    }, `Key for ${provider.id} checked and saved.`);
  }

  return (
    <section aria-labelledby="providers-title">
      <h1 id="providers-title">Providers</h1>
      {error && <p role="alert">{error}</p>}
      {saved && <p role="status">{saved}</p>}
      {providers.error && <p role="alert">Could not load providers: {providers.error.message}</p>}
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Provider</th>
            <th scope="col">Key</th>
            <th scope="col">Source</th>
            <th scope="col">Valid</th>
            <th scope="col">Workspace key</th>
          </tr>
        </thead>
        <tbody>
          {(providers.data?.data ?? []).map((provider) => (
            <tr key={provider.id} data-provider={provider.id}>
              <th scope="row">
                {provider.id}
                <div className="muted">{provider.models.length} models</div>
              </th>
              <td>{provider.masked_key ? <code data-testid="masked-key">{provider.masked_key}</code> : "none"}</td>
              <td data-testid="key-source">{provider.source ?? "—"}</td>
              <td>{provider.valid === null ? "not checked" : provider.valid ? "yes" : "no"}</td>
              <td>
                <form className="inline" onSubmit={(e) => setKey(provider, e)}>
                  <label>
                    <span className="visually-hidden">New key for {provider.id}</span>
                    <input name="key" type="password" required autoComplete="off" placeholder="API key" />
                  </label>
                  <button type="submit">Check and save</button>
                  {provider.source === "workspace" && (
                    <button
                      type="button"
                      onClick={() =>
                        void act(
                          () => api("DELETE", `/v1/providers/${provider.id}/key?scope=workspace`),
                          `Workspace key for ${provider.id} removed.`,
                        )
                      }
                    >
                      Remove
                    </button>
                  )}
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
