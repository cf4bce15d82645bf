import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, get, post } from "../api";
import { type RunEvent, useEventStream } from "../events";
import { openRunAsWorkflow } from "../runAsWorkflow";

interface GraphNode {
  id: string;
  type: string;
  inputs?: Record<string, unknown>;
}
interface GraphEdge {
  source: { node_id: string; field: string };
  destination: { node_id: string; field: string };
}
interface RunGraph {
  run_id: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}
interface NodeDetail {
  node_id: string;
  type: string;
  status: string;
  cached: boolean;
  credits: number;
  started_at: string | null;
  completed_at: string | null;
  model: string | null;
}
interface RunDetailData {
  run_id: string;
  kind: string;
  status: string;
  nodes: NodeDetail[];
  credits_reserved: number;
  credits_used: number;
  error: { code: string; message: string; node_id: string | null } | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

const ACTIVE = new Set(["queued", "running"]);
const BOX = { width: 170, height: 54, gapX: 60, gapY: 24 };

function duration(start: string | null, end: string | null): string {
  if (!start || !end) return "—";
  const ms = new Date(end).getTime() - new Date(start).getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Layers by longest path from a source node (a DAG: validation refused cycles), then rows. */
/** The graph the run executed, as GET /v1/runs/{id}/graph answers it ({run_id, object, graph}). */
async function readGraph(runId: string): Promise<RunGraph> {
  return (await get<{ graph: RunGraph }>(`/v1/runs/${encodeURIComponent(runId)}/graph`)).graph;
}

function layout(graph: RunGraph): Map<string, { x: number; y: number }> {
  const depth = new Map(graph.nodes.map((n) => [n.id, 0]));
  for (let pass = 0; pass < graph.nodes.length; pass++) {
    let moved = false;
    for (const edge of graph.edges) {
      const next = (depth.get(edge.source.node_id) ?? 0) + 1;
      if (next > (depth.get(edge.destination.node_id) ?? 0)) {
        depth.set(edge.destination.node_id, next);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const rows = new Map<number, number>();
  const places = new Map<string, { x: number; y: number }>();
  for (const node of graph.nodes) {
    const layer = depth.get(node.id) ?? 0;
    const row = rows.get(layer) ?? 0;
    rows.set(layer, row + 1);
    places.set(node.id, { x: layer * (BOX.width + BOX.gapX) + 8, y: row * (BOX.height + BOX.gapY) + 8 });
  }
  return places;
}

function GraphDrawing({ graph, nodes }: { graph: RunGraph; nodes: Map<string, NodeDetail> }) {
  const places = useMemo(() => layout(graph), [graph]);
  const width = Math.max(...[...places.values()].map((p) => p.x + BOX.width + 8), 200);
  const height = Math.max(...[...places.values()].map((p) => p.y + BOX.height + 8), 80);
  return (
    <svg className="run-graph" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label="Run graph">
      {graph.edges.map((edge, index) => {
        const from = places.get(edge.source.node_id);
        const to = places.get(edge.destination.node_id);
        if (!from || !to) return null;
        return (
          <line
            key={index}
            x1={from.x + BOX.width}
            y1={from.y + BOX.height / 2}
            x2={to.x}
            y2={to.y + BOX.height / 2}
            className="edge"
          >
            <title>{`${edge.source.node_id}.${edge.source.field} → ${edge.destination.node_id}.${edge.destination.field}`}</title>
          </line>
        );
      })}
      {graph.nodes.map((node) => {
        const place = places.get(node.id)!;
        const status = nodes.get(node.id)?.status ?? "pending";
        return (
          <g key={node.id} transform={`translate(${place.x},${place.y})`} className={`node ${status}`} data-node-id={node.id}>
            <rect width={BOX.width} height={BOX.height} rx={6} />
            <text x={8} y={20}>
              {node.id}
            </text>
            <text x={8} y={40} className="type">
              {node.type} · {status}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** One run: its graph drawn, each node's timing and cost, the events as they came, cancel and re-run. */
export default function RunDetail() {
  const { runId = "" } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const run = useQuery({
    queryKey: ["run", runId],
    queryFn: () => get<RunDetailData>(`/v1/runs/${runId}`),
    // Events drive the refreshes; a slow poll while active covers a stream that drops or lags.
    refetchInterval: (query) => (ACTIVE.has(query.state.data?.status ?? "queued") ? 2000 : false),
  });
  const graph = useQuery({ queryKey: ["run-graph", runId], queryFn: () => readGraph(runId) });
  const [events, setEvents] = useState<{ event: RunEvent; seen: Date }[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEventStream(runId ? `/v1/runs/${runId}/events` : null, (event) => {
    setEvents((current) => [...current, { event, seen: new Date() }]);
    if (event.name !== "node_progress") void queryClient.invalidateQueries({ queryKey: ["run", runId] });
  });
  const nodes = useMemo(() => new Map((run.data?.nodes ?? []).map((n) => [n.node_id, n])), [run.data]);
  // The literal inputs the graph gave each node (edges feed the others): settings show up here.
  const inputs = useMemo(() => new Map((graph.data?.nodes ?? []).map((n) => [n.id, n.inputs ?? {}])), [graph.data]);

  async function act(action: () => Promise<void>) {
    setError(null);
    try {
      await action();
    } catch (exc) {
      setError(exc instanceof ApiError ? `${exc.message} (${exc.code})` : String(exc));
    }
  }
  const cancel = () =>
    act(async () => {
      await post(`/v1/runs/${runId}/cancel`);
      await queryClient.invalidateQueries({ queryKey: ["run", runId] });
    });
  const rerun = () =>
    act(async () => {
      const stored = graph.data ?? (await readGraph(runId));
      const created = await post<{ run_id: string }>("/v1/runs", { graph: { nodes: stored.nodes, edges: stored.edges } });
      setEvents([]);
      navigate(`/run/${created.run_id}`);
    });

  return (
    <section aria-labelledby="run-title" className="run-detail">
      <p>
        <Link to="/queue">← Queue</Link>
      </p>
      <h1 id="run-title">
        Run <code>{runId}</code>
      </h1>
      {run.error && <p role="alert">Could not load the run: {run.error.message}</p>}
      {error && <p role="alert">{error}</p>}
      {run.data && (
        <>
          <dl className="run-summary">
            <dt>Status</dt>
            <dd data-testid="run-detail-status">{run.data.status}</dd>
            <dt>Kind</dt>
            <dd>{run.data.kind}</dd>
            <dt>Credits</dt>
            <dd>{ACTIVE.has(run.data.status) ? `${run.data.credits_reserved} held` : run.data.credits_used}</dd>
            <dt>Duration</dt>
            <dd>{duration(run.data.started_at, run.data.completed_at)}</dd>
          </dl>
          {run.data.error && (
            <p role="alert">
              {run.data.error.code}: {run.data.error.message}
            </p>
          )}
          <div className="actions">
            {ACTIVE.has(run.data.status) && (
              <button type="button" onClick={() => void cancel()}>
                Cancel run
              </button>
            )}
            <button type="button" onClick={() => void rerun()} disabled={!graph.data}>
              Re-run
            </button>
            <button type="button" onClick={() => void act(() => openRunAsWorkflow(runId, navigate))} disabled={!graph.data}>
              Open in editor
            </button>
          </div>
        </>
      )}
      <h2>Graph</h2>
      {graph.data && (
        <div className="graph-scroller">
          <GraphDrawing graph={graph.data} nodes={nodes} />
        </div>
      )}
      <h2>Nodes</h2>
      <table className="table" aria-label="Nodes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Time</th>
            <th scope="col">Credits</th>
            <th scope="col">Model</th>
            <th scope="col">Inputs</th>
          </tr>
        </thead>
        <tbody>
          {(run.data?.nodes ?? []).map((node) => (
            <tr key={node.node_id} data-node-id={node.node_id}>
              <td>
                <code>{node.node_id}</code>
              </td>
              <td>{node.type}</td>
              <td>{node.cached ? `${node.status} (cached)` : node.status}</td>
              <td data-testid="node-time">{duration(node.started_at, node.completed_at)}</td>
              <td data-testid="node-credits">{node.credits}</td>
              <td>{node.model ?? "—"}</td>
              <td data-testid="node-inputs">
                <code>{JSON.stringify(inputs.get(node.node_id) ?? {})}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Events</h2>
      <ol className="timeline" aria-label="Events">
        {events.map(({ event, seen }, index) => (
          <li key={index}>
            <time dateTime={seen.toISOString()}>{seen.toLocaleTimeString()}</time> <strong>{event.name}</strong>
            {typeof event.data.node_id === "string" && (
              <>
                {" "}
                <code>{event.data.node_id}</code>
              </>
            )}
            {typeof event.data.progress === "number" && ` ${Math.round(event.data.progress * 100)}%`}
          </li>
        ))}
      </ol>
    </section>
  );
}
