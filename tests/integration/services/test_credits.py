"""The credit ledger on real SQLite and PostgreSQL: holds never overspend, settlement adds up."""

from __future__ import annotations

import asyncio

import pytest

from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.credits import CreditLedger
from tests.support.accounts import seed_account_async

pytestmark = pytest.mark.anyio


async def _workspace_with(runtime: Runtime, credits: int) -> str:
    account = await seed_account_async(runtime.db)
    async with runtime.db.session() as session:
        await CreditLedger(session).grant(account.workspace_id, credits, "test grant")
    return account.workspace_id


async def test_hold_refuses_when_short_and_names_balance_and_required(runtime: Runtime) -> None:
    workspace = await _workspace_with(runtime, 7)
    with pytest.raises(PixelmillError) as caught:
        async with runtime.db.session() as session:
            await CreditLedger(session).hold(workspace, 8, "run_x")
    assert caught.value.code == "INSUFFICIENT_CREDITS"
    assert caught.value.extra == {"balance": 7, "available": 7, "required": 8}
    async with runtime.db.session() as session:
        assert (await CreditLedger(session).wallet(workspace)).reserved == 0


async def test_a_refused_hold_names_the_balance_and_what_is_available_beside_it(runtime: Runtime) -> None:
    """``balance`` is the balance (granted minus spent); what other runs hold is not in it."""
    workspace = await _workspace_with(runtime, 7)
    async with runtime.db.session() as session:
        await CreditLedger(session).hold(workspace, 5, "run_a")
    with pytest.raises(PixelmillError) as caught:
        async with runtime.db.session() as session:
            await CreditLedger(session).hold(workspace, 3, "run_b")
    assert caught.value.extra == {"balance": 7, "available": 2, "required": 3}
    assert caught.value.message == "Insufficient credits: 2 available (balance 7, 5 reserved), 3 required"


async def test_concurrent_holds_never_overspend(runtime: Runtime) -> None:
    workspace = await _workspace_with(runtime, 50)

    async def try_hold(index: int) -> str:
        try:
            async with runtime.db.session() as session:
                await CreditLedger(session).hold(workspace, 5, f"run_{index}")
        except PixelmillError as exc:
            return exc.code
        return "accepted"

    outcomes = await asyncio.gather(*(try_hold(i) for i in range(50)))
    assert sorted(set(outcomes)) == ["INSUFFICIENT_CREDITS", "accepted"]
    assert outcomes.count("accepted") == 10
    async with runtime.db.session() as session:
        ledger = CreditLedger(session)
        wallet = await ledger.wallet(workspace)
        assert (wallet.balance, wallet.reserved, wallet.available) == (50, 50, 0)
        assert await ledger.audit(workspace) == wallet


async def test_settle_captures_used_and_releases_the_rest(runtime: Runtime) -> None:
    workspace = await _workspace_with(runtime, 100)
    async with runtime.db.session() as session:
        await CreditLedger(session).hold(workspace, 30, "run_a")
    async with runtime.db.session() as session:
        await CreditLedger(session).settle(workspace, "run_a", held=30, used=12)
    async with runtime.db.session() as session:
        ledger = CreditLedger(session)
        wallet = await ledger.wallet(workspace)
        assert (wallet.balance, wallet.reserved) == (88, 0)
        assert await ledger.audit(workspace) == wallet
        kinds = [(entry.kind, entry.amount) for entry in await ledger.entries(workspace)]
        assert kinds == [("release", 18), ("capture", 12), ("hold", 30), ("grant", 100)]


async def test_grant_must_be_positive(runtime: Runtime) -> None:
    workspace = await _workspace_with(runtime, 1)
    with pytest.raises(PixelmillError) as caught:
        async with runtime.db.session() as session:
            await CreditLedger(session).grant(workspace, 0)
    assert caught.value.code == "VALIDATION_ERROR"


async def test_ledger_pages_newest_first(runtime: Runtime) -> None:
    workspace = await _workspace_with(runtime, 10)
    async with runtime.db.session() as session:
        for amount in (1, 2, 3):
            await CreditLedger(session).grant(workspace, amount)
    async with runtime.db.session() as session:
        ledger = CreditLedger(session)
        first = await ledger.entries(workspace, limit=2)
        second = await ledger.entries(workspace, before_id=first[-1].id, limit=2)
    assert [e.amount for e in first] == [3, 2]
    assert [e.amount for e in second] == [1, 10]
