"""ima2's in-flight jobs on real runs (SQLite and PostgreSQL): listing with its filters, cancel through
``DELETE /api/inflight/{requestId}``, recent terminal jobs, the two checks the generation routes make
before creating a job, and workspaces kept apart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pixelmill.api.dialects.ima2.errors import FLAT
from pixelmill.api.dialects.ima2.inflight import active_jobs, ensure_job_slot, ensure_request_id_free
from pixelmill.api.dialects.ima2.submit import queue
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.auth import Authenticator
from pixelmill.services.runs import RunService
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import SeededAccount, seed_account, seed_account_async
from tests.support.ima2_jobs import create_job, image_graph, job, sleep_graph
from tests.support.run_nodes import GATES, use_run_nodes
from tests.support.runs import grant
from tests.support.server import LiveServer


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url)


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[httpx.Client]:
    use_run_nodes(live_server.app.state.runtime)
    grant(settings.resolved_database_url, account.workspace_id, 100)
    with httpx.Client(base_url=live_server.url, headers=account.headers, timeout=30) as client:
        yield client
    GATES.reset()


def _wait_status(client: httpx.Client, run_id: str, statuses: set[str], timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"run {run_id} stayed {body['status']}"
        time.sleep(0.05)


def test_active_jobs_filters_cancel_and_terminal(
    client: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    long_a = create_job(settings, account, job("freq_a", sessionId="s_1", model="gpt-5.4"), sleep_graph(20))
    long_b = create_job(settings, account, job("nreq_b", "node", sessionId="s_2", clientNodeId="c1"), sleep_graph(20))
    plain = create_job(settings, account, None, sleep_graph(20))  # not an ima2 job: never listed
    for run_id in (long_a, long_b):
        _wait_status(client, run_id, {"running"})

    listed = client.get("/api/inflight")
    assert listed.status_code == 200, listed.text
    assert set(listed.json()) == {"jobs"}
    jobs = {item["requestId"]: item for item in listed.json()["jobs"]}
    assert set(jobs) == {"freq_a", "nreq_b"}
    first = jobs["freq_a"]
    assert first["kind"] == "classic"
    assert first["prompt"] == "a lighthouse at dusk"
    assert first["phase"] == "streaming"
    assert isinstance(first["startedAt"], int)
    assert first["phaseAt"] >= first["startedAt"]
    assert first["meta"]["sessionId"] == "s_1"
    assert first["meta"]["model"] == "gpt-5.4"
    assert jobs["nreq_b"]["meta"]["clientNodeId"] == "c1"

    assert [j["requestId"] for j in client.get("/api/inflight", params={"kind": "node"}).json()["jobs"]] == ["nreq_b"]
    by_session = client.get("/api/inflight", params={"sessionId": "s_1"}).json()["jobs"]
    assert [j["requestId"] for j in by_session] == ["freq_a"]

    cancelled = client.delete("/api/inflight/freq_a")
    assert cancelled.json() == {"requestId": "freq_a", "active": True, "aborted": True}
    assert _wait_status(client, long_a, {"cancelled", "completed", "failed"})["status"] == "cancelled"
    assert client.delete("/api/inflight/freq_a").json() == {"requestId": "freq_a", "active": False, "aborted": False}
    assert client.delete("/api/inflight/req_unknown").json()["active"] is False

    done = create_job(settings, account, job("freq_c"), image_graph())
    _wait_status(client, done, {"completed"})

    answer = client.get("/api/inflight", params={"includeTerminal": "1"}).json()
    assert [j["requestId"] for j in answer["jobs"]] == ["nreq_b"]
    terminal = {item["requestId"]: item for item in answer["terminalJobs"]}
    assert set(terminal) == {"freq_a", "freq_c"}
    assert terminal["freq_a"]["status"] == "canceled"
    assert terminal["freq_a"]["httpStatus"] == 499
    assert terminal["freq_a"]["errorCode"] == "GENERATION_CANCELED"
    assert "prompt" not in terminal["freq_a"]
    finished = terminal["freq_c"]
    assert (finished["status"], finished["httpStatus"], finished["errorCode"]) == ("completed", 200, None)
    assert finished["meta"]["imageCount"] == 1
    assert finished["finishedAt"] >= finished["startedAt"]
    assert finished["durationMs"] == finished["finishedAt"] - finished["startedAt"]

    for run_id in (long_b, plain):
        client.post(f"/v1/runs/{run_id}/cancel")


def test_another_workspace_neither_sees_nor_cancels(
    client: httpx.Client, account: SeededAccount, settings: Settings, live_server: LiveServer
) -> None:
    mine = create_job(settings, account, job("freq_mine"), sleep_graph(20))
    _wait_status(client, mine, {"running"})
    other = seed_account(settings.resolved_database_url)
    with httpx.Client(base_url=live_server.url, headers=other.headers, timeout=30) as theirs:
        assert theirs.get("/api/inflight", params={"includeTerminal": "1"}).json() == {"jobs": [], "terminalJobs": []}
        refused = theirs.delete("/api/inflight/freq_mine").json()
        assert refused == {"requestId": "freq_mine", "active": False, "aborted": False}
    assert client.get(f"/v1/runs/{mine}").json()["status"] == "running"
    client.post(f"/v1/runs/{mine}/cancel")


def _body(exc: PixelmillError) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = FLAT.response(exc)
    return response.status_code, json.loads(bytes(response.body)), dict(response.headers)


@pytest.mark.anyio
async def test_request_id_in_use_and_job_slot(runtime: Runtime) -> None:
    # No dispatcher runs here, so created runs stay queued: active jobs.
    use_run_nodes(runtime)
    mine = await seed_account_async(runtime.db)
    other = await seed_account_async(runtime.db)
    authenticator = Authenticator(runtime.db, runtime.settings.secret, runtime.auth_cache)
    principal = await authenticator.authenticate(mine.key)
    async with runtime.db.session() as session:
        for request_id in ("req_1", "req_2"):
            metadata = job(request_id).to_metadata()
            await RunService(session, runtime).create(principal, sleep_graph(1), metadata=metadata)
        await RunService(session, runtime).create(principal, sleep_graph(1))  # not ima2: not counted

    async with runtime.db.session() as session:
        with pytest.raises(PixelmillError) as taken:
            await ensure_request_id_free(session, mine.workspace_id, "req_1")
        status, body, _ = _body(taken.value)
        assert status == 409
        assert body == {"error": "Request req_1 is still running", "code": "REQUEST_ID_IN_USE", "requestId": "req_1"}
        await ensure_request_id_free(session, mine.workspace_id, "req_3")
        await ensure_request_id_free(session, other.workspace_id, "req_1")  # another workspace's ids are free

        await ensure_job_slot(session, mine.workspace_id, 3, "req_3")
        with pytest.raises(PixelmillError) as full:
            await ensure_job_slot(session, mine.workspace_id, 2, "req_3")
        status, body, headers = _body(full.value)
        assert status == 429
        assert headers["retry-after"] == "5"
        assert body == {"error": "Too many concurrent generation jobs", "code": "TOO_MANY_JOBS", "requestId": "req_3"}
        await ensure_job_slot(session, other.workspace_id, 1)


@pytest.mark.anyio
async def test_concurrent_submits_cannot_both_pass_the_checks(runtime: Runtime) -> None:
    """Each submit checks, then creates: without the workspace's create lock around both, requests
    arriving together all read "no such job" and all create one."""
    use_run_nodes(runtime)
    mine = await seed_account_async(runtime.db)
    authenticator = Authenticator(runtime.db, runtime.settings.secret, runtime.auth_cache)
    principal = await authenticator.authenticate(mine.key)

    async def submit(request_id: str) -> str:
        try:
            async with runtime.db.session() as session:
                await queue(session, runtime, principal, job(request_id), sleep_graph(1), model_id="local/procedural")
        except PixelmillError as exc:
            return exc.spec.code
        return "queued"

    same = await asyncio.gather(*(submit("req_same") for _ in range(6)))
    assert sorted(same) == ["REQUEST_ID_IN_USE"] * 5 + ["queued"]
    limit = runtime.settings.ima2_max_parallel
    spread = await asyncio.gather(*(submit(f"req_{n}") for n in range(limit + 4)))
    assert spread.count("queued") == limit - 1  # req_same holds one slot
    assert spread.count("TOO_MANY_JOBS") == 5
    async with runtime.db.session() as session:
        assert len(await active_jobs(session, mine.workspace_id)) == limit
