"""The operator's routes over HTTP on SQLite and PostgreSQL: only an operator sees them (anyone else
gets 404), workspaces with their owner and wallet, accounts, plans, a plan change, a credit grant."""

from __future__ import annotations

import httpx
import pytest

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account


@pytest.fixture
def operator(settings: Settings) -> SeededAccount:
    return seed_account(settings.resolved_database_url, plan="operator", operator=True)


def test_only_an_operator_reaches_the_operator_routes(api: httpx.Client, account: SeededAccount) -> None:
    for method, path, body in [
        ("GET", "/v1/operator/workspaces", None),
        ("GET", "/v1/operator/users", None),
        ("GET", "/v1/operator/plans", None),
        ("PUT", f"/v1/operator/workspaces/{account.workspace_id}/plan", {"plan": "business"}),
        ("POST", f"/v1/operator/workspaces/{account.workspace_id}/credits", {"amount": 5}),
    ]:
        response = api.request(method, path, json=body, headers=account.headers)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    me = api.get("/v1/auth/me", headers=account.headers).json()
    assert me["workspace"]["plan"] == "pro"  # nothing changed
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 0


def test_an_operator_lists_workspaces_and_users(
    api: httpx.Client, account: SeededAccount, operator: SeededAccount
) -> None:
    workspaces = api.get("/v1/operator/workspaces", headers=operator.headers).json()
    mine = next(ws for ws in workspaces["data"] if ws["id"] == account.workspace_id)
    assert mine["owner_email"] == account.email
    assert mine["plan"] == "pro"
    assert mine["members"] == 1
    assert mine["kind"] == "personal"
    users = api.get("/v1/operator/users", headers=operator.headers).json()
    by_email = {u["email"]: u for u in users["data"]}
    assert by_email[account.email]["personal_workspace_id"] == account.workspace_id
    assert by_email[account.email]["is_operator"] is False
    assert by_email[operator.email]["is_operator"] is True

    first = api.get("/v1/operator/users", params={"limit": 1}, headers=operator.headers).json()
    assert len(first["data"]) == 1
    rest = api.get("/v1/operator/users", params={"cursor": first["next_cursor"]}, headers=operator.headers).json()
    assert [u["id"] for u in first["data"] + rest["data"]] == [u["id"] for u in users["data"]]


def test_an_operator_changes_a_plan_and_grants_credits(
    api: httpx.Client, account: SeededAccount, operator: SeededAccount, settings: Settings
) -> None:
    plans = api.get("/v1/operator/plans", headers=operator.headers).json()["data"]
    assert [p["name"] for p in plans] == list(settings.plans)

    changed = api.put(
        f"/v1/operator/workspaces/{account.workspace_id}/plan", json={"plan": "business"}, headers=operator.headers
    )
    assert changed.status_code == 200
    assert changed.json()["plan"] == "business"
    assert api.get("/v1/auth/me", headers=account.headers).json()["workspace"]["plan"] == "business"

    granted = api.post(
        f"/v1/operator/workspaces/{account.workspace_id}/credits",
        json={"amount": 250, "note": "support gesture"},
        headers=operator.headers,
    )
    assert granted.status_code == 200
    assert granted.json()["balance"] == 250
    ledger = api.get("/v1/credits/ledger", headers=account.headers).json()["data"]
    assert [(e["kind"], e["amount"], e["note"]) for e in ledger] == [("grant", 250, "support gesture")]


def test_bad_operator_input_is_refused_and_writes_nothing(
    api: httpx.Client, account: SeededAccount, operator: SeededAccount
) -> None:
    unknown_plan = api.put(
        f"/v1/operator/workspaces/{account.workspace_id}/plan", json={"plan": "platinum"}, headers=operator.headers
    )
    assert unknown_plan.status_code == 422
    assert unknown_plan.json()["error"]["code"] == "VALIDATION_ERROR"
    negative = api.post(
        f"/v1/operator/workspaces/{account.workspace_id}/credits", json={"amount": -5}, headers=operator.headers
    )
    assert negative.status_code == 422
    missing = api.post("/v1/operator/workspaces/ws_unknown/credits", json={"amount": 5}, headers=operator.headers)
    assert missing.status_code == 404
    assert api.get("/v1/auth/me", headers=account.headers).json()["workspace"]["plan"] == "pro"
    assert api.get("/v1/credits/ledger", headers=account.headers).json()["data"] == []
