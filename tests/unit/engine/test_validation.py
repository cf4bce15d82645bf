"""validate_graph: every error code provoked, with the node id and field it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pixelmill.config import Settings
from pixelmill.engine.validation import GraphValidationError, validate_graph
from pixelmill.errors import PixelmillError
from tests.support.engine_nodes import probe_registry


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, max_graph_nodes=10, max_graph_edges=10, max_graph_payload_bytes=4096)


def edge(source: str, source_field: str, destination: str, destination_field: str) -> dict[str, Any]:
    return {
        "source": {"node_id": source, "field": source_field},
        "destination": {"node_id": destination, "field": destination_field},
    }


def refuse(graph: dict[str, Any], settings: Settings) -> GraphValidationError:
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(graph, probe_registry, settings)
    return caught.value


def test_a_valid_graph_is_ordered_topologically_and_estimates_its_cost(settings: Settings) -> None:
    graph = {
        "nodes": [
            {"id": "total", "type": "math.add", "inputs": {"b": 1}},
            {"id": "first", "type": "probe.count", "inputs": {"value": 2, "price": 3}},
            {"id": "second", "type": "probe.count", "inputs": {"price": 4}},
        ],
        "edges": [edge("first", "value", "second", "value"), edge("second", "value", "total", "a")],
    }
    validated = validate_graph(graph, probe_registry, settings)
    assert validated.order == ("first", "second", "total")
    assert validated.estimated_cost == 7
    assert validated.dependants["first"] == ("second",)
    assert validated.upstream["total"] == frozenset({"second"})
    assert validated.literal_inputs("total") == {"b": 1}


def test_unknown_node_type_names_the_node(settings: Settings) -> None:
    error = refuse({"nodes": [{"id": "n1", "type": "math.power"}]}, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"]) == ("UNKNOWN_NODE_TYPE", "n1", "type")


def test_duplicate_node_id(settings: Settings) -> None:
    error = refuse({"nodes": [{"id": "n1", "type": "math.add"}, {"id": "n1", "type": "math.add"}]}, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"]) == ("DUPLICATE_NODE_ID", "n1", "id")


def test_missing_required_input_without_an_edge(settings: Settings) -> None:
    error = refuse({"nodes": [{"id": "t", "type": "text.template"}]}, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"]) == ("MISSING_INPUT", "t", "template")


def test_unknown_input_field(settings: Settings) -> None:
    error = refuse({"nodes": [{"id": "n1", "type": "math.add", "inputs": {"c": 1}}]}, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"]) == ("UNKNOWN_FIELD", "n1", "c")


@pytest.mark.parametrize(
    ("node_type", "inputs", "field"),
    [
        ("probe.count", {"price": -1}, "price"),  # out of range
        ("math.add", {"a": "two"}, "a"),  # wrong type
        ("math.divide", {"b": 0}, "b"),  # the node's own validator
        ("probe.image_sink", {"image": {"file_id": "file_1"}, "mode": "slow"}, "mode"),  # not an allowed value
        ("random.seed", {"seed": 2**32}, "seed"),
        ("text.template", {"template": "{unclosed"}, "template"),
    ],
)
def test_invalid_literal_input(settings: Settings, node_type: str, inputs: dict[str, Any], field: str) -> None:
    error = refuse({"nodes": [{"id": "n1", "type": node_type, "inputs": inputs}]}, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"]) == ("INVALID_INPUT", "n1", field)


def test_nan_literal_is_invalid_input(settings: Settings) -> None:
    graph = {
        "nodes": [{"id": "t", "type": "text.template", "inputs": {"template": "{x}", "values": {"x": float("nan")}}}]
    }
    error = refuse(graph, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"]) == ("INVALID_INPUT", "t", "values")


def test_edge_fed_fields_are_left_out_of_literal_validation(settings: Settings) -> None:
    # probe.sum needs `values` and text.template's placeholder {a} has no literal: both come from edges.
    graph = {
        "nodes": [
            {"id": "n", "type": "value.float", "inputs": {"value": 2}},
            {"id": "s", "type": "probe.sum"},
            {"id": "t", "type": "text.template", "inputs": {"template": "sum {a}", "a": 5}},
        ],
        "edges": [edge("n", "value", "s", "values"), edge("s", "value", "t", "a")],
    }
    validated = validate_graph(graph, probe_registry, settings)
    assert validated.sources["s"]["values"].wrap is True
    assert "a" not in validated.literal_inputs("t")  # the edge wins over the stale literal


def test_edge_to_a_node_that_is_not_in_the_graph(settings: Settings) -> None:
    graph = {"nodes": [{"id": "n1", "type": "math.add"}], "edges": [edge("ghost", "value", "n1", "a")]}
    error = refuse(graph, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"], error.extra["edge"]) == (
        "EDGE_UNKNOWN_NODE",
        "ghost",
        "value",
        0,
    )


@pytest.mark.parametrize(
    ("the_edge", "node_id", "field"),
    [
        (edge("n1", "total", "n2", "a"), "n1", "total"),  # no such output
        (edge("n1", "value", "n2", "c"), "n2", "c"),  # no such input
    ],
)
def test_edge_to_a_field_the_node_does_not_have(
    settings: Settings, the_edge: dict[str, Any], node_id: str, field: str
) -> None:
    graph = {"nodes": [{"id": "n1", "type": "math.add"}, {"id": "n2", "type": "math.add"}], "edges": [the_edge]}
    error = refuse(graph, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"]) == ("EDGE_UNKNOWN_FIELD", node_id, field)


@pytest.mark.parametrize(
    ("source_type", "source_field", "target_type", "target_field", "labels"),
    [
        ("value.string", "value", "math.add", "a", ("str", "float")),
        ("math.add", "value", "value.integer", "value", ("float", "int")),
        ("value.boolean", "value", "value.integer", "value", ("bool", "int")),
        ("probe.maybe", "value", "math.add", "a", ("float | null", "float")),
        ("math.add", "value", "probe.image_sink", "image", ("float", "image")),
        ("value.string", "value", "probe.image_sink", "mode", ("str", "literal['fast', 'fine']")),
    ],
)
def test_edge_type_mismatch(
    settings: Settings,
    source_type: str,
    source_field: str,
    target_type: str,
    target_field: str,
    labels: tuple[str, str],
) -> None:
    graph = {
        "nodes": [{"id": "src", "type": source_type}, {"id": "dst", "type": target_type}],
        "edges": [edge("src", source_field, "dst", target_field)],
    }
    error = refuse(graph, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"]) == ("EDGE_TYPE_MISMATCH", "dst", target_field)
    assert (error.extra["source_type"], error.extra["target_type"]) == labels


def test_compatible_edges_validate(settings: Settings) -> None:
    graph = {
        "nodes": [
            {"id": "i", "type": "value.integer"},
            {"id": "f", "type": "math.add"},
            {"id": "img", "type": "probe.image_source"},
            {"id": "sink", "type": "probe.image_sink"},
            {"id": "t", "type": "text.template", "inputs": {"template": "{a}{b}"}},
        ],
        "edges": [
            edge("i", "value", "f", "a"),  # int -> float
            edge("img", "image", "sink", "image"),  # ImageRef -> ImageRef
            edge("img", "image", "sink", "references"),  # ImageRef -> list[ImageRef]
            edge("f", "value", "t", "a"),  # float -> str | int | float | bool | None
            edge("i", "value", "t", "b"),
        ],
    }
    validated = validate_graph(graph, probe_registry, settings)
    assert validated.sources["sink"]["image"].wrap is False
    assert validated.sources["sink"]["references"].wrap is True
    assert validated.capabilities == frozenset({"cpu", "gpu"})


def test_two_edges_into_one_input(settings: Settings) -> None:
    graph = {
        "nodes": [{"id": "a", "type": "math.add"}, {"id": "b", "type": "math.add"}, {"id": "c", "type": "math.add"}],
        "edges": [edge("a", "value", "c", "a"), edge("b", "value", "c", "a")],
    }
    error = refuse(graph, settings)
    assert (error.code, error.extra["node_id"], error.extra["field"], error.extra["edge"]) == (
        "DUPLICATE_INPUT_EDGE",
        "c",
        "a",
        1,
    )


def test_cycle_names_its_nodes_in_edge_order(settings: Settings) -> None:
    graph = {
        "nodes": [
            {"id": "start", "type": "math.add"},
            {"id": "x", "type": "math.add"},
            {"id": "y", "type": "math.add"},
            {"id": "z", "type": "math.add"},
        ],
        "edges": [
            edge("start", "value", "x", "a"),
            edge("x", "value", "y", "a"),
            edge("y", "value", "z", "a"),
            edge("z", "value", "x", "b"),
        ],
    }
    error = refuse(graph, settings)
    assert (error.code, error.extra["node_id"]) == ("GRAPH_CYCLE", "x")
    assert error.extra["cycle"] == ["x", "y", "z"]


def test_self_loop_is_a_cycle(settings: Settings) -> None:
    graph = {"nodes": [{"id": "n", "type": "math.add"}], "edges": [edge("n", "value", "n", "a")]}
    error = refuse(graph, settings)
    assert (error.code, error.extra["cycle"]) == ("GRAPH_CYCLE", ["n"])


@pytest.mark.parametrize(
    ("graph", "field", "limit"),
    [
        ({"nodes": [{"id": f"n{i}", "type": "math.add"} for i in range(11)]}, "nodes", 10),
        (
            {
                "nodes": [{"id": "a", "type": "math.add"}, {"id": "b", "type": "probe.sum"}],
                "edges": [edge("a", "value", "b", "values")] * 11,
            },
            "edges",
            10,
        ),
        ({"nodes": [{"id": "s", "type": "value.string", "inputs": {"value": "x" * 5000}}]}, "bytes", 4096),
    ],
)
def test_graph_too_large(settings: Settings, graph: dict[str, Any], field: str, limit: int) -> None:
    error = refuse(graph, settings)
    assert (error.code, error.extra["field"], error.extra["limit"]) == ("GRAPH_TOO_LARGE", field, limit)
    assert error.extra["size"] > limit


def test_every_problem_is_listed_and_the_first_is_raised(settings: Settings) -> None:
    graph = {
        "nodes": [
            {"id": "a", "type": "math.add", "inputs": {"a": "x"}},
            {"id": "b", "type": "nope"},
            {"id": "c", "type": "math.add"},
        ],
        "edges": [edge("a", "value", "c", "a"), edge("c", "value", "a", "b"), edge("c", "value", "missing", "a")],
    }
    error = refuse(graph, settings)
    codes = [problem["code"] for problem in error.extra["errors"]]
    assert codes == ["UNKNOWN_NODE_TYPE", "EDGE_UNKNOWN_NODE", "INVALID_INPUT", "GRAPH_CYCLE"]
    assert error.code == "UNKNOWN_NODE_TYPE"
    assert error.status == 422
    body = error.body()["error"]
    assert body["node_id"] == "b"
    assert body["errors"][2] == {
        "code": "INVALID_INPUT",
        "message": "Input a of node 'a' (math.add): Input should be a valid number, unable to parse string as a number",
        "node_id": "a",
        "field": "a",
    }


@pytest.mark.parametrize(
    ("graph", "field"),
    [
        ({"nodes": [{"id": "has.dot", "type": "math.add"}]}, "graph.nodes.0.id"),
        ({"nodes": [{"id": "n", "type": "math.add", "colour": "red"}]}, "graph.nodes.0.colour"),
        ({"nodes": "all of them"}, "graph.nodes"),
    ],
)
def test_malformed_graph_shape_is_a_validation_error(settings: Settings, graph: dict[str, Any], field: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        validate_graph(graph, probe_registry, settings)
    assert (caught.value.code, caught.value.extra["field"]) == ("VALIDATION_ERROR", field)
