"""InvokeAI's ``iterate`` unrolled before the graph runs, when its collection is known up front.

pixelmill runs each node once per run, so an ``iterate`` whose collection is a literal (its own
``collection``, or a ``range``, ``range_of_size`` or ``*_collection`` node with literal fields)
becomes N copies of everything downstream of it, each copy taking the item, its index and the total
as literal inputs, exactly the prepared copies InvokeAI would make (``source_prepared_mapping`` then
lists N prepared ids). The collection's node and the ``iterate`` itself become constants and run no
node; a ``collect`` may end an iteration when nothing reads its collection. A collection known only
at run time, nested iterations, or a ``collect`` that feeds a node are a 422 naming the node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pixelmill import errors
from pixelmill.api.dialects.invokeai.problems import graph_problem
from pixelmill.api.dialects.invokeai.schemas import Edge, EdgeConnection, Graph

MAX_ITEMS = 1000
COLLECTIONS = ("integer_collection", "float_collection", "string_collection", "image_collection")
CONSTANTS = ("range", "range_of_size", *COLLECTIONS)
_ITERATION = "iterate"


@dataclass(frozen=True, slots=True)
class Unrolled:
    """The graph with its iterations unrolled; ``origin`` maps each node id of it to the client's."""

    graph: Graph
    origin: dict[str, str]
    constants: frozenset[str]  # the client's nodes that run no node (collections, iterate, collect)


def unroll(graph: Graph) -> Unrolled:
    """``graph`` with each iteration copied out; a graph without one comes back as it is."""
    iterators = [node_id for node_id, node in graph.nodes.items() if node.get("type") == _ITERATION]
    if not iterators:
        return Unrolled(graph, {node_id: node_id for node_id in graph.nodes}, frozenset())
    if len(iterators) > 1:
        raise graph_problem(
            errors.INVALID_INPUT, f"Node {iterators[1]!r}: only one iterate per graph is unrolled here", iterators[1]
        )
    iterate = iterators[0]
    items, constant = _collection(graph, iterate)
    downstream = _downstream(graph, iterate)
    collects = {node_id for node_id in downstream if graph.nodes[node_id].get("type") == "collect"}
    for collect in collects:
        if any(edge.source.node_id == collect for edge in graph.edges):
            raise graph_problem(
                errors.INVALID_INPUT,
                f"Node {collect!r}: a collected collection cannot feed other nodes here "
                "(pixelmill runs each node once)",
                collect,
                "collection",
            )
    copied = downstream - collects
    constants = {iterate, *collects, *([constant] if constant else [])}
    nodes: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    for node_id, node in graph.nodes.items():
        if node_id in constants:
            continue
        if node_id not in copied:
            nodes[node_id] = node
            origin[node_id] = node_id
            continue
        for index, item in enumerate(items):
            copy_id = f"{node_id}#{index}"
            fed = {"item": item, "index": index, "total": len(items)}
            values = {
                edge.destination.field: fed.get(edge.source.field)
                for edge in graph.edges
                if edge.source.node_id == iterate and edge.destination.node_id == node_id
            }
            nodes[copy_id] = {**node, **values, "id": copy_id}
            origin[copy_id] = node_id
    edges: list[Edge] = []
    for edge in graph.edges:
        source, destination = edge.source.node_id, edge.destination.node_id
        if source in constants or destination in constants:
            continue  # literals now, or the end of the iteration
        copies: list[int | None] = list(range(len(items))) if destination in copied else [None]
        for copy in copies:
            edges.append(
                Edge(
                    source=EdgeConnection(node_id=_copy(source, copy, copied), field=edge.source.field),
                    destination=EdgeConnection(node_id=_copy(destination, copy, copied), field=edge.destination.field),
                )
            )
    return Unrolled(Graph(id=graph.id, nodes=nodes, edges=edges), origin, frozenset(constants))


def _copy(node_id: str, index: int | None, copied: set[str]) -> str:
    return f"{node_id}#{index}" if index is not None and node_id in copied else node_id


def _downstream(graph: Graph, start: str) -> set[str]:
    """Every node reachable from ``start`` along edges, ``start`` excluded."""
    reached: set[str] = set()
    frontier = [start]
    while frontier:
        current = frontier.pop()
        for edge in graph.edges:
            if edge.source.node_id == current and edge.destination.node_id not in reached:
                reached.add(edge.destination.node_id)
                frontier.append(edge.destination.node_id)
    if start in reached:
        raise graph_problem(errors.GRAPH_CYCLE, f"Node {start!r} is part of a cycle", start)
    return reached


def _collection(graph: Graph, iterate: str) -> tuple[list[Any], str | None]:
    """The iterate's items, and the node that supplied them (None for its own literal)."""
    edge = next(
        (e for e in graph.edges if e.destination.node_id == iterate and e.destination.field == "collection"), None
    )
    if edge is None:
        items = graph.nodes[iterate].get("collection", [])
        return _checked(iterate, items), None
    source = edge.source.node_id
    node = graph.nodes.get(source)
    if node is None or node.get("type") not in CONSTANTS or any(e.destination.node_id == source for e in graph.edges):
        raise graph_problem(
            errors.INVALID_INPUT,
            f"Node {iterate!r}: its collection must be known before the run (a literal, a range or a collection "
            "node with literal fields) for pixelmill to unroll the iteration",
            iterate,
            "collection",
        )
    return _checked(iterate, _constant_items(source, node)), source


def _constant_items(node_id: str, node: Mapping[str, Any]) -> Any:
    kind = node.get("type")
    if kind in COLLECTIONS:
        return node.get("collection", [])
    start, step = node.get("start", 0), node.get("step", 1)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, step)) or step == 0:
        raise graph_problem(
            errors.INVALID_INPUT, f"Node {node_id!r}: start and step must be integers, step not 0", node_id
        )
    if kind == "range":
        stop = node.get("stop", 10)
        if not isinstance(stop, int) or stop <= start:
            raise graph_problem(
                errors.INVALID_INPUT, f"Node {node_id!r}: stop must be an integer above start", node_id, "stop"
            )
        if (stop - start) // abs(step) > MAX_ITEMS:
            raise graph_problem(errors.INVALID_INPUT, f"Node {node_id!r}: more than {MAX_ITEMS} items", node_id, "stop")
        return list(range(start, stop, step))
    size = node.get("size", 1)
    if not isinstance(size, int) or not 0 < size <= MAX_ITEMS:
        raise graph_problem(errors.INVALID_INPUT, f"Node {node_id!r}: size must be 1 to {MAX_ITEMS}", node_id, "size")
    return list(range(start, start + size * step, step))


def _checked(node_id: str, items: Any) -> list[Any]:
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
        raise graph_problem(
            errors.INVALID_INPUT,
            f"Node {node_id!r}: the collection must hold 1 to {MAX_ITEMS} items",
            node_id,
            "collection",
        )
    return items
