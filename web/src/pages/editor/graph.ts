// The canonical graph (what the API stores and runs) and its React Flow view, converted both ways,
// plus the port type rules the editor applies before the server's validation does.
import type { Edge, Node } from "@xyflow/react";

export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  $ref?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  "x-pixelmill-type"?: string;
}
export interface NodeType {
  type: string;
  category: string;
  description: string;
  inputs: JsonSchema;
  outputs: JsonSchema;
  primary_output: string;
  output_type: string;
  cost: number;
  cached: boolean;
}
export interface GraphNode {
  id: string;
  type: string;
  inputs: Record<string, unknown>;
  use_cache?: boolean;
  is_intermediate?: boolean;
}
export interface GraphEdge {
  source: { node_id: string; field: string };
  destination: { node_id: string; field: string };
}
export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}
export interface Problem {
  code: string;
  message: string;
  node_id: string | null;
  field: string | null;
}

/** What the editor shows on a node besides its graph data: run state and validation problems. */
export interface NodeData extends Record<string, unknown> {
  nodeType: string;
  inputs: Record<string, unknown>;
  use_cache: boolean;
  is_intermediate: boolean;
}
export type EditorNode = Node<NodeData, "pixelmill">;

export function toFlow(graph: Graph, previous: EditorNode[] = []): { nodes: EditorNode[]; edges: Edge[] } {
  const placed = new Map(previous.map((node) => [node.id, node.position]));
  const nodes = graph.nodes.map((node, index) => ({
    id: node.id,
    type: "pixelmill" as const,
    position: placed.get(node.id) ?? { x: 60 + (index % 4) * 300, y: 60 + Math.floor(index / 4) * 260 },
    data: {
      nodeType: node.type,
      inputs: node.inputs ?? {},
      use_cache: node.use_cache ?? true,
      is_intermediate: node.is_intermediate ?? false,
    },
  }));
  const edges = graph.edges.map((edge) => ({
    id: edgeId(edge.source.node_id, edge.source.field, edge.destination.node_id, edge.destination.field),
    source: edge.source.node_id,
    sourceHandle: edge.source.field,
    target: edge.destination.node_id,
    targetHandle: edge.destination.field,
  }));
  return { nodes, edges };
}

export function toGraph(nodes: EditorNode[], edges: Edge[]): Graph {
  return {
    nodes: nodes.map((node) => ({
      id: node.id,
      type: node.data.nodeType,
      inputs: node.data.inputs,
      use_cache: node.data.use_cache,
      is_intermediate: node.data.is_intermediate,
    })),
    edges: edges.map((edge) => ({
      source: { node_id: edge.source, field: edge.sourceHandle ?? "" },
      destination: { node_id: edge.target, field: edge.targetHandle ?? "" },
    })),
  };
}

export const edgeId = (source: string, sourceField: string, target: string, targetField: string) =>
  `${source}.${sourceField}->${target}.${targetField}`;

/** A fresh node id from the type's last name part: `style`, `style-2` … */
export function freshId(type: string, taken: Set<string>): string {
  const base = (type.split(".").pop() ?? "node").replace(/[^A-Za-z0-9_-]/g, "_");
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

function splitUnion(label: string): string[] {
  // Top-level " | " only: "list[str | int]" stays whole.
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < label.length; i++) {
    const ch = label[i];
    if (ch === "[") depth++;
    else if (ch === "]") depth--;
    else if (depth === 0 && label.startsWith(" | ", i)) {
      parts.push(label.slice(start, i));
      start = i + 3;
    }
  }
  parts.push(label.slice(start));
  return parts;
}

/**
 * Whether an output labelled `source` may feed an input labelled `target`: the engine's rules
 * (engine/compat.py) read from the `x-pixelmill-type` labels. The server validates again.
 */
export function compatible(source: string, target: string): boolean {
  if (source === "any" || target === "any") return true;
  const sources = splitUnion(source);
  if (sources.length > 1) return sources.every((member) => compatible(member, target));
  const targets = splitUnion(target);
  if (targets.length > 1) return targets.some((member) => member !== "null" && compatible(source, member));
  if (source === target) return true;
  if (source.startsWith("literal[")) {
    if (target.startsWith("literal[")) return false;
    const values = source.slice(8, -1).split(", ");
    const kind = values.every((v) => v.startsWith("'")) ? "str" : values.every((v) => /^-?\d+$/.test(v)) ? "int" : "";
    return kind !== "" && compatible(kind, target);
  }
  if (target.startsWith("literal[")) return false;
  if (source === "int" && target === "float") return true;
  if (["image", "video", "audio"].includes(source) && target === "media") return true;
  const listOf = (label: string) => (label.startsWith("list[") ? label.slice(5, -1) : null);
  const targetItem = listOf(target);
  if (targetItem !== null) {
    const sourceItem = listOf(source);
    return sourceItem !== null ? compatible(sourceItem, targetItem) : compatible(source, targetItem);
  }
  return false;
}

export function portType(schema: JsonSchema | undefined, field: string): string {
  return schema?.properties?.[field]?.["x-pixelmill-type"] ?? "any";
}

/** JSON with every object's keys in sorted order: equal values give equal text, whatever order a
 * store kept the keys in (a PostgreSQL JSONB column sorts them its own way). */
export function sortedJson(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** What changed from `before` to `after`, node by node and edge by edge, in words. */
export function diffGraphs(before: Graph, after: Graph): string[] {
  const lines: string[] = [];
  const old = new Map(before.nodes.map((n) => [n.id, n]));
  const now = new Map(after.nodes.map((n) => [n.id, n]));
  for (const [id, node] of now) {
    const was = old.get(id);
    if (!was) lines.push(`+ node ${id} (${node.type})`);
    else if (was.type !== node.type) lines.push(`~ node ${id}: ${was.type} → ${node.type}`);
    else {
      const fields = new Set([...Object.keys(was.inputs ?? {}), ...Object.keys(node.inputs ?? {})]);
      for (const field of [...fields].sort()) {
        const a = sortedJson(was.inputs?.[field]);
        const b = sortedJson(node.inputs?.[field]);
        if (a !== b) lines.push(`~ ${id}.${field}: ${a ?? "default"} → ${b ?? "default"}`);
      }
      for (const flag of ["use_cache", "is_intermediate"] as const) {
        const defaults = { use_cache: true, is_intermediate: false };
        const a = was[flag] ?? defaults[flag];
        const b = node[flag] ?? defaults[flag];
        if (a !== b) lines.push(`~ ${id}.${flag}: ${a} → ${b}`);
      }
    }
  }
  for (const [id, node] of old) if (!now.has(id)) lines.push(`- node ${id} (${node.type})`);
  const key = (e: GraphEdge) => `${e.source.node_id}.${e.source.field} → ${e.destination.node_id}.${e.destination.field}`;
  const oldEdges = new Set(before.edges.map(key));
  const newEdges = new Set(after.edges.map(key));
  for (const e of newEdges) if (!oldEdges.has(e)) lines.push(`+ edge ${e}`);
  for (const e of oldEdges) if (!newEdges.has(e)) lines.push(`- edge ${e}`);
  return lines;
}
