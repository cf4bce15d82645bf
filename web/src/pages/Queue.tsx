import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { Link } from "react-router";
import { apiErrorText, get, type Page, post, type Run } from "../api";
import { DataTable } from "../components/DataTable";
import { type RunEvent, useEventStream } from "../events";
import { useAction } from "../useAction";

/** The workspace's runs, kept live by its event stream (GET /v1/events). */
export function Queue() {
  const queryClient = useQueryClient();
  const runs = useQuery({ queryKey: ["runs"], queryFn: () => get<Page<Run>>("/v1/runs?limit=50") });
  const [progress, setProgress] = useState<Record<string, number>>({});
  const { error, act } = useAction([["runs"]], apiErrorText);
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

  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Queue</h1>
      {error && <p role="alert">{error}</p>}
      {runs.error && <p role="alert">Could not load runs: {runs.error.message}</p>}
      <DataTable columns={["Run", "Status", "Nodes", "Credits", "Created"]}>
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
                <button type="button" onClick={() => void act(() => post(`/v1/runs/${run.run_id}/cancel`))}>
                  Cancel
                </button>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}
