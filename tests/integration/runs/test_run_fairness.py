"""Round-robin across workspaces: a burst of 200 runs from one tenant, filling every execution slot,
delays another tenant's single run by at most one run's execution time."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from pixelmill.config import Settings
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.runs import TERMINAL, wait_for

RUN_SECONDS = 0.25
BURST = 200
# Scheduling slack beyond one run: the claim after a slot frees, an HTTP round trip, a busy CI core.
SLACK_SECONDS = 0.35


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, worker_concurrency=2)


def _graph() -> dict[str, object]:
    return {"nodes": [{"id": "s", "type": "test.sleep", "inputs": {"seconds": RUN_SECONDS}}], "edges": []}


@pytest.mark.slow
def test_a_burst_of_200_runs_delays_another_workspace_by_at_most_one_run(
    api: httpx.Client, other: SeededAccount, settings: Settings
) -> None:
    burst = seed_account(settings.resolved_database_url, plan="burst")  # two at a time: every slot

    async def create_burst() -> list[str]:
        limit = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=str(api.base_url), timeout=60) as client:

            async def one() -> str:
                async with limit:
                    response = await client.post("/v1/runs", json={"graph": _graph()}, headers=burst.headers)
                    assert response.status_code == 201, response.text
                    run_id: str = response.json()["run_id"]
                    return run_id

            return await asyncio.gather(*[one() for _ in range(BURST)])

    burst_ids = asyncio.run(create_burst())
    response = api.post("/v1/runs", json={"graph": _graph()}, headers=other.headers)
    single = wait_for(api, other.headers, response.json()["run_id"], until=TERMINAL)
    assert single["status"] == "completed"
    waited = datetime.fromisoformat(single["started_at"]) - datetime.fromisoformat(single["created_at"])
    waited_s = waited.total_seconds()
    assert waited_s <= RUN_SECONDS + SLACK_SECONDS, f"the single run waited {waited_s:.3f} s"

    behind = api.get("/v1/runs", params={"status": "queued", "limit": 100}, headers=burst.headers).json()["data"]
    assert len(behind) == 100  # the burst was still queued in front of it when it ran
    assert all(item["created_at"] < single["created_at"] for item in behind)
    assert {item["run_id"] for item in behind} <= set(burst_ids)
