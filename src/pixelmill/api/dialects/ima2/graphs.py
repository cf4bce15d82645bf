"""ima2's session graphs as a save sends them, checked and put in the one shape they are stored in.

Pure functions, no I/O. ima2's web client saves its whole canvas at once: nodes with ``x``/``y`` (or
React Flow's ``position``) and free ``data``, edges between them. As ima2 does: edges whose ends are
not nodes of the graph are dropped, and a node fed by a node that has a server image
(``data.serverNodeId``) is told its parent's (``data.parentServerNodeId``); two parents claiming one
node is ``GRAPH_PARENT_CONFLICT``. The If-Match header carries the version the save starts from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.errors import PixelmillError

MAX_NODES = 500  # ima2's own limits
MAX_EDGES = 1000
MAX_ID_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges}


def _invalid(message: str) -> PixelmillError:
    return PixelmillError(ima2_errors.INVALID_GRAPH, message)


def parse_version(if_match: str | None) -> int:
    """The version in ``If-Match: "3"`` (or ``3``, or a weak ``W/"3"``); 428 without one, 400 when
    it is not a version."""
    if if_match is None or not if_match.strip():
        raise PixelmillError(ima2_errors.GRAPH_VERSION_REQUIRED)
    raw = if_match.strip().removeprefix("W/").strip('"').strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:
        raise PixelmillError(ima2_errors.INVALID_GRAPH_VERSION, f"If-Match must be a graph version, not {if_match!r}")
    return int(raw)


def _identifier(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise _invalid(f"{what} must be a non-empty string of at most {MAX_ID_LENGTH} characters")
    return value


def _coordinate(value: Any, what: str) -> float:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"{what} must be a finite number")
    return value


def _data(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"{what} must be an object")
    return dict(value)


def _node(raw: Any, index: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _invalid(f"nodes[{index}] must be an object")
    node_id = _identifier(raw.get("id"), f"nodes[{index}].id")
    position = raw.get("position")
    if position is not None and not isinstance(position, dict):
        raise _invalid(f"nodes[{index}].position must be an object")
    place = position if raw.get("x") is None and raw.get("y") is None and position is not None else raw
    return {
        "id": node_id,
        "x": _coordinate(place.get("x"), f"nodes[{index}].x"),
        "y": _coordinate(place.get("y"), f"nodes[{index}].y"),
        "data": _data(raw.get("data"), f"nodes[{index}].data"),
    }


def _edge(raw: Any, index: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _invalid(f"edges[{index}] must be an object")
    source = _identifier(raw.get("source"), f"edges[{index}].source")
    target = _identifier(raw.get("target"), f"edges[{index}].target")
    edge_id = raw.get("id")
    return {
        "id": _identifier(edge_id, f"edges[{index}].id") if edge_id is not None else f"e_{source}_{target}",
        "source": source,
        "target": target,
        "data": _data(raw.get("data"), f"edges[{index}].data"),
    }


def normalize(payload: Any, *, max_bytes: int) -> Graph:
    """The graph a save stores, from its body ``{nodes, edges}``: 400 INVALID_GRAPH for a malformed
    one, 413 GRAPH_TOO_LARGE past ima2's counts or ``max_bytes`` of JSON, 409 GRAPH_PARENT_CONFLICT."""
    if not isinstance(payload, dict):
        raise _invalid("The body must be an object {nodes, edges}")
    raw_nodes, raw_edges = payload.get("nodes", []), payload.get("edges", [])
    if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
        raise _invalid("nodes and edges must be arrays")
    if len(raw_nodes) > MAX_NODES or len(raw_edges) > MAX_EDGES:
        raise PixelmillError(
            ima2_errors.GRAPH_TOO_LARGE,
            f"A graph holds at most {MAX_NODES} nodes and {MAX_EDGES} edges "
            f"(this one: {len(raw_nodes)} and {len(raw_edges)})",
        )
    nodes = [_node(raw, index) for index, raw in enumerate(raw_nodes)]
    by_id: dict[str, dict[str, Any]] = {}
    for node in nodes:
        if node["id"] in by_id:
            raise _invalid(f"Two nodes share the id {node['id']!r}")
        by_id[node["id"]] = node
    edges = [edge for edge in (_edge(raw, i) for i, raw in enumerate(raw_edges)) if _joins(edge, by_id)]
    _link_parents(edges, by_id)
    graph = Graph(nodes, edges)
    size = len(json.dumps(graph.to_json(), separators=(",", ":")).encode())
    if size > max_bytes:
        raise PixelmillError(
            ima2_errors.GRAPH_TOO_LARGE, f"The graph is {size} bytes of JSON; at most {max_bytes} are kept"
        )
    return graph


def _joins(edge: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> bool:
    return edge["source"] in nodes and edge["target"] in nodes


def _link_parents(edges: list[dict[str, Any]], nodes: dict[str, dict[str, Any]]) -> None:
    parents: dict[str, str] = {}
    for edge in edges:
        server_id = nodes[edge["source"]]["data"].get("serverNodeId")
        if not isinstance(server_id, str) or not server_id:
            continue
        target = edge["target"]
        if parents.setdefault(target, server_id) != server_id:
            raise PixelmillError(
                ima2_errors.GRAPH_PARENT_CONFLICT,
                f"Node {target!r} is fed by two generated nodes ({parents[target]!r} and {server_id!r})",
                nodeId=target,
            )
    for target, server_id in parents.items():
        nodes[target]["data"]["parentServerNodeId"] = server_id
