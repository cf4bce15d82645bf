"""Rounding, random and string nodes through the real validator and executor (in-memory results)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill.config import Settings
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.node import default_registry
from pixelmill.engine.outcome import ExecutionResult
from pixelmill.engine.results_memory import MemoryResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import GraphValidationError, validate_graph
from pixelmill.ids import new_id

pytestmark = pytest.mark.anyio


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[GraphExecutor]:
    with GraphExecutor(settings=Settings(data_dir=tmp_path), store=MemoryResultStore()) as executor:
        yield executor


async def run_one(executor: GraphExecutor, node_type: str, inputs: dict[str, Any]) -> ExecutionResult:
    graph = validate_graph(
        {"nodes": [{"id": "n", "type": node_type, "inputs": inputs}]}, default_registry, executor.settings
    )
    return await executor.execute(graph, RunScope(new_id("run"), "ws_1"))


async def value_of(executor: GraphExecutor, node_type: str, inputs: dict[str, Any], field: str = "value") -> Any:
    result = await run_one(executor, node_type, inputs)
    assert result.status == "completed", result.errors
    return result.outputs["n"].outputs[field]


async def test_a_seeded_random_integer_repeats_and_stays_in_range(executor: GraphExecutor) -> None:
    inputs = {"low": 10, "high": 20, "seed": 5}
    first = await value_of(executor, "random.integer", inputs)
    assert first == await value_of(executor, "random.integer", inputs)
    drawn = {await value_of(executor, "random.integer", {**inputs, "seed": seed}) for seed in range(60)}
    assert drawn <= set(range(10, 20))  # high is never drawn
    assert len(drawn) > 5  # most values are


async def test_an_unseeded_random_integer_differs_between_runs(executor: GraphExecutor) -> None:
    drawn = {await value_of(executor, "random.integer", {}) for _ in range(5)}
    assert len(drawn) > 1
    assert not default_registry.get("random.integer").results_cached()  # type: ignore[union-attr]


async def test_random_float_rounds_to_its_decimals(executor: GraphExecutor) -> None:
    value = await value_of(executor, "random.float", {"low": 2.0, "high": 3.0, "decimals": 1, "seed": 9})
    assert 2.0 <= value <= 3.0
    assert round(value, 1) == value
    assert value == await value_of(executor, "random.float", {"low": 2.0, "high": 3.0, "decimals": 1, "seed": 9})


def test_random_low_must_be_below_high(executor: GraphExecutor) -> None:
    with pytest.raises(GraphValidationError):
        validate_graph(
            {"nodes": [{"id": "n", "type": "random.integer", "inputs": {"low": 5, "high": 5}}]},
            default_registry,
            executor.settings,
        )


@pytest.mark.parametrize(
    ("value", "method", "expected"),
    [(13.0, "nearest", 16), (11.9, "nearest", 8), (13.0, "floor", 8), (9.0, "ceiling", 16), (-13.0, "truncate", -8)],
)
async def test_round_to_multiple(executor: GraphExecutor, value: float, method: str, expected: int) -> None:
    inputs = {"value": value, "multiple": 8, "method": method}
    assert await value_of(executor, "math.round_to_multiple", inputs) == expected


async def test_round(executor: GraphExecutor) -> None:
    assert await value_of(executor, "math.round", {"value": 2.71828, "decimals": 2}) == 2.72
    assert await value_of(executor, "math.round", {"value": 2.5}) == 2.0  # halves to even


async def test_replace_plain_and_regex(executor: GraphExecutor) -> None:
    plain = {"text": "a.b.c", "search": ".", "replace": "-"}
    assert await value_of(executor, "text.replace", plain) == "a-b-c"
    regex = {"text": "cat 12, dog 7", "search": r"(\w+) (\d+)", "replace": r"\2 \1", "regex": True}
    assert await value_of(executor, "text.replace", regex) == "12 cat, 7 dog"


async def test_a_broken_regex_fails_the_node_naming_the_field(executor: GraphExecutor) -> None:
    result = await run_one(executor, "text.replace", {"text": "x", "search": "(", "regex": True})
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["field"]) == ("INVALID_INPUT", "search")


async def test_split_at_the_first_delimiter(executor: GraphExecutor) -> None:
    result = await run_one(executor, "text.split", {"text": "a photo, of a cat, at night", "delimiter": ", "})
    assert result.outputs["n"].outputs == {"first": "a photo", "second": "of a cat, at night"}
    result = await run_one(executor, "text.split", {"text": "no delimiter", "delimiter": "|"})
    assert result.outputs["n"].outputs == {"first": "no delimiter", "second": ""}


async def test_a_runaway_regex_is_stopped(executor: GraphExecutor) -> None:
    inputs = {"text": "a" * 40 + "!", "search": "(a|aa)+$", "replace": "", "regex": True}
    result = await run_one(executor, "text.replace", inputs)
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["field"]) == ("INVALID_INPUT", "search")
    assert "longer than" in result.error["message"]


async def test_split_negative_takes_the_bracketed_text(executor: GraphExecutor) -> None:
    result = await run_one(executor, "text.split_negative", {"text": "a cat [blurry, dark] at night"})
    assert result.outputs["n"].outputs == {"positive": "a cat  at night", "negative": " blurry, dark"}
    result = await run_one(executor, "text.split_negative", {"text": r"a \[tag\] [b[c]]"})
    assert result.outputs["n"].outputs == {"positive": r"a \[tag\] ", "negative": " b c"}
