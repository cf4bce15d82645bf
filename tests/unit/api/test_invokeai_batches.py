"""Batch expansion as InvokeAI's ``create_session_nfv_tuples`` does it: zip inside an inner list,
cartesian product across lists (the first slowest), ``runs`` outermost; and its validators."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pixelmill.api.dialects.invokeai.batches import (
    FieldValue,
    apply_field_values,
    session_count,
    session_field_values,
)
from pixelmill.api.dialects.invokeai.schemas import Batch, BatchDatum


def datum(node: str, field: str, items: list[Any]) -> BatchDatum:
    return BatchDatum(node_path=node, field_name=field, items=items)


def values(sessions: list[list[FieldValue]]) -> list[tuple[Any, ...]]:
    return [tuple(value.value for value in session) for session in sessions]


def test_without_data_a_batch_is_runs_copies() -> None:
    assert session_count(None, 3) == 3
    assert session_count([], 2) == 2
    assert list(session_field_values(None, 3)) == [[], [], []]


def test_datums_of_one_list_are_zipped() -> None:
    data = [[datum("n", "a", [1, 2, 3]), datum("n", "b", ["x", "y", "z"])]]
    assert session_count(data, 1) == 3
    assert values(list(session_field_values(data, 1))) == [(1, "x"), (2, "y"), (3, "z")]


def test_lists_combine_as_a_product_first_slowest_and_runs_repeat_it() -> None:
    data = [[datum("n", "a", [1, 2])], [datum("m", "b", [10, 20, 30])]]
    assert session_count(data, 2) == 12
    sessions = list(session_field_values(data, 2))
    once = [(1, 10), (1, 20), (1, 30), (2, 10), (2, 20), (2, 30)]
    assert values(sessions) == once * 2
    assert sessions[0][1] == FieldValue("m", "b", 10)


def test_a_limit_keeps_the_first_sessions() -> None:
    data = [[datum("n", "a", [1, 2, 3])]]
    assert values(list(session_field_values(data, 5, limit=4))) == [(1,), (2,), (3,), (1,)]
    assert list(session_field_values(data, 5, limit=0)) == []


def test_an_empty_datum_makes_no_sessions() -> None:
    data = [[datum("n", "a", [])], [datum("m", "b", [1, 2])]]
    assert session_count(data, 3) == 0
    assert list(session_field_values(data, 3)) == []


def test_values_are_written_into_a_copy_of_the_nodes() -> None:
    nodes = {"n": {"id": "n", "type": "add", "a": 1}}
    written = apply_field_values(nodes, [FieldValue("n", "a", 7), FieldValue("n", "b", 8)])
    assert written == {"n": {"id": "n", "type": "add", "a": 7, "b": 8}}
    assert nodes["n"]["a"] == 1


GRAPH = {"nodes": {"n": {"id": "n", "type": "add"}}, "edges": []}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            [
                [
                    {"node_path": "n", "field_name": "a", "items": [1, 2]},
                    {"node_path": "n", "field_name": "b", "items": [1]},
                ]
            ],
            "same length",
        ),
        ([[{"node_path": "n", "field_name": "a", "items": [1, "two"]}]], "same type"),
        (
            [
                [{"node_path": "n", "field_name": "a", "items": [1]}],
                [{"node_path": "n", "field_name": "a", "items": [2]}],
            ],
            "unique",
        ),
        ([[{"node_path": "x", "field_name": "a", "items": [1]}]], "Node x not found"),
        ([[{"node_path": "n", "field_name": "c", "items": [1]}]], "Field c not found"),
    ],
)
def test_invokeai_validators(data: list[Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Batch.model_validate({"graph": GRAPH, "data": data})


def test_ints_and_floats_may_mix_and_defaults_are_filled() -> None:
    batch = Batch.model_validate({"graph": GRAPH, "data": [[{"node_path": "n", "field_name": "a", "items": [1, 2.5]}]]})
    assert batch.runs == 1
    assert len(batch.batch_id) == 36
    assert batch.graph.id


def test_a_node_key_must_equal_its_id() -> None:
    with pytest.raises(ValidationError, match="different id"):
        Batch.model_validate({"graph": {"nodes": {"n": {"id": "m", "type": "add"}}}})
