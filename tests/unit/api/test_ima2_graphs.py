"""ima2's session graphs as a save sends them: normalised, checked, parents linked; If-Match read."""

from __future__ import annotations

import pytest

from pixelmill.api.dialects.ima2.graphs import MAX_EDGES, MAX_NODES, normalize, parse_version
from pixelmill.errors import PixelmillError

LIMIT = 1 << 20


def _code(call: object) -> str:
    with pytest.raises(PixelmillError) as raised:
        call()  # type: ignore[operator]
    return raised.value.code


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ("3", 3), (' "12" ', 12), ('W/"7"', 7), ("0", 0)])
def test_if_match_versions(header: str, version: int) -> None:
    assert parse_version(header) == version


def test_if_match_missing_or_not_a_version() -> None:
    assert _code(lambda: parse_version(None)) == "GRAPH_VERSION_REQUIRED"
    assert _code(lambda: parse_version("  ")) == "GRAPH_VERSION_REQUIRED"
    for bad in ('"-1"', "1.5", "abc", '"1e3"', "9" * 16):
        assert _code(lambda bad=bad: parse_version(bad)) == "INVALID_GRAPH_VERSION"


def test_positions_data_and_dropped_edges() -> None:
    graph = normalize(
        {
            "nodes": [{"id": "a", "position": {"x": 1, "y": 2}}, {"id": "b", "x": 5, "data": {"k": 1}}],
            "edges": [{"source": "a", "target": "b"}, {"id": "x", "source": "b", "target": "zz"}],
        },
        max_bytes=LIMIT,
    )
    assert graph.nodes == [{"id": "a", "x": 1, "y": 2, "data": {}}, {"id": "b", "x": 5, "y": 0, "data": {"k": 1}}]
    assert graph.edges == [{"id": "e_a_b", "source": "a", "target": "b", "data": {}}]


def test_parent_server_node_ids() -> None:
    graph = normalize(
        {
            "nodes": [{"id": "p", "data": {"serverNodeId": "n_1"}}, {"id": "c"}, {"id": "d"}],
            "edges": [{"source": "p", "target": "c"}, {"source": "c", "target": "d"}],
        },
        max_bytes=LIMIT,
    )
    assert graph.nodes[1]["data"] == {"parentServerNodeId": "n_1"}
    assert graph.nodes[2]["data"] == {}  # c has no server image of its own


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"nodes": {}},
        {"nodes": [1]},
        {"nodes": [{"id": 3}]},
        {"nodes": [{"id": "a", "x": "1"}]},
        {"nodes": [{"id": "a", "x": float("nan")}]},
        {"nodes": [{"id": "a", "x": True}]},
        {"nodes": [{"id": "a", "data": []}]},
        {"nodes": [{"id": "a", "position": 4}]},
        {"nodes": [{"id": "a"}, {"id": "a"}]},
        {"nodes": [{"id": "a"}], "edges": [{"source": "a"}]},
    ],
)
def test_malformed_graphs(payload: object) -> None:
    assert _code(lambda: normalize(payload, max_bytes=LIMIT)) == "INVALID_GRAPH"


def test_limits() -> None:
    nodes = [{"id": f"n{i}"} for i in range(MAX_NODES)]
    assert len(normalize({"nodes": nodes}, max_bytes=LIMIT).nodes) == MAX_NODES
    assert _code(lambda: normalize({"nodes": [*nodes, {"id": "one more"}]}, max_bytes=LIMIT)) == "GRAPH_TOO_LARGE"
    edges = [{"source": "n0", "target": "n1"}] * (MAX_EDGES + 1)
    assert _code(lambda: normalize({"nodes": nodes, "edges": edges}, max_bytes=LIMIT)) == "GRAPH_TOO_LARGE"
    assert _code(lambda: normalize({"nodes": [{"id": "a", "data": {"t": "x" * 200}}]}, max_bytes=100)) == (
        "GRAPH_TOO_LARGE"
    )
