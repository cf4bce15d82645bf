"""The executor persisting into node_executions and node_cache, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from pixelmill.db.models import NodeCacheEntry, NodeExecution
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.events import NodeEvent
from pixelmill.engine.validation import ValidatedGraph, validate_graph
from tests.integration.engine.conftest import EngineEnv
from tests.support.engine_nodes import ProbeState, probe_registry


def edge(source: str, destination: str, field: str = "value") -> dict[str, Any]:
    return {"source": {"node_id": source, "field": "value"}, "destination": {"node_id": destination, "field": field}}


def validated(env: EngineEnv, graph: dict[str, Any]) -> ValidatedGraph:
    return validate_graph(graph, probe_registry, env.runtime.settings)


async def rows(env: EngineEnv, run_id: str) -> dict[str, NodeExecution]:
    async with env.runtime.db.session() as session:
        found = await session.scalars(select(NodeExecution).where(NodeExecution.run_id == run_id))
        return {row.node_id: row for row in found}


@pytest.mark.anyio
async def test_each_node_result_is_persisted(env: EngineEnv) -> None:
    graph = {
        "nodes": [
            {"id": "a", "type": "math.add", "inputs": {"a": 1.5, "b": 2}},
            {"id": "c", "type": "probe.count", "inputs": {"price": 4}},
        ],
        "edges": [edge("a", "c")],
    }
    scope = await env.new_run(graph)
    result = await env.executor.execute(validated(env, graph), scope)
    assert result.status == "completed"
    assert result.total_cost == 4
    stored = await rows(env, scope.run_id)
    assert set(stored) == {"a", "c"}
    row = stored["c"]
    assert (row.node_type, row.status, row.outputs, row.cached, row.cost, row.error) == (
        "probe.count",
        "completed",
        {"value": 3.5},
        False,
        4,
        None,
    )
    assert row.inputs_hash is not None
    assert len(row.inputs_hash) == 64
    assert row.started_at is not None
    assert row.completed_at is not None
    assert row.started_at <= row.completed_at
    assert result.nodes["c"].started_at == row.started_at


@pytest.mark.anyio
async def test_cache_hit_across_runs_is_reported_cached_and_does_not_call_run(
    env: EngineEnv, probes: ProbeState
) -> None:
    graph = {"nodes": [{"id": "c", "type": "probe.count", "inputs": {"value": 9, "price": 3}}]}
    first = await env.new_run(graph)
    second = await env.new_run(graph)
    await env.executor.execute(validated(env, graph), first)
    events: list[NodeEvent] = []

    async def listen(event: NodeEvent) -> None:
        events.append(event)

    result = await env.executor.execute(validated(env, graph), second, listener=listen)
    assert probes.calls["count"] == 1
    assert [event.kind for event in events] == ["node_cached"]
    assert (result.nodes["c"].cached, result.total_cost, result.outputs["c"].value) == (True, 0, 9.0)
    row = (await rows(env, second.run_id))["c"]
    assert (row.cached, row.cost, row.outputs) == (True, 0, {"value": 9.0})
    async with env.runtime.db.session() as session:
        entry = await session.scalar(select(NodeCacheEntry))
    assert entry is not None
    assert entry.node_type == "probe.count"
    assert entry.last_hit_at is not None


@pytest.mark.anyio
async def test_independent_branches_run_concurrently(env: EngineEnv, probes: ProbeState) -> None:
    graph = {
        "nodes": [
            {"id": "left", "type": "probe.rendezvous", "inputs": {"me": "left", "partner": "right", "value": 1}},
            {"id": "right", "type": "probe.rendezvous", "inputs": {"me": "right", "partner": "left", "value": 2}},
        ]
    }
    scope = await env.new_run(graph)
    result = await env.executor.execute(validated(env, graph), scope)
    assert result.status == "completed", result.errors
    assert {row.status for row in (await rows(env, scope.run_id)).values()} == {"completed"}


@pytest.mark.anyio
async def test_cancel_mid_graph_keeps_finished_results_and_runs_nothing_after(
    env: EngineEnv, probes: ProbeState
) -> None:
    graph = {
        "nodes": [
            {"id": "first", "type": "probe.count", "inputs": {"price": 3, "tag": "first"}},
            {"id": "cancel", "type": "probe.cancel_run", "inputs": {"price": 2}},
            {"id": "after", "type": "probe.count", "inputs": {"price": 7, "tag": "after"}},
            {"id": "elsewhere", "type": "probe.count", "inputs": {"price": 7, "tag": "elsewhere"}},
        ],
        "edges": [edge("first", "cancel"), edge("cancel", "after"), edge("cancel", "elsewhere")],
    }
    scope = await env.new_run(graph)
    token = probes.tokens[scope.run_id] = CancelToken()
    result = await env.executor.execute(validated(env, graph), scope, cancel=token)
    assert result.status == "cancelled"
    assert result.total_cost == 5
    assert {node_id: report.status for node_id, report in result.nodes.items()} == {
        "first": "completed",
        "cancel": "completed",
        "after": "skipped",
        "elsewhere": "skipped",
    }
    assert (probes.calls["first"], probes.calls["after"], probes.calls["elsewhere"]) == (1, 0, 0)
    stored = await rows(env, scope.run_id)
    assert {node_id: (row.status, row.cost) for node_id, row in stored.items()} == {
        "first": ("completed", 3),
        "cancel": ("completed", 2),
    }


@pytest.mark.anyio
async def test_a_running_node_stops_cooperatively_on_cancel(env: EngineEnv, probes: ProbeState) -> None:
    graph = {
        "nodes": [
            {"id": "waiter", "type": "probe.wait_for_cancel", "inputs": {"name": "waiter"}},
            {"id": "canceller", "type": "probe.cancel_run", "inputs": {"after": "waiter"}},
            {"id": "after", "type": "probe.count", "inputs": {"tag": "after"}},
        ],
        "edges": [edge("waiter", "after")],
    }
    scope = await env.new_run(graph)
    token = probes.tokens[scope.run_id] = CancelToken()
    result = await env.executor.execute(validated(env, graph), scope, cancel=token)
    assert result.status == "cancelled"
    assert result.nodes["waiter"].status == "cancelled"
    assert result.nodes["after"].status == "skipped"
    assert probes.calls["wait_for_cancel_finished"] == 0
    stored = await rows(env, scope.run_id)
    assert (stored["waiter"].status, stored["waiter"].cost, stored["waiter"].outputs) == ("cancelled", 0, None)
    assert stored["canceller"].status == "completed"


@pytest.mark.anyio
async def test_resume_skips_completed_nodes(env: EngineEnv, probes: ProbeState) -> None:
    graph = {
        "nodes": [
            {"id": "first", "type": "probe.count", "inputs": {"value": 2, "price": 3, "tag": "first"}},
            {"id": "stop", "type": "probe.cancel_run", "inputs": {"price": 1}},
            {"id": "last", "type": "math.add", "inputs": {"b": 10}},
        ],
        "edges": [edge("first", "stop"), edge("stop", "last", "a")],
    }
    scope = await env.new_run(graph)
    probes.tokens[scope.run_id] = CancelToken()
    interrupted = await env.executor.execute(validated(env, graph), scope, cancel=probes.tokens[scope.run_id])
    assert interrupted.status == "cancelled"

    probes.tokens[scope.run_id] = CancelToken()  # a re-delivered run gets a fresh token
    resumed = await env.executor.execute(validated(env, graph), scope, cancel=probes.tokens[scope.run_id])
    assert resumed.status == "completed"
    assert (probes.calls["first"], probes.calls["cancel_run"]) == (1, 1)
    assert resumed.nodes["first"].resumed
    assert resumed.nodes["stop"].resumed
    assert not resumed.nodes["last"].resumed
    assert resumed.outputs["last"].value == 12.0
    assert resumed.total_cost == 4
    assert {row.status for row in (await rows(env, scope.run_id)).values()} == {"completed"}


@pytest.mark.anyio
async def test_failed_node_is_retried_on_resume_and_its_row_replaced(env: EngineEnv, probes: ProbeState) -> None:
    graph = {
        "nodes": [
            {"id": "ok", "type": "probe.count", "inputs": {"tag": "ok", "value": 5}},
            {"id": "flaky", "type": "probe.fail", "inputs": {"mode": "flaky", "tag": "flaky"}},
            {"id": "after", "type": "math.add", "inputs": {"b": 1}},
        ],
        "edges": [edge("ok", "flaky"), edge("flaky", "after", "a")],
    }
    scope = await env.new_run(graph)
    failed = await env.executor.execute(validated(env, graph), scope)
    assert failed.status == "failed"
    assert failed.error is not None
    assert (failed.error["code"], failed.error["node_id"]) == ("NODE_FAILED", "flaky")
    assert "secret" not in failed.error["message"]
    assert failed.nodes["after"].status == "skipped"
    stored = await rows(env, scope.run_id)
    assert stored["flaky"].status == "failed"
    assert stored["flaky"].error == failed.error
    assert "after" not in stored

    retried = await env.executor.execute(validated(env, graph), scope)
    assert retried.status == "completed"
    assert (probes.calls["ok"], probes.calls["flaky"]) == (1, 2)
    assert retried.outputs["after"].value == 6.0
    stored = await rows(env, scope.run_id)
    assert (stored["flaky"].status, stored["flaky"].error, stored["flaky"].outputs) == (
        "completed",
        None,
        {"value": 5.0},
    )


@pytest.mark.anyio
async def test_catalogue_error_of_a_node_keeps_its_code(env: EngineEnv, probes: ProbeState) -> None:
    graph = {"nodes": [{"id": "bad", "type": "probe.fail", "inputs": {"mode": "pixelmill"}}]}
    scope = await env.new_run(graph)
    result = await env.executor.execute(validated(env, graph), scope)
    row = (await rows(env, scope.run_id))["bad"]
    assert row.error == {
        "code": "PROVIDER_ERROR",
        "message": "The upstream provider said no",
        "node_id": "bad",
        "field": "model",
    }
    assert result.error == row.error
