"""Core nodes through the real validator and executor (in-memory results): values, errors, template safety."""

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
from pixelmill.nodes.core import MAX_SEED, MAX_TEMPLATE_OUTPUT_CHARS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def executor(settings: Settings) -> Iterator[GraphExecutor]:
    with GraphExecutor(settings=settings, store=MemoryResultStore()) as executor:
        yield executor


async def run_one(executor: GraphExecutor, node_type: str, inputs: dict[str, Any]) -> ExecutionResult:
    graph = validate_graph(
        {"nodes": [{"id": "n", "type": node_type, "inputs": inputs}]}, default_registry, executor.settings
    )
    return await executor.execute(graph, RunScope(new_id("run"), "ws_1"))


async def value_of(executor: GraphExecutor, node_type: str, inputs: dict[str, Any]) -> Any:
    result = await run_one(executor, node_type, inputs)
    assert result.status == "completed", result.errors
    return result.outputs["n"].value


def refused(settings: Settings, node_type: str, inputs: dict[str, Any]) -> GraphValidationError:
    with pytest.raises(GraphValidationError) as caught:
        validate_graph({"nodes": [{"id": "n", "type": node_type, "inputs": inputs}]}, default_registry, settings)
    return caught.value


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("node_type", "a", "b", "expected"),
    [
        ("math.add", 2, 3.5, 5.5),
        ("math.subtract", 2, 3.5, -1.5),
        ("math.multiply", -2, 3.5, -7.0),
        ("math.divide", 7, 2, 3.5),
    ],
)
async def test_math(executor: GraphExecutor, node_type: str, a: float, b: float, expected: float) -> None:
    assert await value_of(executor, node_type, {"a": a, "b": b}) == expected


def test_division_by_zero_is_refused_before_running(settings: Settings) -> None:
    error = refused(settings, "math.divide", {"a": 1, "b": 0})
    assert (error.code, error.extra["field"]) == ("INVALID_INPUT", "b")
    assert "divisor must not be zero" in error.message


@pytest.mark.anyio
async def test_overflowing_result_fails_with_invalid_input(executor: GraphExecutor) -> None:
    result = await run_one(executor, "math.add", {"a": 1.7e308, "b": 1.7e308})
    assert result.error is not None
    assert (result.error["code"], result.error["node_id"]) == ("INVALID_INPUT", "n")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("node_type", "value", "output_type"),
    [
        ("value.integer", -12, "json"),
        ("value.float", 0.25, "json"),
        ("value.string", "a lighthouse in a storm", "text"),
        ("value.boolean", True, "json"),
    ],
)
async def test_values_pass_through(executor: GraphExecutor, node_type: str, value: Any, output_type: str) -> None:
    result = await run_one(executor, node_type, {"value": value})
    assert (result.outputs["n"].value, result.outputs["n"].type) == (value, output_type)


def test_integer_value_refuses_a_fraction(settings: Settings) -> None:
    assert refused(settings, "value.integer", {"value": 1.5}).code == "INVALID_INPUT"


@pytest.mark.anyio
async def test_template_fills_placeholders_from_slots_and_values(executor: GraphExecutor) -> None:
    text = await value_of(
        executor,
        "text.template",
        {
            "template": "a {style} photo of {a}, {b} px, hdr={c} {{literal}}",
            "values": {"style": "moody", "b": 512},
            "a": "a lighthouse",
            "b": 64,
            "c": False,
        },
    )
    assert text == "a moody photo of a lighthouse, 512 px, hdr=false {literal}"


@pytest.mark.parametrize(
    "template",
    [
        "{a.__class__}",  # attribute access
        "{a[0]}",  # indexing
        "{0}",  # positional
        "{a!r}",  # conversion
        "{a:>10}",  # format spec
        "}",  # stray brace
    ],
)
def test_template_refuses_anything_but_plain_placeholders(settings: Settings, template: str) -> None:
    error = refused(settings, "text.template", {"template": template, "a": "x"})
    assert (error.code, error.extra["field"]) == ("INVALID_INPUT", "template")


def test_template_placeholder_without_a_value_is_refused(settings: Settings) -> None:
    error = refused(settings, "text.template", {"template": "hello {name}"})
    assert error.code == "INVALID_INPUT"
    assert "{name} has no value" in error.message


def test_template_output_is_bounded(settings: Settings) -> None:
    long_value = "x" * 100_000
    error = refused(settings, "text.template", {"template": "{a}" * 11, "a": long_value})
    assert str(MAX_TEMPLATE_OUTPUT_CHARS) in error.message


@pytest.mark.anyio
async def test_random_seed_returns_the_given_seed_or_draws_one_in_range(executor: GraphExecutor) -> None:
    assert await value_of(executor, "random.seed", {"seed": 1234}) == 1234
    drawn = await value_of(executor, "random.seed", {})
    assert 0 <= drawn <= MAX_SEED
