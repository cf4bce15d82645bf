"""No 500 after commit, over real HTTP on SQLite and PostgreSQL: input that used to be stored and
then broke the answer (``Prefer: wait`` renders the run after its commit; ``INTERNAL_ERROR`` says
"safe to retry", so a client would run and pay again) is refused before the transaction, leaving
no run, no hold and no ledger entry behind."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlalchemy import func, select

from pixelmill.config import Settings
from pixelmill.db.models import LedgerEntry, Run
from pixelmill.db.session import Database
from pixelmill.services.credits import CreditLedger
from tests.support.accounts import SeededAccount
from tests.support.plans import unthrottled_plans

GRAPH = {"nodes": [{"id": "s", "type": "value.string", "inputs": {"value": "hello"}}], "edges": []}
WAIT = {"Prefer": "wait=5", "Content-Type": "application/json"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"plans": unthrottled_plans(), "allow_private_urls": False, "dispatch_poll_seconds": 0.2}
    )


def stored(settings: Settings, workspace_id: str) -> tuple[int, int]:
    """Runs and ledger entries of the workspace, read straight from the database."""

    async def read() -> tuple[int, int]:
        db = Database(settings.resolved_database_url)
        try:
            async with db.sessions() as session:
                runs = await session.scalar(select(func.count()).where(Run.workspace_id == workspace_id))
                entries = await session.scalar(select(func.count()).where(LedgerEntry.workspace_id == workspace_id))
                return int(runs or 0), int(entries or 0)
        finally:
            await db.dispose()

    return asyncio.run(read())


def grant(settings: Settings, workspace_id: str, amount: int) -> None:
    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                await CreditLedger(session).grant(workspace_id, amount, "test grant")
        finally:
            await db.dispose()

    asyncio.run(run())


PROVOCATIONS = {
    "run metadata nested 900 deep": ("/v1/runs", '{"graph": GRAPH, "metadata": ' + '{"a": ' * 900 + "1" + "}" * 901),
    "run metadata NaN": ("/v1/runs", '{"graph": GRAPH, "metadata": {"x": NaN}}'),
    "run metadata lone surrogate": ("/v1/runs", '{"graph": GRAPH, "metadata": {"x": "\\udc80"}}'),
    "generation project_id lone surrogate": (
        "/v1/generations",
        '{"generation_type": "infographic", "prompt": "Sales", "project_id": "\\udc80"}',
    ),
    "generation settings 1e999": (
        "/v1/generations",
        '{"generation_type": "infographic", "prompt": "Sales", "settings": {"note": [1e999]}}',
    ),
}


@pytest.mark.parametrize("name", list(PROVOCATIONS))
def test_input_that_would_break_the_answer_is_refused_before_anything_is_committed(
    api: httpx.Client, account: SeededAccount, settings: Settings, name: str
) -> None:
    grant(settings, account.workspace_id, 1000)
    before = stored(settings, account.workspace_id)
    path, body = PROVOCATIONS[name]
    response = api.post(
        path, content=body.replace("GRAPH", json.dumps(GRAPH)).encode(), headers={**account.headers, **WAIT}
    )
    assert 400 <= response.status_code < 500, f"{name}: {response.status_code} {response.text[:200]}"
    assert stored(settings, account.workspace_id) == before
    wallet = api.get("/v1/credits/wallet", headers=account.headers)
    assert wallet.status_code == 200
    assert api.get("/v1/runs", headers=account.headers).json()["data"] == []
