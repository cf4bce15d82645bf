// The workflow editor: a React Flow canvas over the canonical graph, the node catalogue as a
// palette, a schema-generated form for the selected node, live server validation, save with
// If-Match, publish, and runs watched node by node on the run's event stream.
import {
  addEdge,
  Background,
  Controls,
  type Connection,
  type Edge,
  Handle,
  type NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
  applyEdgeChanges,
  applyNodeChanges,
  type EdgeChange,
  type NodeChange,
  useReactFlow,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { Link, useBlocker, useNavigate, useParams } from "react-router";
import { ApiError, api, get, type Model, post, type Page } from "../../api";
import { type RunEvent, useEventStream } from "../../events";
import { OutputView } from "../../media";
import { openRunAsWorkflow } from "../../runAsWorkflow";
import {
  compatible,
  diffGraphs,
  edgeId,
  type EditorNode,
  freshId,
  type Graph,
  type NodeType,
  portType,
  type Problem,
  sortedJson,
  toFlow,
  toGraph,
} from "./graph";
import { SchemaForm } from "./SchemaForm";

interface Workflow {
  id: string;
  name: string;
  description: string;
  version: number;
  published_version: number | null;
  node_count: number;
  updated_at: string;
  graph?: Graph;
}
interface NodeRun {
  status: "running" | "complete" | "failed" | "cached";
  progress?: number;
  error?: string;
  output?: { type: string; value: unknown };
}
interface Validation {
  valid: boolean;
  errors: Problem[];
  estimated_cost: number | null;
}

// What nodes render besides their data: the catalogue, run state and problems, by node id.
const Shown = createContext<{
  catalogue: Map<string, NodeType>;
  runs: Map<string, NodeRun>;
  problems: Map<string, Problem[]>;
}>({ catalogue: new Map(), runs: new Map(), problems: new Map() });

function PixelmillNode({ id, data, selected }: NodeProps<EditorNode>) {
  const { catalogue, runs, problems } = useContext(Shown);
  const spec = catalogue.get(data.nodeType);
  const run = runs.get(id);
  const nodeProblems = problems.get(id) ?? [];
  const inputs = Object.entries(spec?.inputs.properties ?? {});
  const outputs = Object.entries(spec?.outputs.properties ?? {});
  const required = new Set(spec?.inputs.required ?? []);
  const classes = ["pm-node", run ? `run-${run.status}` : "", nodeProblems.length ? "has-problems" : "", selected ? "selected" : ""];
  return (
    <div className={classes.join(" ")} data-testid={`node-${id}`} data-status={run?.status ?? "idle"}>
      <header>
        <strong>{id}</strong> <small>{data.nodeType}</small>
        {!data.use_cache && <small className="tag">no cache</small>}
        {!data.is_intermediate && <small className="tag out">output</small>}
        {run?.status === "cached" && <small className="tag">cached</small>}
      </header>
      <div className="ports">
        <ul className="inputs">
          {inputs.map(([field, schema]) => (
            <li key={field} title={schema["x-pixelmill-type"]}>
              <Handle type="target" position={Position.Left} id={field} />
              {field}
              {required.has(field) && <span className="required">*</span>}
            </li>
          ))}
        </ul>
        <ul className="outputs">
          {outputs.map(([field, schema]) => (
            <li key={field} title={schema["x-pixelmill-type"]}>
              {field}
              <Handle type="source" position={Position.Right} id={field} />
            </li>
          ))}
        </ul>
      </div>
      {run?.status === "running" && <progress max={1} value={run.progress ?? 0} aria-label={`${id} progress`} />}
      {run?.error && (
        <p role="alert" className="node-error">
          {run.error}
        </p>
      )}
      {run?.output && (
        <div className="pm-preview" data-testid={`output-${id}`}>
          <OutputView
            type={run.output.type}
            // A list of images previews its first; the run's page and the gallery show them all.
            value={run.output.type === "images" && Array.isArray(run.output.value) ? run.output.value[0] : run.output.value}
            label={`${id} output`}
          />
        </div>
      )}
      {nodeProblems.map((p, i) => (
        <p key={i} className="node-problem" data-code={p.code}>
          {p.code}
          {p.field ? ` (${p.field})` : ""}
        </p>
      ))}
    </div>
  );
}
const NODE_TYPES = { pixelmill: PixelmillNode };

/** The list of workflows, with a button to start a new one. */
export function Workflows() {
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ["workflows"], queryFn: () => get<Page<Workflow>>("/v1/workflows?limit=200") });
  const [name, setName] = useState("");
  const [runId, setRunId] = useState("");
  const [failed, setFailed] = useState<string | null>(null);
  async function create() {
    const made = await post<Workflow>("/v1/workflows", { name: name || "Untitled workflow" });
    navigate(`/workflows/${made.id}`);
  }
  return (
    <section>
      <h1>Workflows</h1>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit">New workflow</button>
      </form>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          openRunAsWorkflow(runId, navigate).catch((error: unknown) =>
            setFailed(error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)),
          );
        }}
      >
        <label>
          Run id <input value={runId} onChange={(e) => setRunId(e.target.value)} />
        </label>
        <button type="submit">Open a run's graph</button>
      </form>
      {failed && <p role="alert">{failed}</p>}
      {list.isPending && <p className="loading">Loading…</p>}
      <table>
        <tbody>
          {list.data?.data.map((w) => (
            <tr key={w.id}>
              <td>
                <Link to={`/workflows/${w.id}`}>{w.name}</Link>
              </td>
              <td>{w.node_count} nodes</td>
              <td>draft v{w.version}</td>
              <td>{w.published_version ? `published v${w.published_version}` : "not published"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function WorkflowEditorPage() {
  // A fresh editor per workflow: run state, undo history and the view belong to one graph.
  const { id = "" } = useParams();
  return (
    <ReactFlowProvider key={id}>
      <WorkflowEditor />
    </ReactFlowProvider>
  );
}

function WorkflowEditor() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const flow = useReactFlow();
  const catalogueQuery = useQuery({
    queryKey: ["nodes"],
    queryFn: () => get<{ data: NodeType[] }>("/v1/nodes"),
    staleTime: Infinity,
  });
  const catalogue = useMemo(
    () => new Map((catalogueQuery.data?.data ?? []).map((t) => [t.type, t])),
    [catalogueQuery.data],
  );
  const modelsQuery = useQuery({ queryKey: ["models"], queryFn: () => get<{ data: Model[] }>("/v1/models") });
  const [workflow, setWorkflow] = useState<Workflow | null>(null);
  const [nodes, setNodes] = useState<EditorNode[]>([]);
  const [edges, setEdges] = useState<Edge[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [conflict, setConflict] = useState<Workflow | null>(null);
  const [validation, setValidation] = useState<Validation | null>(null);
  const [search, setSearch] = useState("");
  const [runId, setRunId] = useState<string | null>(null);
  const [runStatus, setRunStatus] = useState<string | null>(null);
  const [runs, setRuns] = useState<Map<string, NodeRun>>(new Map());
  const [overrides, setOverrides] = useState<Record<string, Record<string, unknown>>>({});
  const [exported, setExported] = useState<string | null>(null);
  const [versions, setVersions] = useState<{ number: number; published_at: string; graph: Graph }[]>([]);
  const [compared, setCompared] = useState<{ number: number; lines: string[] } | null>(null);
  const past = useRef<Snapshot[]>([]);
  const future = useRef<Snapshot[]>([]);
  // Typing into one field is one undo step, not one per keystroke.
  const lastFieldEdit = useRef<{ key: string; at: number } | null>(null);
  // Fit a saved graph into view on open; an empty one keeps zoom 1, so drops land where they fall.
  const fitOnOpen = useRef(false);

  const load = useCallback(
    (graph: Graph, keepPositions = true) => {
      const view = toFlow(graph, keepPositions ? flow.getNodes() as EditorNode[] : []);
      setNodes(view.nodes);
      setEdges(view.edges);
    },
    [flow],
  );

  useEffect(() => {
    void api<Workflow>("GET", `/v1/workflows/${id}`).then((w) => {
      fitOnOpen.current = (w.graph?.nodes.length ?? 0) > 0;
      setWorkflow(w);
      load(w.graph ?? { nodes: [], edges: [] }, false);
    });
    void get<{ data: { number: number; published_at: string; graph: Graph }[] }>(`/v1/workflows/${id}/versions`).then((v) =>
      setVersions(v.data),
    );
  }, [id, load]);

  const graph = useMemo(() => toGraph(nodes, edges), [nodes, edges]);
  // What "Run published" runs (and overrides apply to): the newest published version's graph.
  const publishedGraph = (versions.find((v) => v.number === workflow?.published_version) ?? versions[0])?.graph;
  const graphKey = JSON.stringify(graph);
  // The saved draft in the same canonical form, so a difference is an edit and not key order (a
  // PostgreSQL JSONB column sorts an object's keys) or defaults left out.
  const savedKey = useMemo(() => {
    const saved = toFlow(workflow?.graph ?? { nodes: [], edges: [] });
    return sortedJson(toGraph(saved.nodes, saved.edges));
  }, [workflow]);
  const dirty = useMemo(() => sortedJson(graph) !== savedKey, [graph, savedKey]);
  // Leaving with unsaved edits asks first: the router's links here, reloads and closing the tab there.
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) => dirty && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  // Live validation: the server's own checks, a moment after the last edit.
  useEffect(() => {
    const timer = setTimeout(() => {
      void post<Validation>("/v1/graphs/validate", { graph: JSON.parse(graphKey) as Graph }).then(setValidation);
    }, 300);
    return () => clearTimeout(timer);
  }, [graphKey]);

  const problems = useMemo(() => {
    const byNode = new Map<string, Problem[]>();
    for (const p of validation?.errors ?? []) {
      if (p.node_id) byNode.set(p.node_id, [...(byNode.get(p.node_id) ?? []), p]);
    }
    return byNode;
  }, [validation]);

  /** Undo history: the canvas as it was (positions included, so moves undo too) before each edit. */
  const remember = useCallback(() => {
    past.current.push({ nodes: flow.getNodes() as EditorNode[], edges: flow.getEdges() });
    future.current = [];
    lastFieldEdit.current = null;
  }, [flow]);
  /** Every structural edit goes through here so undo can restore the graph before it. */
  const edit = useCallback(
    (next: Graph) => {
      remember();
      load(next);
    },
    [remember, load],
  );
  function travel(from: React.RefObject<Snapshot[]>, to: React.RefObject<Snapshot[]>) {
    const snapshot = from.current.pop();
    if (!snapshot) return;
    to.current.push({ nodes, edges });
    lastFieldEdit.current = null;
    // Nothing comes back selected: a restored selection would drag or delete nodes the user did not pick.
    setNodes(snapshot.nodes.map((n) => ({ ...n, selected: false })));
    setEdges(snapshot.edges.map((e) => ({ ...e, selected: false })));
  }
  const undo = () => travel(past, future);
  const redo = () => travel(future, past);

  function addNode(type: string, position?: { x: number; y: number }) {
    const taken = new Set(nodes.map((n) => n.id));
    const nodeId = freshId(type, taken);
    remember();
    setNodes((current) => [
      ...current,
      {
        id: nodeId,
        type: "pixelmill",
        position: position ?? { x: 80 + current.length * 60, y: 80 + current.length * 40 },
        data: { nodeType: type, inputs: {}, use_cache: true, is_intermediate: false },
      },
    ]);
    setSelected(nodeId);
  }

  function onConnect(connection: Connection) {
    const source = nodes.find((n) => n.id === connection.source);
    const target = nodes.find((n) => n.id === connection.target);
    if (!source || !target || !connection.sourceHandle || !connection.targetHandle) return;
    const from = portType(catalogue.get(source.data.nodeType)?.outputs, connection.sourceHandle);
    const to = portType(catalogue.get(target.data.nodeType)?.inputs, connection.targetHandle);
    if (!compatible(from, to)) {
      setMessage(
        `Cannot connect ${source.id}.${connection.sourceHandle} (${from}) to ${target.id}.${connection.targetHandle} (${to}): the types do not match.`,
      );
      return;
    }
    setMessage(null);
    // One edge per input: a new connection replaces the old one.
    const kept = edges.filter((e) => !(e.target === target.id && e.targetHandle === connection.targetHandle));
    const next = addEdge(
      { ...connection, id: edgeId(source.id, connection.sourceHandle, target.id, connection.targetHandle) },
      kept,
    );
    edit(toGraph(nodes, next));
  }

  function onNodesChange(changes: NodeChange<EditorNode>[]) {
    setNodes((current) => applyNodeChanges(changes, current));
    for (const change of changes) if (change.type === "select" && change.selected) setSelected(change.id);
  }
  function onEdgesChange(changes: EdgeChange[]) {
    setEdges((current) => applyEdgeChanges(changes, current));
  }

  /** A change to one node's data; `field` groups quick successive edits of one input into one undo step. */
  function updateNode(nodeId: string, update: (node: EditorNode) => EditorNode, field?: string) {
    const key = `${nodeId}.${field ?? ""}`;
    const last = lastFieldEdit.current;
    if (!(field && last?.key === key && Date.now() - last.at < 1000)) remember();
    if (field) lastFieldEdit.current = { key, at: Date.now() };
    setNodes((current) => current.map((n) => (n.id === nodeId ? update(n) : n)));
  }

  async function save(force?: number) {
    if (!workflow) return;
    let saved: Workflow;
    try {
      saved = await api<Workflow>("PATCH", `/v1/workflows/${workflow.id}`, { graph, name: workflow.name }, {
        "If-Match": `"${force ?? workflow.version}"`,
      });
    } catch (error) {
      if (error instanceof ApiError && (error.status === 409 || error.status === 412)) {
        setConflict(await api<Workflow>("GET", `/v1/workflows/${workflow.id}`));
      } else {
        setMessage(`Not saved: ${error instanceof ApiError ? `${error.code} ${error.message}` : String(error)}`);
      }
      return;
    }
    setConflict(null);
    setWorkflow(saved);
    setMessage(`Saved draft v${saved.version}.`);
    void queryClient.invalidateQueries({ queryKey: ["workflows"] });
  }

  async function publish() {
    if (!workflow) return;
    try {
      const version = await post<{ number: number; published_at: string; graph: Graph }>(`/v1/workflows/${workflow.id}/publish`);
      setVersions((v) => [version, ...v]);
      setWorkflow({ ...workflow, published_version: version.number });
      setMessage(`Published version ${version.number}.`);
    } catch (error) {
      setMessage(`Not published: ${error instanceof ApiError ? `${error.code} ${error.message}` : String(error)}`);
    }
  }

  /** The published version with the override forms' values merged in. */
  function runPublished() {
    if (!workflow) return;
    const nodes = Object.entries(overrides)
      .filter(([nodeId, inputs]) => Object.keys(inputs).length > 0 && publishedGraph?.nodes.some((n) => n.id === nodeId))
      .map(([nodeId, inputs]) => ({ id: nodeId, inputs }));
    void start(`/v1/workflows/${workflow.id}/runs`, nodes.length ? { nodes } : {});
  }

  async function start(path: string, body: unknown) {
    try {
      const created = await post<{ run_id: string; status: string }>(path, body);
      setRuns(new Map());
      setRunStatus(created.status);
      setRunId(created.run_id);
    } catch (error) {
      setMessage(`Not run: ${error instanceof ApiError ? `${error.code} ${error.message}` : String(error)}`);
    }
  }

  useEventStream(runId ? `/v1/runs/${runId}/events` : null, (event: RunEvent) => {
    const nodeId = event.data.node_id as string | undefined;
    const change = (patch: NodeRun) =>
      nodeId && setRuns((current) => new Map(current).set(nodeId, { ...current.get(nodeId), ...patch }));
    switch (event.name) {
      case "node_start":
        change({ status: "running", progress: 0 });
        break;
      case "node_progress":
        change({ status: "running", progress: Number(event.data.progress ?? 0) });
        break;
      case "node_cached":
        change({ status: "cached", output: event.data.output as NodeRun["output"] });
        break;
      case "node_complete":
        // A cached node also gets node_complete right after node_cached: it stays marked cached.
        if (nodeId)
          setRuns((current) => {
            const was = current.get(nodeId);
            if (was?.status === "cached") return current;
            return new Map(current).set(nodeId, { ...was, status: "complete", progress: 1 });
          });
        break;
      case "node_failed": {
        const error = event.data.error as { code?: string; message?: string } | undefined;
        change({ status: "failed", error: `${error?.code ?? "FAILED"}: ${error?.message ?? ""}` });
        break;
      }
      case "run_complete":
      case "run_failed":
      case "run_cancelled":
        setRunStatus(event.name.slice(4));
        // Media previews: the run's outputs carry signed URLs the browser may load.
        void get<{ outputs: Record<string, { type: string; value: unknown }> }>(`/v1/runs/${runId}`).then((r) =>
          setRuns((current) => {
            const next = new Map(current);
            for (const [node, output] of Object.entries(r.outputs)) next.set(node, { status: "complete", ...next.get(node), output });
            return next;
          }),
        );
        break;
      default:
        if (event.name === "run_started") setRunStatus("running");
    }
  });

  async function cancel() {
    if (runId) await post(`/v1/runs/${runId}/cancel`);
  }

  function importJson(text: string) {
    try {
      const parsed = JSON.parse(text) as Graph;
      if (!Array.isArray(parsed.nodes) || !Array.isArray(parsed.edges)) throw new Error("needs nodes and edges");
      edit(parsed);
      setMessage("Imported.");
    } catch (error) {
      setMessage(`Not imported: ${String(error)}`);
    }
  }

  /** Left-to-right layout by dagre, loaded on first use (it is not part of the editor's chunk). */
  async function autoLayout() {
    const { default: dagre } = await import("@dagrejs/dagre");
    const layout = new dagre.graphlib.Graph();
    layout.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80 });
    layout.setDefaultEdgeLabel(() => ({}));
    const current = flow.getNodes() as EditorNode[];
    remember();
    for (const node of current) {
      layout.setNode(node.id, { width: node.measured?.width ?? 220, height: node.measured?.height ?? 160 });
    }
    for (const edge of flow.getEdges()) layout.setEdge(edge.source, edge.target);
    dagre.layout(layout);
    setNodes(
      current.map((node) => {
        const placed = layout.node(node.id);
        const width = node.measured?.width ?? 220;
        const height = node.measured?.height ?? 160;
        return { ...node, position: { x: placed.x - width / 2, y: placed.y - height / 2 } };
      }),
    );
    window.requestAnimationFrame(() => void flow.fitView({ maxZoom: 1 }));
  }

  // Copy/paste of the selected nodes and the edges between them; pasted nodes get fresh ids.
  const clipboard = useRef<{ nodes: EditorNode[]; edges: Edge[] } | null>(null);
  function onKeyDown(event: React.KeyboardEvent) {
    const target = event.target as HTMLElement;
    if (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.key === "c") {
      const picked = nodes.filter((n) => n.selected);
      const ids = new Set(picked.map((n) => n.id));
      clipboard.current = { nodes: picked, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
    } else if (mod && event.key === "v" && clipboard.current) {
      const taken = new Set(nodes.map((n) => n.id));
      const renamed = new Map<string, string>();
      for (const node of clipboard.current.nodes) {
        const fresh = freshId(node.data.nodeType, taken);
        taken.add(fresh);
        renamed.set(node.id, fresh);
      }
      const pasted = clipboard.current.nodes.map((node) => ({
        ...node,
        id: renamed.get(node.id)!,
        selected: true,
        position: { x: node.position.x + 40, y: node.position.y + 40 },
        data: { ...node.data, inputs: { ...node.data.inputs } },
      }));
      const pastedEdges = clipboard.current.edges.map((edge) => {
        const source = renamed.get(edge.source)!;
        const target = renamed.get(edge.target)!;
        return { ...edge, source, target, id: edgeId(source, edge.sourceHandle ?? "", target, edge.targetHandle ?? "") };
      });
      remember();
      setNodes([...nodes.map((n) => ({ ...n, selected: false })), ...pasted]);
      setEdges([...edges, ...pastedEdges]);
    } else if (mod && event.key === "z") {
      if (event.shiftKey) redo();
      else undo();
    }
  }

  const palette = useMemo(() => {
    const groups = new Map<string, NodeType[]>();
    const needle = search.toLowerCase();
    for (const t of catalogue.values()) {
      if (needle && !`${t.type} ${t.description}`.toLowerCase().includes(needle)) continue;
      groups.set(t.category, [...(groups.get(t.category) ?? []), t]);
    }
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [catalogue, search]);

  const chosen = nodes.find((n) => n.id === selected);
  const chosenSpec = chosen ? catalogue.get(chosen.data.nodeType) : undefined;
  const chosenProblems = new Map((problems.get(selected ?? "") ?? []).filter((p) => p.field).map((p) => [p.field!, p.message]));
  const fed = new Set(edges.filter((e) => e.target === selected).map((e) => e.targetHandle ?? ""));
  const shown = useMemo(() => ({ catalogue, runs, problems }), [catalogue, runs, problems]);
  const modelSuggestions = (spec: NodeType | undefined) =>
    spec?.inputs.properties?.model ? { model: modelsFor(spec, modelsQuery.data?.data ?? []) } : undefined;

  if (!workflow) return <p className="loading">Loading…</p>;
  return (
    <section className="editor">
      <div className="editor-bar">
        <h1>{workflow.name}</h1>
        <span data-testid="draft-version">draft v{workflow.version}</span>
        {dirty && (
          <span className="tag" data-testid="unsaved">
            unsaved changes
          </span>
        )}
        <button type="button" onClick={undo}>
          Undo
        </button>
        <button type="button" onClick={redo}>
          Redo
        </button>
        <button type="button" onClick={() => void save()}>
          Save
        </button>
        <button type="button" onClick={() => void publish()}>
          Publish
        </button>
        <button type="button" onClick={() => void autoLayout()}>
          Auto-layout
        </button>
        <button type="button" onClick={() => setExported(JSON.stringify(graph, null, 2))}>
          Export JSON
        </button>
        <span className="validity" data-testid="validity">
          {validation === null ? "checking…" : validation.valid ? `valid · ${validation.estimated_cost} credits` : `${validation.errors.length} problem(s)`}
        </span>
      </div>
      {validation?.errors
        .filter((p) => p.node_id === null || !nodes.some((n) => n.id === p.node_id))
        .map((p, i) => (
          <p key={i} className="field-error" data-code={p.code}>
            {p.code}: {p.message}
          </p>
        ))}
      {message && (
        <p role="status" className="editor-message">
          {message}
        </p>
      )}
      {blocker.state === "blocked" && (
        <div role="dialog" aria-label="Unsaved changes" className="conflict">
          <p>This workflow has changes that are not saved. Leave without them?</p>
          <button type="button" onClick={() => blocker.proceed()}>
            Leave
          </button>{" "}
          <button type="button" onClick={() => blocker.reset()}>
            Stay
          </button>
        </div>
      )}
      {conflict && (
        <div role="dialog" aria-label="Version conflict" className="conflict">
          <p>
            Someone saved draft v{conflict.version} while you edited v{workflow.version}. Choose which graph to keep.
          </p>
          <p>What keeping yours changes in theirs:</p>
          <ul aria-label="Yours against theirs" className="diff">
            {diffGraphs(conflict.graph ?? { nodes: [], edges: [] }, graph).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <div className="conflict-sides">
            <figure>
              <figcaption>Yours ({graph.nodes.length} nodes)</figcaption>
              <pre>{JSON.stringify(graph, null, 1)}</pre>
            </figure>
            <figure>
              <figcaption>Theirs, v{conflict.version} ({conflict.graph?.nodes.length ?? 0} nodes)</figcaption>
              <pre>{JSON.stringify(conflict.graph, null, 1)}</pre>
            </figure>
          </div>
          <button type="button" onClick={() => void save(conflict.version)}>
            Keep mine
          </button>
          <button
            type="button"
            onClick={() => {
              setWorkflow(conflict);
              edit(conflict.graph ?? { nodes: [], edges: [] });
              setConflict(null);
            }}
          >
            Take theirs
          </button>
        </div>
      )}
      <div className="editor-body">
        <aside className="palette" aria-label="Node catalogue">
          <input type="search" placeholder="Search nodes" aria-label="Search nodes" value={search} onChange={(e) => setSearch(e.target.value)} />
          {palette.map(([category, types]) => (
            <details key={category} open={search !== "" || palette.length < 4}>
              <summary>{category}</summary>
              <ul>
                {types.map((t) => (
                  <li key={t.type}>
                    <button
                      type="button"
                      draggable
                      title={t.description}
                      data-testid={`palette-${t.type}`}
                      onDragStart={(e) => e.dataTransfer.setData("application/x-pixelmill-node", t.type)}
                      onClick={() => addNode(t.type)}
                    >
                      {t.type}
                    </button>
                  </li>
                ))}
              </ul>
            </details>
          ))}
        </aside>
        <div
          className="canvas"
          data-testid="canvas"
          onKeyDown={onKeyDown}
          onDragOver={(e) => {
            e.preventDefault();
            e.dataTransfer.dropEffect = "copy";
          }}
          onDrop={(e) => {
            e.preventDefault();
            const type = e.dataTransfer.getData("application/x-pixelmill-node");
            if (type) addNode(type, flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
          }}
        >
          <Shown.Provider value={shown}>
            <ReactFlow
              nodes={nodes}
              edges={edges}
              nodeTypes={NODE_TYPES}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onNodeDragStart={remember}
              onBeforeDelete={async () => {
                remember();
                return true;
              }}
              onPaneClick={() => setSelected(null)}
              deleteKeyCode={["Delete", "Backspace"]}
              fitView={fitOnOpen.current}
              fitViewOptions={{ maxZoom: 1 }}
              proOptions={{ hideAttribution: true }}
            >
              <Background />
              <Controls />
            </ReactFlow>
          </Shown.Provider>
        </div>
        <aside className="inspector" aria-label="Inspector">
          {chosen && chosenSpec ? (
            <>
              <h2>{chosen.id}</h2>
              <p className="hint">{chosenSpec.description}</p>
              <label className="toggle">
                <input
                  type="checkbox"
                  checked={chosen.data.use_cache}
                  onChange={(e) => updateNode(chosen.id, (n) => ({ ...n, data: { ...n.data, use_cache: e.target.checked } }))}
                />{" "}
                use_cache
              </label>
              <label className="toggle">
                <input
                  type="checkbox"
                  checked={!chosen.data.is_intermediate}
                  onChange={(e) =>
                    updateNode(chosen.id, (n) => ({ ...n, data: { ...n.data, is_intermediate: !e.target.checked } }))
                  }
                />{" "}
                output (not intermediate)
              </label>
              <SchemaForm
                key={chosen.id}
                schema={chosenSpec.inputs}
                values={chosen.data.inputs}
                suggestions={modelSuggestions(chosenSpec)}
                fed={fed}
                problems={chosenProblems}
                onChange={(field, value) =>
                  updateNode(
                    chosen.id,
                    (n) => ({ ...n, data: { ...n.data, inputs: withInput(n.data.inputs, field, value) } }),
                    field,
                  )
                }
              />
            </>
          ) : (
            <p className="hint">Select a node to edit its inputs. Drag nodes from the catalogue or click them to add.</p>
          )}
          <h2>Run</h2>
          <RunOverrides
            published={publishedGraph}
            catalogue={catalogue}
            overrides={overrides}
            suggest={modelSuggestions}
            onChange={setOverrides}
          />
          <button type="button" onClick={runPublished} disabled={!workflow.published_version}>
            Run published
          </button>{" "}
          <button
            type="button"
            title="Run the graph on the canvas as it is, unsaved edits included (an ad-hoc run)"
            onClick={() => void start("/v1/runs", { graph })}
            disabled={!validation?.valid}
          >
            Run draft
          </button>
          {runId && runStatus !== "complete" && runStatus !== "failed" && runStatus !== "cancelled" && (
            <button type="button" onClick={() => void cancel()}>
              Cancel run
            </button>
          )}
          {runId && (
            <p>
              Run <code>{runId}</code>: <span data-testid="run-status">{runStatus}</span>{" "}
              <button type="button" onClick={() => void openRunAsWorkflow(runId, navigate)}>
                Open run as new workflow
              </button>
            </p>
          )}
          <h2>Versions</h2>
          <ul data-testid="versions">
            {versions.map((v) => (
              <li key={v.number}>
                v{v.number} · {new Date(v.published_at).toLocaleString()}{" "}
                <button type="button" onClick={() => setCompared({ number: v.number, lines: diffGraphs(v.graph, graph) })}>
                  Diff v{v.number} with draft
                </button>
              </li>
            ))}
          </ul>
          {compared && (
            <div aria-label={`Changes since v${compared.number}`} role="region" className="diff">
              {compared.lines.length === 0 ? (
                <p>No changes since v{compared.number}.</p>
              ) : (
                <ul>
                  {compared.lines.map((line) => (
                    <li key={line}>{line}</li>
                  ))}
                </ul>
              )}
            </div>
          )}
          <h2>Import</h2>
          <label>
            Graph JSON
            <textarea rows={3} aria-label="Graph JSON to import" id="import-json" />
          </label>
          <button
            type="button"
            onClick={() => importJson((document.getElementById("import-json") as HTMLTextAreaElement).value)}
          >
            Import JSON
          </button>
        </aside>
      </div>
      {exported !== null && (
        <div role="dialog" aria-label="Exported graph" className="conflict">
          <textarea readOnly rows={12} value={exported} aria-label="Exported JSON" />
          <button type="button" onClick={() => setExported(null)}>
            Close
          </button>
        </div>
      )}
    </section>
  );
}

type Snapshot = { nodes: EditorNode[]; edges: Edge[] };


// The models a node's `model` input may name: those of the generation types its output is.
const GENERATION_TYPES: Record<string, string[]> = {
  image: ["image", "infographic"],
  images: ["image"],
  video: ["video"],
  audio: ["voice", "music"],
  text: ["text"],
};
function modelsFor(spec: NodeType, models: Model[]): string[] {
  const kinds = GENERATION_TYPES[spec.output_type];
  return models.filter((m) => !kinds || kinds.includes(m.generation_type)).map((m) => m.id);
}

/** `inputs` with `field` set to `value`, or without it when `value` is undefined (the default). */
function withInput(inputs: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const next = { ...inputs };
  if (value === undefined) delete next[field];
  else next[field] = value;
  return next;
}

/**
 * Per-run overrides of the published graph, as forms: pick a node, change any of its inputs that no
 * edge feeds; the run merges them into that node's saved inputs (POST /v1/workflows/{id}/runs).
 */
function RunOverrides({
  published,
  catalogue,
  overrides,
  suggest,
  onChange,
}: {
  published: Graph | undefined;
  catalogue: Map<string, NodeType>;
  overrides: Record<string, Record<string, unknown>>;
  suggest: (spec: NodeType) => Record<string, string[]> | undefined;
  onChange: (next: Record<string, Record<string, unknown>>) => void;
}) {
  if (!published) return <p className="hint">Publish to run; a run may override any input of the published graph.</p>;
  const open = Object.keys(overrides);
  const candidates = published.nodes.filter((n) => !open.includes(n.id) && catalogue.has(n.type));
  return (
    <div className="overrides">
      <label>
        Override a node for this run
        <select
          value=""
          onChange={(e) => {
            if (e.target.value) onChange({ ...overrides, [e.target.value]: {} });
          }}
        >
          <option value="">choose a node…</option>
          {candidates.map((n) => (
            <option key={n.id} value={n.id}>
              {n.id} ({n.type})
            </option>
          ))}
        </select>
      </label>
      {open.map((nodeId) => {
        const node = published.nodes.find((n) => n.id === nodeId);
        const spec = node ? catalogue.get(node.type) : undefined;
        if (!node || !spec) return null;
        const fed = new Set(published.edges.filter((e) => e.destination.node_id === nodeId).map((e) => e.destination.field));
        return (
          <fieldset key={nodeId} aria-label={`Overrides for ${nodeId}`}>
            <legend>
              {nodeId}{" "}
              <button
                type="button"
                aria-label={`Remove overrides for ${nodeId}`}
                onClick={() => {
                  const { [nodeId]: _removed, ...rest } = overrides;
                  onChange(rest);
                }}
              >
                ×
              </button>
            </legend>
            <p className="hint">Empty fields keep the published value.</p>
            <SchemaForm
              scope={`override-${nodeId}`}
              schema={spec.inputs}
              values={overrides[nodeId]}
              fallback={node.inputs}
              suggestions={suggest(spec)}
              fed={fed}
              problems={new Map()}
              onChange={(field, value) => onChange({ ...overrides, [nodeId]: withInput(overrides[nodeId], field, value) })}
            />
          </fieldset>
        );
      })}
    </div>
  );
}

