"""Cancel: a queued run at once, a running one before its next node, executed costs kept once."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.run_nodes import GATES
from tests.support.runs import TERMINAL, books, chain, executions, grant, node, run_entries, wait_for


def test_cancel_mid_run_starts_no_further_node_and_captures_executed_costs_once(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    graph = chain(
        node("a", "test.sleep", price=3, value=1),
        node("b", "test.gate", name="cancel-mid", price=5),
        node("c", "test.sleep", price=7),
        node("d", "test.sleep", price=11),
    )
    run_id = api.post("/v1/runs", json={"graph": graph}, headers=account.headers).json()["run_id"]
    assert GATES.wait_arrived("cancel-mid")
    cancelled_at = datetime.now(UTC)
    assert api.post(f"/v1/runs/{run_id}/cancel", headers=account.headers).json() == {"ok": True}
    # The node already running is not interrupted (it ignores cancel); the run waits for it.
    assert api.get(f"/v1/runs/{run_id}", headers=account.headers).json()["status"] == "running"
    assert api.post(f"/v1/runs/{run_id}/cancel", headers=account.headers).json() == {"ok": True}
    GATES.open("cancel-mid")
    run = wait_for(api, account.headers, run_id, until=TERMINAL)

    assert (run["status"], run["error"], run["credits_reserved"], run["credits_used"]) == ("cancelled", None, 26, 8)
    assert {item["node_id"]: item["status"] for item in run["nodes"]} == {
        "a": "completed",
        "b": "completed",
        "c": "skipped",
        "d": "skipped",
    }
    rows = executions(settings.resolved_database_url, run_id)
    assert set(rows) == {"a", "b"}
    assert all(row.started_at is not None and row.started_at < cancelled_at for row in rows.values())
    assert run_entries(settings.resolved_database_url, run_id) == [("hold", 26), ("capture", 8), ("release", 18)]
    ledger = books(settings.resolved_database_url, account.workspace_id)
    assert (ledger.wallet.balance, ledger.wallet.reserved) == (92, 0)
    assert ledger.audit == ledger.wallet

    again = api.post(f"/v1/runs/{run_id}/cancel", headers=account.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "RUN_NOT_CANCELLABLE"


def test_cancelling_a_queued_run_releases_its_whole_hold_at_once(api: httpx.Client, settings: Settings) -> None:
    tiny = seed_account(settings.resolved_database_url, plan="tiny")  # one run at a time
    grant(settings.resolved_database_url, tiny.workspace_id, 20)
    blocker = api.post(
        "/v1/runs", json={"graph": {"nodes": [node("g", "test.gate", name="cancel-queued")]}}, headers=tiny.headers
    ).json()["run_id"]
    assert GATES.wait_arrived("cancel-queued")
    waiting = api.post(
        "/v1/runs", json={"graph": {"nodes": [node("s", "test.sleep", price=5)]}}, headers=tiny.headers
    ).json()["run_id"]
    assert api.get(f"/v1/runs/{waiting}", headers=tiny.headers).json()["queue_position"] == 0

    assert api.post(f"/v1/runs/{waiting}/cancel", headers=tiny.headers).json() == {"ok": True}
    run = api.get(f"/v1/runs/{waiting}", headers=tiny.headers).json()
    assert (run["status"], run["credits_used"], run["queue_position"], run["started_at"]) == (
        "cancelled",
        0,
        None,
        None,
    )
    assert run["completed_at"] is not None
    assert run_entries(settings.resolved_database_url, waiting) == [("hold", 5), ("release", 5)]

    GATES.open("cancel-queued")
    assert wait_for(api, tiny.headers, blocker, until=TERMINAL)["status"] == "completed"
    assert executions(settings.resolved_database_url, waiting) == {}
    assert api.post(f"/v1/runs/{waiting}/cancel", headers=tiny.headers).status_code == 409
