// A past run's graph (GET /v1/runs/{id}/graph, secrets scrubbed) saved as a new workflow draft, so
// the run page and the editor both open it in the editor.
import { get, post } from "./api";

interface StoredGraph {
  nodes: unknown[];
  edges: unknown[];
}

export async function openRunAsWorkflow(runId: string, navigate: (to: string) => void): Promise<void> {
  const id = runId.trim();
  const read = await get<{ graph: StoredGraph }>(`/v1/runs/${encodeURIComponent(id)}/graph`);
  const made = await post<{ id: string }>("/v1/workflows", { name: `Run ${id}`, graph: read.graph });
  navigate(`/workflows/${made.id}`);
}
