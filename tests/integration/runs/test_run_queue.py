"""The queue with one execution slot: queue_position matches the order runs are claimed in, priority
from the plan (capped), round-robin across workspaces, and the per-workspace queued-run cap."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pixelmill.config import Settings
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.run_nodes import GATES
from tests.support.runs import TERMINAL, books, grant, node, wait_for


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, worker_concurrency=1)


def _create(api: httpx.Client, account: SeededAccount, graph: dict[str, object], **extra: object) -> str:
    response = api.post("/v1/runs", json={"graph": graph, **extra}, headers=account.headers)
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def test_queue_position_is_the_order_runs_are_claimed_in(
    api: httpx.Client, account: SeededAccount, other: SeededAccount
) -> None:
    quick = {"nodes": [node("s", "test.sleep")], "edges": []}
    blocker = _create(api, account, {"nodes": [node("g", "test.gate", name="queue-order")]})
    assert GATES.wait_arrived("queue-order")  # the only execution slot is taken by this workspace
    first, second, third = (_create(api, account, quick) for _ in range(3))
    low = _create(api, account, quick, priority=1)
    theirs = _create(api, other, quick, priority=10)  # capped at the pro plan's 5

    def position(run_id: str, who: SeededAccount) -> int:
        body = api.get(f"/v1/runs/{run_id}", headers=who.headers).json()
        assert body["status"] == "queued"
        value: int = body["queue_position"]
        return value

    # The other workspace has not been served yet, so its run goes first; priority 1 goes last.
    assert api.get(f"/v1/runs/{theirs}", headers=other.headers).json()["priority"] == 5
    assert api.get(f"/v1/runs/{low}", headers=account.headers).json()["priority"] == 1
    assert [position(theirs, other), *(position(r, account) for r in (first, second, third, low))] == [0, 1, 2, 3, 4]
    listed = api.get("/v1/runs", params={"status": "queued"}, headers=account.headers).json()["data"]
    assert {item["run_id"]: item["queue_position"] for item in listed} == {first: 1, second: 2, third: 3, low: 4}
    assert api.get(f"/v1/runs/{blocker}", headers=account.headers).json()["queue_position"] is None

    GATES.open("queue-order")
    started = {}
    for run_id, who in ((theirs, other), (first, account), (second, account), (third, account), (low, account)):
        body = wait_for(api, who.headers, run_id, until=TERMINAL)
        assert body["status"] == "completed"
        started[run_id] = body["started_at"]
    assert sorted(started, key=started.__getitem__) == [theirs, first, second, third, low]


def test_a_full_queue_answers_429_too_many_jobs_with_retry_after(api: httpx.Client, settings: Settings) -> None:
    tiny = seed_account(settings.resolved_database_url, plan="tiny")  # one running, three queued
    grant(settings.resolved_database_url, tiny.workspace_id, 100)
    graph = {"nodes": [node("s", "test.sleep", price=2)], "edges": []}
    _create(api, tiny, {"nodes": [node("g", "test.gate", name="queue-full")]})
    assert GATES.wait_arrived("queue-full")
    queued = [_create(api, tiny, graph) for _ in range(3)]
    refused = api.post("/v1/runs", json={"graph": graph}, headers=tiny.headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "TOO_MANY_JOBS"
    assert int(refused.headers["Retry-After"]) > 0
    assert len(api.get("/v1/runs", headers=tiny.headers).json()["data"]) == 4
    ledger = books(settings.resolved_database_url, tiny.workspace_id)
    assert (ledger.wallet.reserved, ledger.sums["hold"]) == (6, 6)  # the refused run held nothing

    GATES.open("queue-full")
    for run_id in queued:
        assert wait_for(api, tiny.headers, run_id, until=TERMINAL)["status"] == "completed"
    assert _create(api, tiny, graph)
