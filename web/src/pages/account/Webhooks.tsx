import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { del, get, post, api } from "../../api";
import { type Delivery, type Webhook } from "../../accountApi";
import { DataTable } from "../../components/DataTable";
import { useAction } from "../../useAction";

type WithSecret = Webhook & { secret: string };

/** Webhook endpoints: create (the signing secret is shown once), enable/disable, rotate, delete. */
export default function Webhooks() {
  const hooks = useQuery({ queryKey: ["webhooks"], queryFn: () => get<{ data: Webhook[] }>("/v1/webhooks") });
  const [secret, setSecret] = useState<WithSecret | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const { error, act } = useAction([["webhooks"]]);

  function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const url = String(new FormData(form).get("url"));
    void act(async () => {
      setSecret(await post<WithSecret>("/v1/webhooks", { url }));
      form.reset();
    });
  }

  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <form className="inline" onSubmit={create}>
        <label>
          Endpoint URL
          <input name="url" type="url" required maxLength={2048} placeholder="https://example.com/hooks" />
        </label>
        <button type="submit">Add endpoint</button>
      </form>
      {error && <p role="alert">{error}</p>}
      {secret && (
        <div role="status" className="secret">
          <p>
            Signing secret for <strong>{secret.url}</strong>. Copy it now: it is not shown again.
          </p>
          <code data-testid="webhook-secret">{secret.secret}</code>{" "}
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      {hooks.error && <p role="alert">Could not load webhooks: {hooks.error.message}</p>}
      <DataTable columns={["URL", "Events", "State"]}>
        {(hooks.data?.data ?? []).map((hook) => (
          <tr key={hook.id} data-webhook-id={hook.id}>
            <td>
              <code>{hook.url}</code>
            </td>
            <td>{hook.events.join(", ")}</td>
            <td>
              {hook.enabled ? "enabled" : `disabled${hook.disabled_reason ? ` (${hook.disabled_reason})` : ""}`}
              {hook.secret_rotating_until &&
                ` · old secret signs until ${new Date(hook.secret_rotating_until).toLocaleString()}`}
            </td>
            <td className="actions">
              <button type="button" onClick={() => setOpen(open === hook.id ? null : hook.id)}>
                {open === hook.id ? "Hide deliveries" : "Deliveries"}
              </button>
              <button
                type="button"
                onClick={() => void act(() => api("PATCH", `/v1/webhooks/${hook.id}`, { enabled: !hook.enabled }))}
              >
                {hook.enabled ? "Disable" : "Enable"}
              </button>
              <button
                type="button"
                onClick={() =>
                  void act(async () => setSecret(await post<WithSecret>(`/v1/webhooks/${hook.id}/rotate-secret`)))
                }
              >
                Rotate secret
              </button>
              <button type="button" onClick={() => void act(() => del(`/v1/webhooks/${hook.id}`))}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </DataTable>
      {open && <Deliveries webhookId={open} />}
    </section>
  );
}

/** One endpoint's deliveries, newest first, each with every attempt; a delivery can be sent again. */
function Deliveries({ webhookId }: { webhookId: string }) {
  const key = ["webhook-deliveries", webhookId];
  const deliveries = useQuery({
    queryKey: key,
    queryFn: () => get<{ data: Delivery[] }>(`/v1/webhooks/${webhookId}/deliveries?limit=50`),
    refetchInterval: 3000,
  });
  const { error, act } = useAction([key]);
  const redeliver = (delivery: Delivery) => act(() => post(`/v1/webhooks/deliveries/${delivery.id}/redeliver`));

  const rows = deliveries.data?.data ?? [];
  return (
    <section aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries</h2>
      {error && <p role="alert">{error}</p>}
      {deliveries.error && <p role="alert">Could not load deliveries: {deliveries.error.message}</p>}
      {deliveries.data && rows.length === 0 && <p>No deliveries yet.</p>}
      <ul className="deliveries">
        {rows.map((delivery) => (
          <li key={delivery.id} data-delivery-id={delivery.id}>
            <p>
              <strong>{delivery.event}</strong> for run <code>{delivery.run_id}</code>:{" "}
              <span data-testid="delivery-status">{delivery.status}</span>, {delivery.attempt_count} attempt(s){" "}
              <button type="button" onClick={() => void redeliver(delivery)}>
                Redeliver
              </button>
            </p>
            <table className="table compact">
              <thead>
                <tr>
                  <th scope="col">Attempted</th>
                  <th scope="col">Status code</th>
                  <th scope="col">Latency</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {delivery.attempts.map((attempt, index) => (
                  <tr key={index} data-testid="attempt">
                    <td>{new Date(attempt.attempted_at).toLocaleString()}</td>
                    <td>{attempt.status_code ?? "—"}</td>
                    <td>{attempt.latency_ms} ms</td>
                    <td>{attempt.error ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </li>
        ))}
      </ul>
    </section>
  );
}
