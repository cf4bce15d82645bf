"""Graph validation: everything that can be known about a graph before any node runs.

``validate_graph`` checks, in this order, and stops early only where later checks would be noise:

1. limits (nodes, edges, serialised bytes) -> ``GRAPH_TOO_LARGE``; non-JSON numbers -> ``INVALID_INPUT``
   (an oversized graph is refused at once, before any per-node work);
2. nodes: ``DUPLICATE_NODE_ID``, ``UNKNOWN_NODE_TYPE``, ``UNKNOWN_FIELD``;
3. edges: ``EDGE_UNKNOWN_NODE``, ``EDGE_UNKNOWN_FIELD``, ``DUPLICATE_INPUT_EDGE``, ``EDGE_TYPE_MISMATCH``;
4. literal inputs through the node's own pydantic model, edge-fed fields left out:
   ``MISSING_INPUT``, ``INVALID_INPUT`` (wrong type, out of range, not one of the allowed values),
   or the catalogue code a validator names as its error type (``URL_NOT_ALLOWED`` for a
   ``UserUrl`` input); validators get ``{"settings": Settings}`` as their context;
5. ``GRAPH_CYCLE``, naming the nodes of one cycle.

Every problem is collected. The raised :class:`GraphValidationError` is the first problem (its code,
message, ``node_id`` and ``field``) and carries all of them in ``errors``, so a client can mark every
broken node at once while simple clients read one code. A literal given for an input that an edge
also feeds is ignored: the edge wins (editors often keep a stale value behind a connection).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.engine import compat
from pixelmill.engine.graph import Graph, GraphNode
from pixelmill.engine.hashing import canonical_json
from pixelmill.engine.node import BaseNode, NodeRegistry
from pixelmill.errors import ErrorSpec, PixelmillError

MAX_REPORTED_PROBLEMS = 50
# A node validator that raises PydanticCustomError with a catalogue code as its type gets that code.
_CODED = {spec.code: spec for spec in errors.catalogue()}


class GraphValidationError(PixelmillError):
    """The first problem of a graph; ``extra["errors"]`` lists every problem found."""


@dataclass(frozen=True, slots=True)
class InputSource:
    """Where an edge-fed input takes its value from; ``wrap`` puts a single value into a list."""

    node_id: str
    field: str
    wrap: bool


@dataclass(frozen=True, slots=True)
class ValidatedGraph:
    """A graph that passed validation, with what the executor needs precomputed."""

    graph: Graph
    nodes: Mapping[str, GraphNode]
    node_types: Mapping[str, type[BaseNode]]
    order: tuple[str, ...]  # a topological order; ties keep the order nodes were written in
    sources: Mapping[str, Mapping[str, InputSource]]  # destination node -> input field -> source
    upstream: Mapping[str, frozenset[str]]
    dependants: Mapping[str, tuple[str, ...]]
    estimated_cost: int  # sum of each node's cost on its literal inputs
    capabilities: frozenset[str]

    def literal_inputs(self, node_id: str) -> dict[str, Any]:
        """The node's literal inputs, without those an edge feeds."""
        fed = self.sources.get(node_id, {})
        return {name: value for name, value in self.nodes[node_id].inputs.items() if name not in fed}


def pydantic_message(problem: ErrorDetails) -> str:
    """Pydantic's message without its "Value error, " prefix (our validators phrase their own)."""
    message = problem["msg"]
    return message.removeprefix("Value error, ") if problem["type"] == "value_error" else message


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[ErrorSpec, str, dict[str, Any]]] = []

    def add(self, spec: ErrorSpec, message: str, *, node_id: str | None, field: str | None, **extra: Any) -> None:
        self.items.append((spec, message, {"node_id": node_id, "field": field, **extra}))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        listed = [
            {"code": spec.code, "message": message, **extra}
            for spec, message, extra in self.items[:MAX_REPORTED_PROBLEMS]
        ]
        spec, message, extra = self.items[0]
        raise GraphValidationError(spec, message, **extra, errors=listed)


def parse_graph(data: Graph | Mapping[str, Any]) -> Graph:
    """A Graph from its JSON form; a malformed shape is ``VALIDATION_ERROR`` naming the path."""
    if isinstance(data, Graph):
        return data
    try:
        return Graph.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        raise PixelmillError(errors.VALIDATION_ERROR, f"graph.{path}: {first['msg']}", field=f"graph.{path}") from exc


def validate_graph(data: Graph | Mapping[str, Any], registry: NodeRegistry, settings: Settings) -> ValidatedGraph:
    """Check ``data`` against ``registry`` and the limits in ``settings``; raise on the first problem."""
    graph = parse_graph(data)
    _check_limits(graph, settings)
    problems = _Problems()
    nodes, node_types = _check_nodes(graph, registry, problems)
    sources = _check_edges(graph, nodes, node_types, problems)
    estimated_cost = _check_literals(nodes, node_types, sources, problems, settings)
    upstream = {node_id: frozenset(src.node_id for src in sources.get(node_id, {}).values()) for node_id in nodes}
    order = _topological_order(list(nodes), upstream, problems)
    problems.raise_if_any()
    dependants: dict[str, list[str]] = {node_id: [] for node_id in nodes}
    for node_id in order:
        for parent in sorted(upstream[node_id]):
            dependants[parent].append(node_id)
    return ValidatedGraph(
        graph=graph,
        nodes=nodes,
        node_types=node_types,
        order=order,
        sources=sources,
        upstream=upstream,
        dependants={node_id: tuple(children) for node_id, children in dependants.items()},
        estimated_cost=estimated_cost,
        capabilities=frozenset(cls.capability for cls in node_types.values()),
    )


def _too_large(what: str, size: int, limit: int) -> GraphValidationError:
    message = f"The graph has {size} {what}; the limit is {limit}"
    problem = {"code": errors.GRAPH_TOO_LARGE.code, "message": message, "node_id": None, "field": what}
    return GraphValidationError(
        errors.GRAPH_TOO_LARGE, message, node_id=None, field=what, limit=limit, size=size, errors=[problem]
    )


def _check_limits(graph: Graph, settings: Settings) -> None:
    if len(graph.nodes) > settings.max_graph_nodes:
        raise _too_large("nodes", len(graph.nodes), settings.max_graph_nodes)
    if len(graph.edges) > settings.max_graph_edges:
        raise _too_large("edges", len(graph.edges), settings.max_graph_edges)
    try:
        size = len(canonical_json(graph.model_dump()).encode())
    except ValueError:
        _raise_non_finite(graph)
    if size > settings.max_graph_payload_bytes:
        raise _too_large("bytes", size, settings.max_graph_payload_bytes)


def _raise_non_finite(graph: Graph) -> NoReturn:
    problems = _Problems()
    for graph_node in graph.nodes:
        for name, value in graph_node.inputs.items():
            try:
                canonical_json(value)
            except ValueError:
                problems.add(
                    errors.INVALID_INPUT,
                    f"Input {name!r} of node {graph_node.id!r} is NaN or Infinity, which JSON cannot carry",
                    node_id=graph_node.id,
                    field=name,
                )
    problems.raise_if_any()
    raise PixelmillError(errors.INVALID_INPUT, "The graph holds NaN or Infinity, which JSON cannot carry")


def _check_nodes(
    graph: Graph, registry: NodeRegistry, problems: _Problems
) -> tuple[dict[str, GraphNode], dict[str, type[BaseNode]]]:
    nodes: dict[str, GraphNode] = {}
    node_types: dict[str, type[BaseNode]] = {}
    for graph_node in graph.nodes:
        if graph_node.id in nodes:
            problems.add(
                errors.DUPLICATE_NODE_ID, f"Node id {graph_node.id!r} is used twice", node_id=graph_node.id, field="id"
            )
            continue
        nodes[graph_node.id] = graph_node
        cls = registry.get(graph_node.type)
        if cls is None:
            problems.add(
                errors.UNKNOWN_NODE_TYPE,
                f"Node {graph_node.id!r} has unknown type {graph_node.type!r}",
                node_id=graph_node.id,
                field="type",
            )
            continue
        node_types[graph_node.id] = cls
        for name in graph_node.inputs:
            if name not in cls.model_fields:
                problems.add(
                    errors.UNKNOWN_FIELD,
                    f"Node type {cls.node_type!r} has no input {name!r}",
                    node_id=graph_node.id,
                    field=name,
                )
    return nodes, node_types


def _check_edges(
    graph: Graph,
    nodes: Mapping[str, GraphNode],
    node_types: Mapping[str, type[BaseNode]],
    problems: _Problems,
) -> dict[str, dict[str, InputSource]]:
    sources: dict[str, dict[str, InputSource]] = {}
    for index, edge in enumerate(graph.edges):
        src, dst = edge.source, edge.destination
        missing = [end for end in (src, dst) if end.node_id not in nodes]
        for end in missing:
            problems.add(
                errors.EDGE_UNKNOWN_NODE,
                f"Edge {index} refers to node {end.node_id!r}, which is not in the graph",
                node_id=end.node_id,
                field=end.field,
                edge=index,
            )
        if missing or src.node_id not in node_types or dst.node_id not in node_types:
            continue  # unknown types were reported with their nodes
        src_cls, dst_cls = node_types[src.node_id], node_types[dst.node_id]
        fields_ok = True
        if src.field not in src_cls.outputs_model.model_fields:
            problems.add(
                errors.EDGE_UNKNOWN_FIELD,
                f"Node {src.node_id!r} ({src_cls.node_type}) has no output {src.field!r}",
                node_id=src.node_id,
                field=src.field,
                edge=index,
            )
            fields_ok = False
        if dst.field not in dst_cls.model_fields:
            problems.add(
                errors.EDGE_UNKNOWN_FIELD,
                f"Node {dst.node_id!r} ({dst_cls.node_type}) has no input {dst.field!r}",
                node_id=dst.node_id,
                field=dst.field,
                edge=index,
            )
            fields_ok = False
        if not fields_ok:
            continue
        fed = sources.setdefault(dst.node_id, {})
        if dst.field in fed:
            problems.add(
                errors.DUPLICATE_INPUT_EDGE,
                f"Input {dst.field!r} of node {dst.node_id!r} is fed by more than one edge",
                node_id=dst.node_id,
                field=dst.field,
                edge=index,
            )
            continue
        source_type = compat.output_annotation(src_cls, src.field)
        target_type = compat.input_annotation(dst_cls, dst.field)
        conversion = compat.edge_conversion(source_type, target_type)
        if conversion is None:
            source_label, target_label = compat.type_label(source_type), compat.type_label(target_type)
            problems.add(
                errors.EDGE_TYPE_MISMATCH,
                f"Output {src.node_id}.{src.field} ({source_label}) cannot feed input "
                f"{dst.node_id}.{dst.field} ({target_label})",
                node_id=dst.node_id,
                field=dst.field,
                edge=index,
                source_type=source_label,
                target_type=target_label,
            )
            continue
        fed[dst.field] = InputSource(src.node_id, src.field, wrap=conversion == "wrap")
    return sources


def _check_literals(
    nodes: Mapping[str, GraphNode],
    node_types: Mapping[str, type[BaseNode]],
    sources: Mapping[str, Mapping[str, InputSource]],
    problems: _Problems,
    settings: Settings,
) -> int:
    """Validate each node's literal inputs with its own model; return the estimated cost."""
    estimated = 0
    context = {"settings": settings}
    for node_id, cls in node_types.items():
        fed = sources.get(node_id, {})
        literals = {
            name: value for name, value in nodes[node_id].inputs.items() if name in cls.model_fields and name not in fed
        }
        try:
            cls.model_validate(literals, context=context)
        except ValidationError as exc:
            for problem in exc.errors():
                loc = problem["loc"]
                field = str(loc[0]) if loc else None
                if field in fed or (field is None and fed):
                    continue  # checked again at run time, once the edge's value is known
                if problem["type"] == "missing" and len(loc) == 1:
                    problems.add(
                        errors.MISSING_INPUT,
                        f"Input {field!r} of node {node_id!r} ({cls.node_type}) needs a value or an edge",
                        node_id=node_id,
                        field=field,
                    )
                    continue
                where = ".".join(str(part) for part in loc) or "inputs"
                problems.add(
                    _CODED.get(problem["type"], errors.INVALID_INPUT),
                    f"Input {where} of node {node_id!r} ({cls.node_type}): {pydantic_message(problem)}",
                    node_id=node_id,
                    field=field,
                )
        estimated += cls.priced_cost(literals, settings.model_credit_costs)
    return estimated


def _topological_order(
    node_ids: list[str], upstream: Mapping[str, frozenset[str]], problems: _Problems
) -> tuple[str, ...]:
    """Kahn's algorithm; ties are broken by the order nodes appear in the graph."""
    position = {node_id: index for index, node_id in enumerate(node_ids)}
    waiting = {node_id: len(parents) for node_id, parents in upstream.items()}
    children: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    for node_id, parents in upstream.items():
        for parent in parents:
            children[parent].append(node_id)
    ready = [(position[node_id], node_id) for node_id, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node_id = heapq.heappop(ready)
        order.append(node_id)
        for child in children[node_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (position[child], child))
    if len(order) < len(node_ids):
        cycle = _find_cycle({node_id for node_id in node_ids if waiting[node_id] > 0}, upstream, position)
        problems.add(
            errors.GRAPH_CYCLE,
            "The graph has a cycle: " + " -> ".join([*cycle, cycle[0]]),
            node_id=cycle[0],
            field=None,
            cycle=cycle,
        )
    return tuple(order)


def _find_cycle(stuck: set[str], upstream: Mapping[str, frozenset[str]], position: Mapping[str, int]) -> list[str]:
    """One cycle among nodes Kahn's algorithm could not order; each has a stuck parent, so walking
    parents must revisit a node."""
    walk: list[str] = []
    seen: dict[str, int] = {}
    current = min(stuck, key=position.__getitem__)
    while current not in seen:
        seen[current] = len(walk)
        walk.append(current)
        current = min((p for p in upstream[current] if p in stuck), key=position.__getitem__)
    cycle = list(reversed(walk[seen[current] :]))  # parents were walked; reverse to follow the edges
    start = cycle.index(min(cycle, key=position.__getitem__))
    return cycle[start:] + cycle[:start]
