"""The dispatchers leave runs queued while a node of their process waits for memory: the embedded
claim loop claims none, and a fleet worker's named claim is deferred (the run stays queued)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pixelmill.config import Settings
from pixelmill.db.models import Run
from pixelmill.dispatch.local import LocalDispatcher, MemoryBusy
from pixelmill.runtime import Runtime
from pixelmill.services.credits import CreditLedger
from pixelmill.services.principal import Principal
from pixelmill.services.runs import RunService, wait_for_terminal
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import seed_account_async
from tests.support.run_nodes import use_run_nodes
from tests.support.runs import node

pytestmark = pytest.mark.anyio

BUDGET = 64 * 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, memory_budget_bytes=BUDGET)


async def queued_run(runtime: Runtime) -> str:
    use_run_nodes(runtime)
    account = await seed_account_async(runtime.db)
    async with runtime.db.session() as session:
        await CreditLedger(session).grant(account.workspace_id, 10)
    principal = Principal(workspace_id=account.workspace_id, plan="pro", user_id=account.user_id, key_id=account.key_id)
    graph = {"nodes": [node("s", "test.sleep", seconds=0.01, value=1)], "edges": []}
    async with runtime.db.session() as session:
        run = await RunService(session, runtime).create(principal, graph)
    return run.id


async def status(runtime: Runtime, run_id: str) -> str:
    async with runtime.db.session() as session:
        run = await session.get(Run, run_id)
        assert run is not None
        return run.status


async def occupy(dispatcher: LocalDispatcher) -> asyncio.Task[None]:
    """Hold the whole budget and queue one more reservation behind it: a node waiting for memory."""
    assert dispatcher.memory.try_reserve(BUDGET)
    waiter = asyncio.create_task(dispatcher.memory.reserve(1))
    await asyncio.sleep(0.01)
    assert dispatcher.memory.waiting == 1
    return waiter


async def test_a_fleet_worker_defers_a_named_run_while_a_node_waits_for_memory(runtime: Runtime) -> None:
    dispatcher = LocalDispatcher(runtime, owner="worker")
    await dispatcher.start(claim_queued=False)
    try:
        run_id = await queued_run(runtime)
        waiter = await occupy(dispatcher)
        with pytest.raises(MemoryBusy):
            await asyncio.wait_for(dispatcher.execute_named(run_id), 5)
        assert await status(runtime, run_id) == "queued"
        dispatcher.memory.release(BUDGET)
        await waiter
        dispatcher.memory.release(1)
        assert await dispatcher.execute_named(run_id)
        assert await status(runtime, run_id) == "completed"
    finally:
        await dispatcher.stop()


async def test_the_embedded_claim_loop_claims_nothing_while_a_node_waits_for_memory(runtime: Runtime) -> None:
    dispatcher = LocalDispatcher(runtime, owner="embedded")
    await dispatcher.start()
    try:
        waiter = await occupy(dispatcher)
        run_id = await queued_run(runtime)
        dispatcher.signals.run_queued()
        await asyncio.sleep(3 * runtime.settings.dispatch_poll_seconds)
        assert await status(runtime, run_id) == "queued"
        dispatcher.memory.release(BUDGET)
        await waiter
        dispatcher.memory.release(1)
        dispatcher.signals.run_queued()
        assert await wait_for_terminal(runtime, run_id, 20)
        assert await status(runtime, run_id) == "completed"
    finally:
        await dispatcher.stop()
