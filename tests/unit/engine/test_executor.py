"""The executor on the in-memory result store: events, progress, threads, caching, cancel, resume, failure."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pixelmill.config import Settings
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.events import NodeEvent
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.results_memory import MemoryResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import ValidatedGraph, validate_graph
from tests.support.engine_nodes import ProbeState, probe_registry, reset_probes


@pytest.fixture
def probes() -> ProbeState:
    return reset_probes()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def store() -> MemoryResultStore:
    return MemoryResultStore()


@pytest.fixture
def executor(settings: Settings, store: MemoryResultStore) -> Iterator[GraphExecutor]:
    with GraphExecutor(settings=settings, store=store, progress_interval=0) as executor:
        yield executor


def edge(source: str, destination: str, field: str = "value", source_field: str = "value") -> dict[str, Any]:
    return {
        "source": {"node_id": source, "field": source_field},
        "destination": {"node_id": destination, "field": field},
    }


def graph_of(
    settings: Settings, nodes: list[dict[str, Any]], edges: list[dict[str, Any]] | None = None
) -> ValidatedGraph:
    return validate_graph({"nodes": nodes, "edges": edges or []}, probe_registry, settings)


class Recorder:
    def __init__(self) -> None:
        self.events: list[NodeEvent] = []

    async def __call__(self, event: NodeEvent) -> None:
        self.events.append(event)

    def kinds(self, node_id: str) -> list[str]:
        return [event.kind for event in self.events if event.node_id == node_id]


@pytest.mark.anyio
async def test_chain_runs_in_order_and_returns_typed_outputs(executor: GraphExecutor, settings: Settings) -> None:
    graph = graph_of(
        settings,
        [
            {"id": "a", "type": "math.add", "inputs": {"a": 2, "b": 3}},
            {"id": "m", "type": "math.multiply", "inputs": {"b": 4}, "is_intermediate": True},
            {"id": "t", "type": "text.template", "inputs": {"template": "total: {a}"}},
        ],
        [edge("a", "m", "a"), edge("m", "t", "a")],
    )
    recorder = Recorder()
    result = await executor.execute(graph, RunScope("run_1", "ws_1"), listener=recorder)
    assert result.status == "completed"
    assert set(result.outputs) == {"a", "t"}  # m is intermediate
    assert (result.outputs["a"].type, result.outputs["a"].value) == ("json", 5.0)
    assert (result.outputs["t"].type, result.outputs["t"].value) == ("text", "total: 20.0")
    assert [(event.kind, event.node_id) for event in recorder.events] == [
        ("node_start", "a"),
        ("node_complete", "a"),
        ("node_start", "m"),
        ("node_complete", "m"),
        ("node_start", "t"),
        ("node_complete", "t"),
    ]
    complete = recorder.events[1]
    assert complete.payload() == {
        "node_id": "a",
        "node_type": "math.add",
        "outputs": {"value": 5.0},
        "output_type": "json",
        "duration_ms": complete.duration_ms,
        "cost": 0,
        "cached": False,
    }
    report = result.nodes["t"]
    assert report.status == "completed"
    assert report.started_at is not None
    assert report.completed_at is not None
    assert report.completed_at >= report.started_at


@pytest.mark.anyio
async def test_single_value_is_wrapped_into_a_list_input(executor: GraphExecutor, settings: Settings) -> None:
    graph = graph_of(
        settings,
        [{"id": "n", "type": "value.integer", "inputs": {"value": 7}}, {"id": "s", "type": "probe.sum"}],
        [edge("n", "s", "values")],
    )
    result = await executor.execute(graph, RunScope("run_1", "ws_1"))
    assert result.outputs["s"].value == 7.0


@pytest.mark.anyio
async def test_cache_hit_reports_cached_costs_nothing_and_skips_run(
    executor: GraphExecutor, settings: Settings, store: MemoryResultStore, probes: ProbeState
) -> None:
    graph = graph_of(settings, [{"id": "c", "type": "probe.count", "inputs": {"value": 3, "price": 5}}])
    first = await executor.execute(graph, RunScope("run_1", "ws_1"))
    recorder = Recorder()
    second = await executor.execute(graph, RunScope("run_2", "ws_1"), listener=recorder)
    assert probes.calls["count"] == 1
    assert (first.nodes["c"].cached, first.total_cost) == (False, 5)
    assert (second.nodes["c"].cached, second.nodes["c"].cost, second.total_cost) == (True, 0, 0)
    assert second.outputs["c"].value == 3.0
    assert recorder.kinds("c") == ["node_cached"]
    assert recorder.events[0].payload()["cached"] is True
    assert sum(store.cache_hits.values()) == 1
    # Another workspace never sees this workspace's cache.
    await executor.execute(graph, RunScope("run_3", "ws_2"))
    assert probes.calls["count"] == 2


@pytest.mark.anyio
async def test_hold_last_returns_the_final_node_unsaved_and_saves_the_rest(
    executor: GraphExecutor, settings: Settings, store: MemoryResultStore
) -> None:
    graph = graph_of(
        settings,
        [{"id": "a", "type": "math.add", "inputs": {"a": 1, "b": 2}}, {"id": "m", "type": "math.multiply"}],
        [edge("a", "m", "a")],
    )
    recorder = Recorder()
    result = await executor.execute(graph, RunScope("run_1", "ws_1"), listener=recorder, hold_last=True)
    assert result.status == "completed"
    assert set(store.records["run_1"]) == {"a"}
    # Listeners learn which finished node is not durable yet (views keep it running until it is).
    assert [(event.node_id, event.held) for event in recorder.events if event.kind == "node_complete"] == [
        ("a", False),
        ("m", True),
    ]
    assert "held" not in recorder.events[-1].payload()
    assert [(held.record.node_id, held.record.status) for held in result.unsaved] == [("m", "completed")]
    assert result.unsaved[0].record.outputs == {"value": 3.0}  # (1 + 2) * the default 1


@pytest.mark.anyio
async def test_hold_last_saves_every_node_when_the_last_to_start_had_company(
    executor: GraphExecutor, settings: Settings, store: MemoryResultStore
) -> None:
    # Two independent nodes start together: neither is alone at the end, so nothing is held.
    nodes = [{"id": "a", "type": "math.add", "inputs": {"a": 1}}, {"id": "b", "type": "math.add", "inputs": {"a": 2}}]
    graph = graph_of(settings, nodes)
    result = await executor.execute(graph, RunScope("run_1", "ws_1"), hold_last=True)
    assert (result.unsaved, set(store.records["run_1"])) == ((), {"a", "b"})
    # Without hold_last every record is written as before.
    plain = await executor.execute(graph_of(settings, [{"id": "c", "type": "math.add"}]), RunScope("run_2", "ws_1"))
    assert (plain.unsaved, set(store.records["run_2"])) == ((), {"c"})


@pytest.mark.anyio
async def test_trivial_nodes_are_computed_never_looked_up_or_stored(
    executor: GraphExecutor, settings: Settings, store: MemoryResultStore
) -> None:
    graph = graph_of(settings, [{"id": "s", "type": "math.add", "inputs": {"a": 2, "b": 3}}])
    await executor.execute(graph, RunScope("run_1", "ws_1"))
    recorder = Recorder()
    second = await executor.execute(graph, RunScope("run_2", "ws_1"), listener=recorder)
    assert (second.nodes["s"].cached, second.outputs["s"].value) == (False, 5.0)
    assert recorder.kinds("s") == ["node_start", "node_complete"]
    assert store.cache == {}


@pytest.mark.anyio
async def test_use_cache_false_and_nondeterministic_nodes_always_run(
    executor: GraphExecutor, settings: Settings, probes: ProbeState
) -> None:
    graph = graph_of(
        settings,
        [
            {"id": "c", "type": "probe.count", "use_cache": False},
            {"id": "s", "type": "random.seed"},
        ],
    )
    first = await executor.execute(graph, RunScope("run_1", "ws_1"))
    second = await executor.execute(graph, RunScope("run_2", "ws_1"))
    assert probes.calls["count"] == 2
    assert not second.nodes["s"].cached
    assert first.outputs["s"].value != second.outputs["s"].value  # equal by chance once in 2**32


@pytest.mark.anyio
async def test_random_seed_with_a_seed_returns_it(executor: GraphExecutor, settings: Settings) -> None:
    graph = graph_of(settings, [{"id": "s", "type": "random.seed", "inputs": {"seed": 42}}])
    result = await executor.execute(graph, RunScope("run_1", "ws_1"))
    assert result.outputs["s"].value == 42


@pytest.mark.anyio
async def test_independent_branches_run_concurrently(executor: GraphExecutor, settings: Settings) -> None:
    # Each rendezvous node waits for the other: run one after the other, the first would time out.
    graph = graph_of(
        settings,
        [
            {"id": "left", "type": "probe.rendezvous", "inputs": {"me": "left", "partner": "right", "value": 1}},
            {"id": "right", "type": "probe.rendezvous", "inputs": {"me": "right", "partner": "left", "value": 2}},
            {"id": "sum", "type": "math.add"},
        ],
        [edge("left", "sum", "a"), edge("right", "sum", "b")],
    )
    reset_probes()
    result = await executor.execute(graph, RunScope("run_1", "ws_1"))
    assert result.status == "completed", result.errors
    assert result.outputs["sum"].value == 3.0


@pytest.mark.anyio
async def test_progress_is_delivered_in_order_including_from_worker_threads(
    executor: GraphExecutor, settings: Settings, probes: ProbeState
) -> None:
    graph = graph_of(settings, [{"id": "p", "type": "probe.progress", "inputs": {"steps": 3}}])
    recorder = Recorder()
    await executor.execute(graph, RunScope("run_1", "ws_1"), listener=recorder)
    assert recorder.kinds("p") == ["node_start", *["node_progress"] * 4, "node_complete"]
    progress = [event.progress for event in recorder.events if event.kind == "node_progress"]
    assert progress == pytest.approx([0, 1 / 3, 2 / 3, 1.0])
    assert recorder.events[-2].message == "from a thread"
    assert probes.threads["p"].startswith("pixelmill-node")
    assert probes.threads["p"] != threading.current_thread().name


@pytest.mark.anyio
async def test_progress_is_throttled_per_node(settings: Settings, store: MemoryResultStore) -> None:
    graph = graph_of(settings, [{"id": "p", "type": "probe.progress", "inputs": {"steps": 50}}])
    recorder = Recorder()
    with GraphExecutor(settings=settings, store=store, progress_interval=0.25, clock=lambda: 100.0) as executor:
        await executor.execute(graph, RunScope("run_1", "ws_1"), listener=recorder)
    assert recorder.kinds("p") == ["node_start", "node_progress", "node_complete"]


@pytest.mark.anyio
async def test_failure_keeps_its_code_and_skips_dependants(
    executor: GraphExecutor, settings: Settings, probes: ProbeState
) -> None:
    graph = graph_of(
        settings,
        [
            {"id": "ok", "type": "probe.count", "inputs": {"price": 2}},
            {"id": "bad", "type": "probe.fail", "inputs": {"mode": "pixelmill"}},
            {"id": "after", "type": "probe.count", "inputs": {"tag": "after"}},
        ],
        [edge("ok", "bad"), edge("bad", "after")],
    )
    recorder = Recorder()
    result = await executor.execute(graph, RunScope("run_1", "ws_1"), listener=recorder)
    assert result.status == "failed"
    assert result.error == {
        "code": "PROVIDER_ERROR",
        "message": "The upstream provider said no",
        "node_id": "bad",
        "field": "model",
    }
    assert [report.status for report in result.nodes.values()] == ["completed", "failed", "skipped"]
    assert result.total_cost == 2
    assert probes.calls["after"] == 0
    assert recorder.kinds("bad") == ["node_start", "node_failed"]
    assert recorder.kinds("after") == []


@pytest.mark.anyio
async def test_unexpected_exception_becomes_node_failed_without_its_text(
    executor: GraphExecutor, settings: Settings
) -> None:
    graph = graph_of(settings, [{"id": "boom", "type": "probe.fail", "inputs": {"mode": "crash"}}])
    result = await executor.execute(graph, RunScope("run_1", "ws_1"))
    assert result.error is not None
    assert result.error["code"] == "NODE_FAILED"
    assert result.error["node_id"] == "boom"
    assert "secret" not in result.error["message"]
    assert "RuntimeError" in result.error["message"]


@pytest.mark.anyio
async def test_bad_value_from_an_edge_fails_the_node_with_invalid_input(
    executor: GraphExecutor, settings: Settings
) -> None:
    graph = graph_of(
        settings,
        [{"id": "zero", "type": "value.float", "inputs": {"value": 0}}, {"id": "div", "type": "math.divide"}],
        [edge("zero", "div", "b")],
    )
    result = await executor.execute(graph, RunScope("run_1", "ws_1"))
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["node_id"], result.error["field"]) == ("INVALID_INPUT", "div", "b")


@pytest.mark.anyio
async def test_overflow_is_refused_rather_than_stored_as_infinity(executor: GraphExecutor, settings: Settings) -> None:
    graph = graph_of(settings, [{"id": "big", "type": "math.multiply", "inputs": {"a": 1e308, "b": 10}}])
    result = await executor.execute(graph, RunScope("run_1", "ws_1"))
    assert result.error is not None
    assert result.error["code"] == "INVALID_INPUT"


@pytest.mark.anyio
async def test_cancel_before_start_runs_nothing(
    executor: GraphExecutor, settings: Settings, probes: ProbeState
) -> None:
    graph = graph_of(settings, [{"id": "c", "type": "probe.count"}])
    token = CancelToken()
    token.cancel()
    result = await executor.execute(graph, RunScope("run_1", "ws_1"), cancel=token)
    assert result.status == "cancelled"
    assert result.nodes["c"].status == "skipped"
    assert probes.calls["count"] == 0


@pytest.mark.anyio
async def test_media_without_a_media_store_fails_the_node_clearly(executor: GraphExecutor, settings: Settings) -> None:
    graph = graph_of(settings, [{"id": "m", "type": "probe.media"}])
    result = await executor.execute(graph, RunScope("run_1", "ws_1"))
    assert result.error is not None
    assert (result.error["code"], result.error["node_id"]) == ("SERVICE_UNAVAILABLE", "m")


@pytest.mark.anyio
async def test_a_broken_listener_does_not_fail_the_run(executor: GraphExecutor, settings: Settings) -> None:
    async def broken(event: NodeEvent) -> None:
        raise RuntimeError("listener down")

    graph = graph_of(settings, [{"id": "a", "type": "math.add"}])
    result = await executor.execute(graph, RunScope("run_1", "ws_1"), listener=broken)
    assert result.status == "completed"


@pytest.mark.anyio
async def test_interrupting_execute_cancels_the_running_nodes(
    executor: GraphExecutor, settings: Settings, probes: ProbeState
) -> None:
    graph = graph_of(
        settings, [{"id": "stuck", "type": "probe.rendezvous", "inputs": {"me": "me", "partner": "nobody"}}]
    )
    execution = asyncio.create_task(executor.execute(graph, RunScope("run_1", "ws_1"), listener=Recorder()))
    await asyncio.wait_for(probes.event("run_1:me").wait(), timeout=5)
    execution.cancel()
    with pytest.raises(asyncio.CancelledError):
        await execution
    running = [task for task in asyncio.all_tasks() if task.get_name().startswith("node:")]
    assert running == []


class CancelDuringLookup(MemoryResultStore):
    """The real in-memory store, with a cancel arriving while a cache lookup is in flight."""

    def __init__(self, token: CancelToken) -> None:
        super().__init__()
        self.token = token

    async def cached_outputs(self, key: str) -> dict[str, Any] | None:
        self.token.cancel()
        return await super().cached_outputs(key)


@pytest.mark.anyio
async def test_a_cancel_during_the_cache_lookup_keeps_the_node_from_starting(
    settings: Settings, probes: ProbeState
) -> None:
    token = CancelToken()
    store = CancelDuringLookup(token)
    graph = graph_of(settings, [{"id": "c", "type": "probe.count"}])
    recorder = Recorder()
    with GraphExecutor(settings=settings, store=store) as executor:
        result = await executor.execute(graph, RunScope("run_1", "ws_1"), cancel=token, listener=recorder)
    assert result.status == "cancelled"
    assert result.nodes["c"].status == "skipped"
    assert probes.calls["count"] == 0
    assert recorder.events == []
    assert store.records == {}
