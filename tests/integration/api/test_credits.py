"""Credits over HTTP: the wallet and ledger reflect the ledger service; packages come from settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from pixelmill.config import Settings
from pixelmill.db.models import Run
from pixelmill.db.session import Database
from pixelmill.services.credits import CreditLedger
from tests.support.accounts import SeededAccount, seed_account


def _grant(settings: Settings, workspace_id: str, amount: int) -> None:
    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                await CreditLedger(session).grant(workspace_id, amount, "operator grant")
        finally:
            await db.dispose()

    asyncio.run(run())


def test_wallet_shows_granted_credits(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    _grant(settings, account.workspace_id, 40)
    response = api.get("/v1/credits/wallet", headers=account.headers)
    assert response.status_code == 200
    assert response.json() == {"workspace_id": account.workspace_id, "balance": 40, "reserved": 0, "available": 40}


def test_ledger_is_paginated_newest_first(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    for amount in (1, 2, 3):
        _grant(settings, account.workspace_id, amount)
    first = api.get("/v1/credits/ledger", params={"limit": 2}, headers=account.headers).json()
    assert [e["amount"] for e in first["data"]] == [3, 2]
    second = api.get(
        "/v1/credits/ledger", params={"limit": 2, "cursor": first["next_cursor"]}, headers=account.headers
    ).json()
    assert [e["amount"] for e in second["data"]] == [1]
    assert second["next_cursor"] is None


def test_wallets_are_scoped_to_the_workspace(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    other = seed_account(settings.resolved_database_url)
    _grant(settings, other.workspace_id, 99)
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 0


def test_packages_come_from_configuration(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    packages = api.get("/v1/credits/packages", headers=account.headers).json()
    assert [p["id"] for p in packages] == [p.id for p in settings.credit_packages]


def test_credits_need_authentication(api: httpx.Client) -> None:
    response = api.get("/v1/credits/wallet")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


def _spend(settings: Settings, workspace_id: str, run_id: str, model: str, used: int) -> None:
    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                session.add(
                    Run(
                        id=run_id,
                        workspace_id=workspace_id,
                        kind="generation",
                        graph={},
                        run_metadata={"model_name": model},
                    )
                )
                await CreditLedger(session).grant(workspace_id, used, "operator grant")
                await CreditLedger(session).hold(workspace_id, used, run_id)
            async with db.session() as session:
                await CreditLedger(session).settle(workspace_id, run_id, held=used, used=used)
        finally:
            await db.dispose()

    asyncio.run(run())


def test_usage_groups_spending_by_model_and_day(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    _spend(settings, account.workspace_id, "run_usage_1", "flux-schnell", 4)
    _spend(settings, account.workspace_id, "run_usage_2", "flux-schnell", 3)
    _spend(settings, account.workspace_id, "run_usage_3", "sdxl", 5)
    by_model = api.get("/v1/credits/usage", params={"group_by": "model"}, headers=account.headers)
    assert by_model.status_code == 200
    body = by_model.json()
    assert body["group_by"] == "model"
    assert body["total"] == 12
    assert body["data"] == [
        {"key": "flux-schnell", "credits": 7, "runs": 2},
        {"key": "sdxl", "credits": 5, "runs": 1},
    ]
    by_day = api.get("/v1/credits/usage", headers=account.headers).json()
    assert by_day["group_by"] == "day"
    assert by_day["data"] == [{"key": datetime.now(UTC).date().isoformat(), "credits": 12, "runs": 3}]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.get("/v1/credits/usage", params={"since": later}, headers=account.headers).json()["data"] == []


def test_usage_refuses_an_unknown_grouping(api: httpx.Client, account: SeededAccount) -> None:
    response = api.get("/v1/credits/usage", params={"group_by": "hour"}, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_usage_refuses_a_since_that_is_not_iso_8601(api: httpx.Client, account: SeededAccount) -> None:
    response = api.get("/v1/credits/usage", params={"since": "0.5"}, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert api.get("/v1/credits/usage", params={"since": "2026-01-01"}, headers=account.headers).status_code == 200
