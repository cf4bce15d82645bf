import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { Link } from "react-router";
import { ApiError, get, type Page, post, type Run } from "../api";
import { type RunEvent, useEventStream } from "../events";

/** The workspace's runs, kept live by its event stream (GET /v1/events). */
export function Queue() {
  const queryClient = useQueryClient();
  const runs = useQuery({ queryKey: ["runs"], queryFn: () => get<Page<Run>>("/v1/runs?limit=50") });
  const [progress, setProgress] = useState<Record<string, number>>({});
  const [error, setError] = useState<string | null>(null);
  const pending = useRef<number | null>(null);

  useEventStream("/v1/events", (event: RunEvent) => {
    const runId = String(event.data.run_id ?? "");
    if (event.name === "node_progress" && typeof event.data.progress === "number") {
      setProgress((current) => ({ ...current, [runId]: event.data.progress as number }));
    }
    if (event.name.startsWith("run_") && pending.current === null) {
      // Bursts of events (many runs finishing together) refresh the list once.
      pending.current = window.setTimeout(() => {
        pending.current = null;
        void queryClient.invalidateQueries({ queryKey: ["runs"] });
      }, 150);
    }
  });

  async function cancel(runId: string) {
    setError(null);
    try {
      await post(`/v1/runs/${runId}/cancel`);
      await queryClient.invalidateQueries({ queryKey: ["runs"] });
    } catch (exc) {
      setError(exc instanceof ApiError ? exc.message : String(exc));
    }
  }

  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Queue</h1>
      {error && <p role="alert">{error}</p>}
      {runs.error && <p role="alert">Could not load runs: {runs.error.message}</p>}
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Status</th>
            <th scope="col">Nodes</th>
            <th scope="col">Credits</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(runs.data?.data ?? []).map((run) => (
            <tr key={run.run_id} data-run-id={run.run_id}>
              <td>
                <Link to={`/run/${run.run_id}`}>
                  <code>{run.run_id}</code>
                </Link>
              </td>
              <td data-testid="status">
                {run.status}
                {run.status === "queued" && run.queue_position !== null && ` (#${run.queue_position + 1})`}
                {run.status === "running" && progress[run.run_id] !== undefined && (
                  <progress value={progress[run.run_id]} max={1} aria-label="progress" />
                )}
              </td>
              <td>{run.nodes.map((n) => `${n.node_id}:${n.status}`).join(" ")}</td>
              <td>{run.status === "completed" ? run.credits_used : run.credits_reserved}</td>
              <td>{new Date(run.created_at).toLocaleTimeString()}</td>
              <td>
                {(run.status === "queued" || run.status === "running") && (
                  <button type="button" onClick={() => void cancel(run.run_id)}>
                    Cancel
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
