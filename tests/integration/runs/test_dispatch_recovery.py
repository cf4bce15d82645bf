"""The local dispatcher's recovery and graceful stop, on SQLite and PostgreSQL.

A dead process is played by real parts: the claim statement run under another owner's name and the
executor stopped after the first node, leaving the run ``running`` behind a lease nobody renews.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from pixelmill.config import Settings
from pixelmill.db.models import LedgerEntry, NodeExecution, Run
from pixelmill.dispatch.claims import RunClaims
from pixelmill.dispatch.local import LocalDispatcher
from pixelmill.dispatch.recovery import requeue_abandoned
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.events import NodeEvent
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import validate_graph
from pixelmill.runtime import Runtime
from pixelmill.services.credits import CreditLedger
from pixelmill.services.principal import Principal
from pixelmill.services.runs import RunService, wait_for_terminal
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import seed_account_async
from tests.support.run_nodes import GATES, use_run_nodes
from tests.support.runs import chain, node

pytestmark = pytest.mark.anyio

LEASE_SECONDS = 1.0


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, lease_seconds=LEASE_SECONDS)


@pytest.fixture(autouse=True)
def open_gates() -> object:
    yield None
    GATES.reset()


async def _principal(runtime: Runtime) -> Principal:
    account = await seed_account_async(runtime.db)
    async with runtime.db.session() as session:
        await CreditLedger(session).grant(account.workspace_id, 100)
    return Principal(workspace_id=account.workspace_id, plan="pro", user_id=account.user_id, key_id=account.key_id)


async def _create(runtime: Runtime, principal: Principal, gate: str) -> str:
    graph = chain(
        node("a", "test.sleep", price=3, value=1),
        node("b", "test.gate", name=gate, price=5),
        node("c", "test.sleep", price=7),
    )
    async with runtime.db.session() as session:
        run = await RunService(session, runtime).create(principal, graph)
    return run.id


async def _state(runtime: Runtime, run_id: str) -> tuple[Run, dict[str, NodeExecution]]:
    async with runtime.db.session() as session:
        run = await session.get(Run, run_id)
        rows = await session.scalars(select(NodeExecution).where(NodeExecution.run_id == run_id))
        assert run is not None
        return run, {row.node_id: row for row in rows}


async def _ledger(runtime: Runtime, run_id: str, workspace_id: str) -> tuple[list[tuple[str, int]], bool]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(LedgerEntry.kind, LedgerEntry.amount).where(LedgerEntry.run_id == run_id).order_by(LedgerEntry.id)
        )
        ledger = CreditLedger(session)
        balanced = await ledger.audit(workspace_id) == await ledger.wallet(workspace_id)
        return [(kind, int(amount)) for kind, amount in rows.all()], balanced


async def _die_after_first_node(runtime: Runtime, principal: Principal, run_id: str) -> None:
    """The process that dies: it claims the run, finishes node a, and is gone before node b starts."""
    (claimed,) = await RunClaims(runtime.db, runtime.settings, "dead-host:1:0").claim(1, {})
    assert claimed.id == run_id
    token = CancelToken()

    async def stop_after_a(event: NodeEvent) -> None:
        if event.kind == "node_complete" and event.node_id == "a":
            token.cancel()

    graph = validate_graph(claimed.graph, runtime.nodes, runtime.settings)
    with GraphExecutor(settings=runtime.settings, store=SqlResultStore(runtime.db)) as executor:
        partial = await executor.execute(
            graph, RunScope(run_id, principal.workspace_id), cancel=token, listener=stop_after_a
        )
    assert partial.status == "cancelled"


async def test_a_run_abandoned_by_a_dead_process_resumes_after_its_finished_nodes(runtime: Runtime) -> None:
    use_run_nodes(runtime)
    principal = await _principal(runtime)
    run_id = await _create(runtime, principal, "abandoned")
    GATES.open("abandoned")
    await _die_after_first_node(runtime, principal, run_id)
    before, rows_before = await _state(runtime, run_id)
    assert (before.status, before.lease_owner, before.attempt, set(rows_before)) == (
        "running",
        "dead-host:1:0",
        1,
        {"a"},
    )

    await asyncio.sleep(LEASE_SECONDS + 0.1)  # PostgreSQL: only an expired lease proves the owner gone
    dispatcher = LocalDispatcher(runtime, owner="survivor")
    await dispatcher.start()
    try:
        assert await wait_for_terminal(runtime, run_id, 20)
    finally:
        await dispatcher.stop()
    after, rows_after = await _state(runtime, run_id)
    assert (after.status, after.attempt, after.credits_used, after.lease_owner) == ("completed", 2, 15, None)
    assert set(rows_after) == {"a", "b", "c"}
    assert (rows_after["a"].started_at, rows_after["a"].completed_at) == (
        rows_before["a"].started_at,
        rows_before["a"].completed_at,
    )
    assert rows_after["b"].started_at is not None
    assert rows_before["a"].completed_at is not None
    assert rows_after["b"].started_at >= rows_before["a"].completed_at
    entries, balanced = await _ledger(runtime, run_id, principal.workspace_id)
    assert entries == [("hold", 15), ("capture", 15)]
    assert balanced


async def test_a_run_past_its_last_attempt_fails_and_is_charged_for_the_nodes_it_executed(
    tmp_path: Path, database_url: str
) -> None:
    """Failing a run is settled like any failure: what executed is captured, the rest released (the
    ledger used to release the whole hold, so node a ran for free while its record said 3 credits)."""
    runtime = Runtime.create(run_settings(tmp_path, database_url, lease_seconds=LEASE_SECONDS, max_run_attempts=1))
    try:
        use_run_nodes(runtime)
        principal = await _principal(runtime)
        run_id = await _create(runtime, principal, "last-attempt")
        await _die_after_first_node(runtime, principal, run_id)
        assert await requeue_abandoned(runtime.db, owner="restarted", all_foreign=True) == [run_id]

        dispatcher = LocalDispatcher(runtime, owner="restarted")
        try:
            assert await dispatcher.execute_named(run_id)  # attempt 2 of 1: failed without executing
        finally:
            await dispatcher.stop()
        failed, rows = await _state(runtime, run_id)
        assert (failed.status, failed.attempt, failed.error and failed.error["code"]) == ("failed", 2, "INTERNAL_ERROR")
        assert {node_id: (row.status, row.cost) for node_id, row in rows.items()} == {"a": ("completed", 3)}
        assert failed.credits_used == 3
        entries, balanced = await _ledger(runtime, run_id, principal.workspace_id)
        assert entries == [("hold", 15), ("capture", 3), ("release", 12)]
        assert balanced
    finally:
        await runtime.close()


async def test_a_graceful_stop_lets_the_running_node_finish_and_hands_the_run_back(runtime: Runtime) -> None:
    use_run_nodes(runtime)
    principal = await _principal(runtime)
    first = LocalDispatcher(runtime, owner="first")
    await first.start()
    run_id = await _create(runtime, principal, "graceful")
    assert await asyncio.to_thread(GATES.wait_arrived, "graceful")
    stopping = asyncio.create_task(first.stop(grace=10))
    await asyncio.sleep(0.2)
    assert not stopping.done()  # it waits for node b, which is still running
    GATES.open("graceful")
    await stopping
    handed_back, rows = await _state(runtime, run_id)
    assert (handed_back.status, handed_back.lease_owner, handed_back.attempt) == ("queued", None, 1)
    assert {node_id: row.status for node_id, row in rows.items()} == {"a": "completed", "b": "completed"}
    assert (await _ledger(runtime, run_id, principal.workspace_id))[0] == [("hold", 15)]

    second = LocalDispatcher(runtime, owner="second")
    await second.start()
    try:
        assert await wait_for_terminal(runtime, run_id, 20)
    finally:
        await second.stop()
    done, rows_after = await _state(runtime, run_id)
    assert (done.status, done.attempt, done.credits_used) == ("completed", 2, 15)
    for node_id in ("a", "b"):
        assert rows_after[node_id].completed_at == rows[node_id].completed_at  # not executed again
    assert rows_after["c"].status == "completed"
    entries, balanced = await _ledger(runtime, run_id, principal.workspace_id)
    assert entries == [("hold", 15), ("capture", 15)]
    assert balanced


async def test_a_node_still_running_after_the_grace_period_runs_again_on_resume(runtime: Runtime) -> None:
    use_run_nodes(runtime)
    principal = await _principal(runtime)
    first = LocalDispatcher(runtime, owner="first")
    await first.start()
    run_id = await _create(runtime, principal, "too-slow")
    assert await asyncio.to_thread(GATES.wait_arrived, "too-slow")
    # The node's thread cannot be interrupted; it is let go a second after the grace period ended.
    release = threading.Timer(1.0, GATES.open, args=("too-slow",))
    release.start()
    await first.stop(grace=0.2)
    release.join()
    handed_back, rows = await _state(runtime, run_id)
    assert (handed_back.status, set(rows)) == ("queued", {"a"})

    second = LocalDispatcher(runtime, owner="second")
    await second.start()
    try:
        assert await wait_for_terminal(runtime, run_id, 20)
    finally:
        await second.stop()
    done, rows_after = await _state(runtime, run_id)
    assert (done.status, set(rows_after), done.credits_used) == ("completed", {"a", "b", "c"}, 15)
    assert rows_after["a"].completed_at == rows["a"].completed_at
