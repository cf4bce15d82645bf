"""Usage from the ledger on real SQLite and PostgreSQL: captures summed per day and per model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from pixelmill.db.models import LedgerEntry, Run
from pixelmill.runtime import Runtime
from pixelmill.services.credits import CreditLedger, UsageBucket
from tests.support.accounts import seed_account_async

pytestmark = pytest.mark.anyio


async def _spend(runtime: Runtime, workspace: str, run_id: str, model: str | None, held: int, used: int) -> None:
    """A run as the run service leaves it: the row, a hold, then the capture and the release."""
    async with runtime.db.session() as session:
        session.add(
            Run(
                id=run_id,
                workspace_id=workspace,
                kind="generation" if model else "graph",
                graph={},
                run_metadata={"model_name": model} if model else None,
            )
        )
        await CreditLedger(session).hold(workspace, held, run_id)
    async with runtime.db.session() as session:
        await CreditLedger(session).settle(workspace, run_id, held=held, used=used)


async def _age(runtime: Runtime, run_id: str, days: int) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.run_id == run_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


async def test_usage_sums_captures_per_model_and_per_day(runtime: Runtime) -> None:
    account = await seed_account_async(runtime.db)
    workspace = account.workspace_id
    async with runtime.db.session() as session:
        await CreditLedger(session).grant(workspace, 100, "test grant")
    await _spend(runtime, workspace, "run_a", "flux-schnell", held=10, used=6)
    await _spend(runtime, workspace, "run_b", "flux-schnell", held=5, used=5)
    await _spend(runtime, workspace, "run_c", "sdxl", held=8, used=8)
    await _spend(runtime, workspace, "run_d", None, held=3, used=3)
    await _spend(runtime, workspace, "run_old", "sdxl", held=9, used=9)
    await _age(runtime, "run_c", 2)
    await _age(runtime, "run_old", 40)
    since = datetime.now(UTC) - timedelta(days=30)

    async with runtime.db.session() as session:
        by_model = await CreditLedger(session).usage(workspace, "model", since)
        by_day = await CreditLedger(session).usage(workspace, "day", since)

    # Holds and releases are not spending; the 40-day-old run is outside the window.
    assert by_model == [
        UsageBucket("flux-schnell", credits=11, runs=2),
        UsageBucket("sdxl", credits=8, runs=1),
        UsageBucket("(graph run)", credits=3, runs=1),
    ]
    today = datetime.now(UTC).date()
    assert by_day == [
        UsageBucket((today - timedelta(days=2)).isoformat(), credits=8, runs=1),
        UsageBucket(today.isoformat(), credits=14, runs=3),
    ]


async def test_usage_is_the_workspaces_own(runtime: Runtime) -> None:
    mine = await seed_account_async(runtime.db)
    other = await seed_account_async(runtime.db)
    async with runtime.db.session() as session:
        await CreditLedger(session).grant(other.workspace_id, 10, "test grant")
    await _spend(runtime, other.workspace_id, "run_other", "sdxl", held=4, used=4)
    async with runtime.db.session() as session:
        assert (
            await CreditLedger(session).usage(mine.workspace_id, "model", datetime.now(UTC) - timedelta(days=1)) == []
        )
