"""Credits of runs: the hold at create, one settlement at the end, test keys that never spend."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.runs import TERMINAL, books, grant, node, run_entries, wait_for

PRICE = 7


def priced_graph(value: float = 0.0) -> dict[str, object]:
    return {"nodes": [node("s", "test.sleep", seconds=0.01, price=PRICE, value=value)], "edges": []}


def test_fifty_concurrent_creates_against_ten_runs_of_credit_accept_exactly_ten(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 10 * PRICE)

    async def create_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=str(api.base_url), timeout=60) as client:
            return await asyncio.gather(
                *[
                    client.post("/v1/runs", json={"graph": priced_graph(index)}, headers=account.headers)
                    for index in range(50)
                ]
            )

    responses = asyncio.run(create_all())
    assert Counter(response.status_code for response in responses) == {201: 10, 402: 40}
    for refused in (r for r in responses if r.status_code == 402):
        error = refused.json()["error"]
        assert error["code"] == "INSUFFICIENT_CREDITS"
        assert error["required"] == PRICE
        assert 0 <= error["available"] < PRICE
        assert error["available"] <= error["balance"] <= 10 * PRICE  # the balance counts what is held
    accepted = [r.json()["run_id"] for r in responses if r.status_code == 201]
    for run_id in accepted:
        assert wait_for(api, account.headers, run_id, until=TERMINAL)["status"] == "completed"
        assert run_entries(settings.resolved_database_url, run_id) == [("hold", PRICE), ("capture", PRICE)]
    ledger = books(settings.resolved_database_url, account.workspace_id)
    assert ledger.audit == ledger.wallet
    assert ledger.wallet.balance + ledger.wallet.reserved + ledger.sums["capture"] == ledger.sums["grant"]
    assert (ledger.wallet.balance, ledger.wallet.reserved, ledger.sums["capture"]) == (0, 0, 10 * PRICE)
    listed = api.get("/v1/runs", params={"limit": 100}, headers=account.headers).json()["data"]
    assert sorted(item["run_id"] for item in listed) == sorted(accepted)


def test_insufficient_credits_is_402_with_balance_and_required(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, PRICE - 1)
    response = api.post("/v1/runs", json={"graph": priced_graph()}, headers=account.headers)
    assert response.status_code == 402
    body = response.json()
    assert (body["error"]["code"], body["error"]["balance"], body["error"]["available"], body["error"]["required"]) == (
        "INSUFFICIENT_CREDITS",
        PRICE - 1,
        PRICE - 1,
        PRICE,
    )
    assert body["detail"] == body["error"]["message"]
    assert api.get("/v1/runs", headers=account.headers).json()["data"] == []


def test_a_test_key_runs_sandbox_nodes_without_spending_and_is_refused_anything_else(
    api: httpx.Client, settings: Settings
) -> None:
    tester = seed_account(settings.resolved_database_url, mode="test")
    grant(settings.resolved_database_url, tester.workspace_id, 5)
    graph = {
        "nodes": [
            node("img", "image.generate", prompt="sandbox", size="64x64", model="local/procedural"),
            node("s", "test.sleep", price=100),
        ],
        "edges": [],
    }
    run = api.post("/v1/runs", json={"graph": graph}, headers={**tester.headers, "Prefer": "wait=30"}).json()
    assert (run["status"], run["mode"], run["credits_reserved"], run["credits_used"]) == ("completed", "test", 0, 0)
    assert all(item["credits"] == 0 for item in run["nodes"])
    assert run_entries(settings.resolved_database_url, run["run_id"]) == []

    remote = {"nodes": [node("r", "test.remote")], "edges": []}
    refused = api.post("/v1/runs", json={"graph": remote}, headers=tester.headers)
    assert refused.status_code == 403
    assert (refused.json()["error"]["code"], refused.json()["error"]["node_id"]) == ("SANDBOX_ONLY", "r")
    unknown = {"nodes": [node("g", "image.generate", prompt="x", model="nowhere/none")], "edges": []}
    answer = api.post("/v1/runs", json={"graph": unknown}, headers=tester.headers).json()["error"]
    assert (answer["code"], answer["node_id"], answer["field"]) == ("INVALID_INPUT", "g", "model")
    ledger = books(settings.resolved_database_url, tester.workspace_id)
    assert (ledger.wallet.balance, ledger.wallet.reserved, ledger.sums) == (5, 0, {"grant": 5})
