"""Monthly plan credits on real SQLite and PostgreSQL: once per workspace and month, however many sweep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from pixelmill.config import Settings
from pixelmill.runtime import Runtime
from pixelmill.services.credits import CreditLedger
from pixelmill.services.plan_credits import grant_due_plan_credits
from tests.support.accounts import seed_account, seed_account_async
from tests.support.server import start_server

NOVEMBER = datetime(2026, 11, 21, 12, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)


@pytest.mark.anyio
async def test_each_workspace_gets_its_plan_credits_once_a_month(runtime: Runtime) -> None:
    pro = await seed_account_async(runtime.db, plan="pro")
    business = await seed_account_async(runtime.db, plan="business")
    settings = runtime.settings

    results = await asyncio.gather(*(grant_due_plan_credits(runtime.db, settings, NOVEMBER) for _ in range(4)))
    assert sum(results) == 2  # four concurrent sweeps, one grant per workspace
    assert await grant_due_plan_credits(runtime.db, settings, NOVEMBER) == 0
    assert await grant_due_plan_credits(runtime.db, settings, DECEMBER) == 2

    async with runtime.db.session() as session:
        ledger = CreditLedger(session)
        assert (await ledger.wallet(pro.workspace_id)).balance == 2 * settings.plans["pro"].monthly_credits
        assert (await ledger.wallet(business.workspace_id)).balance == 2 * settings.plans["business"].monthly_credits
        notes = [entry.note for entry in await ledger.entries(pro.workspace_id)]
        assert notes == ["pro plan credits for 2026-12", "pro plan credits for 2026-11"]
        assert await ledger.audit(pro.workspace_id) == await ledger.wallet(pro.workspace_id)


def test_the_server_grants_due_credits_when_it_starts(settings: Settings) -> None:
    account = seed_account(settings.resolved_database_url, plan="pro")
    server = start_server(settings.model_copy(update={"plan_credits_enabled": True}))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(100):
                wallet = client.get("/v1/credits/wallet", headers=account.headers).json()
                if wallet["balance"]:
                    break
                asyncio.run(asyncio.sleep(0.05))
    finally:
        server.stop()
    assert wallet["balance"] == settings.plans["pro"].monthly_credits
