"""The fleet as it runs in production: ``pixelmill serve`` and ``pixelmill worker`` subprocesses on one
PostgreSQL database with Redis, once with Redis and once with RabbitMQ as the broker.

Nodes fetch their image from a fake upstream on loopback that counts requests per key, so a node
executed twice shows as a second request; ledger, events and webhooks are read back from the database
and a local receiver.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pixelmill.config import Settings
from pixelmill.db.models import LedgerEntry, NodeExecution, Run
from pixelmill.db.models.events import RunEvent
from pixelmill.db.session import Database
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal
from pixelmill.services.runs import RunService
from tests.support.accounts import SeededAccount, seed_account
from tests.support.databases import PostgresTemplate
from tests.support.fleet import BROKER_REDIS_URL, SECRET_KEY, Fleet, Upstream, running_fleet
from tests.support.runs import TERMINAL, books, executions, grant, run_entries, run_row, with_db
from tests.support.services import RABBITMQ_URL, require_service
from tests.support.sse import parse_frames

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

BROKERS = [
    pytest.param(BROKER_REDIS_URL, id="redis-broker"),
    pytest.param(RABBITMQ_URL, id="rabbitmq-broker", marks=pytest.mark.rabbitmq),
]


@pytest.fixture(params=BROKERS)
def broker_url(request: pytest.FixtureRequest) -> str:
    url: str = request.param
    require_service("Redis", "127.0.0.1", 6379)
    if url.startswith("amqp://"):
        require_service("RabbitMQ", "127.0.0.1", 5672)
    return url


@pytest.fixture
def redis_broker() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return BROKER_REDIS_URL


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def database_url(postgres_template: PostgresTemplate) -> str:
    return postgres_template.fresh()


def _fleet(tmp_path: Path, database_url: str, broker_url: str) -> Iterator[Fleet]:
    with running_fleet(tmp_path, database_url, broker_url) as fleet:
        yield fleet


@pytest.fixture
def fleet(tmp_path: Path, database_url: str, broker_url: str) -> Iterator[Fleet]:
    yield from _fleet(tmp_path, database_url, broker_url)


@pytest.fixture
def redis_fleet(tmp_path: Path, database_url: str, redis_broker: str) -> Iterator[Fleet]:
    yield from _fleet(tmp_path, database_url, redis_broker)


def _account(database_url: str, *, plan: str = "operator", credits: int = 1000) -> SeededAccount:
    account = seed_account(database_url, plan=plan)
    grant(database_url, account.workspace_id, credits)
    return account


def _image_edge(source: str, destination: str) -> dict[str, Any]:
    return {"source": {"node_id": source, "field": "image"}, "destination": {"node_id": destination, "field": "image"}}


def _fetch_graph(upstream: Upstream, key: str, *, delay: float = 0.05, group: str = "") -> dict[str, Any]:
    """Fetch an image from the upstream (one request per execution), then convert it (1 credit)."""
    return {
        "nodes": [
            {"id": "load", "type": "image.load", "inputs": {"url": upstream.image_url(key, delay=delay, group=group)}},
            {"id": "convert", "type": "image.convert", "inputs": {"format": "png"}},
        ],
        "edges": [_image_edge("load", "convert")],
    }


def _statuses(database_url: str, run_ids: list[str]) -> dict[str, Run]:
    async def work(db: Database) -> dict[str, Run]:
        async with db.sessions() as session:
            rows = await session.scalars(select(Run).where(Run.id.in_(run_ids)))
            return {row.id: row for row in rows}

    return with_db(database_url, work)


def _wait_terminal(fleet: Fleet, run_ids: list[str], timeout: float) -> dict[str, Run]:
    deadline = time.monotonic() + timeout
    while True:
        runs = _statuses(fleet.database_url, run_ids)
        if all(run.status in TERMINAL for run in runs.values()) and len(runs) == len(run_ids):
            return runs
        fleet.check_alive()
        if time.monotonic() > deadline:
            left = Counter(run.status for run in runs.values())
            raise AssertionError(f"runs still unfinished after {timeout} s: {dict(left)}")
        time.sleep(0.25)


def _event_names(database_url: str, run_ids: list[str]) -> dict[str, list[str]]:
    async def work(db: Database) -> dict[str, list[str]]:
        async with db.sessions() as session:
            rows = await session.execute(
                select(RunEvent.run_id, RunEvent.name).where(RunEvent.run_id.in_(run_ids)).order_by(RunEvent.id)
            )
            names: dict[str, list[str]] = {}
            for run_id, name in rows.all():
                names.setdefault(run_id, []).append(name)
            return names

    return with_db(database_url, work)


def _ledger_by_run(database_url: str, run_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    async def work(db: Database) -> dict[str, list[tuple[str, int]]]:
        async with db.sessions() as session:
            rows = await session.execute(
                select(LedgerEntry.run_id, LedgerEntry.kind, LedgerEntry.amount)
                .where(LedgerEntry.run_id.in_(run_ids))
                .order_by(LedgerEntry.id)
            )
            entries: dict[str, list[tuple[str, int]]] = {}
            for run_id, kind, amount in rows.all():
                entries.setdefault(str(run_id), []).append((kind, int(amount)))
            return entries

    return with_db(database_url, work)


def _node_rows(database_url: str, run_ids: list[str]) -> Counter[str]:
    async def work(db: Database) -> Counter[str]:
        async with db.sessions() as session:
            rows = await session.execute(
                select(NodeExecution.run_id, func.count())
                .where(NodeExecution.run_id.in_(run_ids), NodeExecution.status == "completed")
                .group_by(NodeExecution.run_id)
            )
            return Counter({run_id: int(count) for run_id, count in rows.all()})

    return with_db(database_url, work)


def _assert_books_balanced(database_url: str, workspace_id: str, granted: int, captured: int) -> None:
    ledger = books(database_url, workspace_id)
    assert ledger.audit == ledger.wallet
    assert ledger.sums.get("hold", 0) == ledger.sums.get("capture", 0) + ledger.sums.get("release", 0)
    assert (ledger.sums["grant"], ledger.sums.get("capture", 0)) == (granted, captured)
    assert (ledger.wallet.balance, ledger.wallet.reserved) == (granted - captured, 0)


RUNS = 200


def test_200_runs_across_two_apis_and_two_workers_complete_once_each_with_balanced_books(
    fleet: Fleet, upstream: Upstream
) -> None:
    # A lease long enough that a loaded CI machine never lets one lapse under a live worker: a lapsed
    # lease is a (fenced) second execution, which this test would report as executed twice.
    fleet.configure(lease_seconds="15", republish_after_seconds="20")
    accounts = [_account(fleet.database_url), _account(fleet.database_url)]
    apis, _workers = fleet.start(apis=2, workers=2, concurrency=8)
    started = time.monotonic()
    clients = [httpx.Client(base_url=api.url, timeout=30) for api in apis]

    def submit(index: int) -> tuple[str, str]:
        account = accounts[index // 2 % 2]
        key = f"run-{index}"
        response = clients[index % 2].post(
            "/v1/runs", json={"graph": _fetch_graph(upstream, key)}, headers=account.headers
        )
        assert response.status_code == 201, response.text
        return response.json()["run_id"], key

    try:
        with ThreadPoolExecutor(8) as pool:
            submitted = list(pool.map(submit, range(RUNS)))
    finally:
        for client in clients:
            client.close()
    run_ids = [run_id for run_id, _key in submitted]
    submitted_in = time.monotonic() - started
    runs = _wait_terminal(fleet, run_ids, timeout=60)
    print(f"{RUNS} runs: submitted in {submitted_in:.1f} s, all finished after {time.monotonic() - started:.1f} s")

    assert Counter(run.status for run in runs.values()) == {"completed": RUNS}
    assert {run.attempt for run in runs.values()} == {1}  # each claimed exactly once
    # End to end, every run's fetch reached the upstream once, and nothing else did.
    with upstream.state.lock:
        assert dict(upstream.state.requests) == {key: 1 for _run_id, key in submitted}
    assert _node_rows(fleet.database_url, run_ids) == dict.fromkeys(run_ids, 2)
    events = _event_names(fleet.database_url, run_ids)
    for run_id in run_ids:
        assert Counter(events[run_id]) == {
            "run_queued": 1,
            "run_started": 1,
            "node_start": 2,
            "node_complete": 2,
            "run_complete": 1,
        }, run_id
    ledger = _ledger_by_run(fleet.database_url, run_ids)
    assert ledger == {run_id: [("hold", 1), ("capture", 1)] for run_id in run_ids}
    for account in accounts:
        _assert_books_balanced(fleet.database_url, account.workspace_id, granted=1000, captured=RUNS // 2)


def _two_branches(upstream: Upstream, tag: str) -> dict[str, Any]:
    """Two branches, each a fetch then a convert (2 credits): ``quick`` finishes at once, ``slow``'s
    first fetch hangs long enough for the test to kill the worker executing it."""
    return {
        "nodes": [
            {"id": "quick", "type": "image.load", "inputs": {"url": upstream.image_url(f"{tag}-quick")}},
            {"id": "quick_png", "type": "image.convert", "inputs": {"format": "png"}},
            {"id": "slow", "type": "image.load", "inputs": {"url": upstream.image_url(f"{tag}-slow", first=60)}},
            {"id": "slow_png", "type": "image.convert", "inputs": {"format": "png"}},
        ],
        "edges": [_image_edge("quick", "quick_png"), _image_edge("slow", "slow_png")],
    }


def _wait_nodes_completed(database_url: str, run_id: str, nodes: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = {node_id for node_id, row in executions(database_url, run_id).items() if row.status == "completed"}
        if nodes <= done:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"nodes {sorted(nodes - done)} of {run_id} never completed")
        time.sleep(0.1)


def test_a_worker_killed_mid_run_is_replaced_without_rerunning_finished_nodes_or_doubling_credits_and_webhooks(
    fleet: Fleet, upstream: Upstream
) -> None:
    account = _account(fleet.database_url)
    apis, workers = fleet.start(apis=2, workers=2)
    hook = {"url": upstream.hook_url("killed")}
    with httpx.Client(base_url=apis[1].url, headers=account.headers, timeout=30) as client:
        response = client.post("/v1/runs", json={"graph": _two_branches(upstream, "killed"), "webhook": hook})
        assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    upstream.wait_requests("killed-slow", 1, timeout=30)
    _wait_nodes_completed(fleet.database_url, run_id, {"quick", "quick_png"}, timeout=30)
    before = executions(fleet.database_url, run_id)
    owner = run_row(fleet.database_url, run_id).lease_owner
    assert owner is not None
    victim = next(worker for worker in workers if f":{worker.pid}:" in owner)
    victim.kill9()
    assert victim.process.returncode == -9

    run = _wait_terminal(fleet, [run_id], timeout=60)[run_id]
    assert (run.status, run.error, run.attempt) == ("completed", None, 2)
    # The finished branch was not executed again: one fetch, the very same node records.
    assert upstream.requests("killed-quick") == 1
    assert upstream.requests("killed-slow") == 2  # the interrupted fetch, then the survivor's
    after = executions(fleet.database_url, run_id)
    assert {node_id: row.status for node_id, row in after.items()} == dict.fromkeys(
        ["quick", "quick_png", "slow", "slow_png"], "completed"
    )
    for node_id in ("quick", "quick_png"):
        assert (after[node_id].started_at, after[node_id].completed_at) == (
            before[node_id].started_at,
            before[node_id].completed_at,
        )
    assert run_entries(fleet.database_url, run_id) == [("hold", 2), ("capture", 2)]
    _assert_books_balanced(fleet.database_url, account.workspace_id, granted=1000, captured=2)
    # Two API processes deliver webhooks; the run's one terminal event is delivered once.
    deadline = time.monotonic() + 20
    while not upstream.hooks("killed") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)  # several delivery polls of both APIs: a second delivery would arrive by now
    delivered = upstream.hooks("killed")
    assert [(hook.body["event"], hook.body["run_id"], hook.body["status"]) for hook in delivered] == [
        ("run_complete", run_id, "completed")
    ]


def test_a_run_committed_but_never_published_is_published_by_the_sweeper(
    fleet: Fleet, upstream: Upstream, tmp_path: Path
) -> None:
    """What an API process killed between its commit and its publish leaves behind: the run committed
    as queued by the very code the API runs (RunService.create), with no publisher to hand it on."""
    account = _account(fleet.database_url)
    fleet.start(apis=0, workers=2)
    settings = Settings(
        data_dir=tmp_path / "crashed-api",
        database_url=fleet.database_url,
        secret_key=SECRET_KEY,
        allow_private_urls=True,
        dispatch="local",  # and its dispatcher is never started: nothing in this process executes runs
    )

    async def create() -> str:
        runtime = Runtime.create(settings)
        try:
            principal = Principal(workspace_id=account.workspace_id, plan="operator", key_id=account.key_id)
            async with runtime.db.session() as session:
                run = await RunService(session, runtime).create(principal, _fetch_graph(upstream, "orphan"))
            return run.id
        finally:
            await runtime.close()

    run_id = asyncio.run(create())
    run = _wait_terminal(fleet, [run_id], timeout=45)[run_id]
    assert (run.status, run.attempt) == ("completed", 1)
    assert run.started_at is not None
    # Nothing published it but the sweeper, which waits republish_after_seconds (3 s here).
    assert (run.started_at - run.created_at).total_seconds() >= 3
    assert upstream.requests("orphan") == 1
    assert run_entries(fleet.database_url, run_id) == [("hold", 1), ("capture", 1)]


def test_named_claims_keep_each_workspace_within_its_plan_concurrency(redis_fleet: Fleet, upstream: Upstream) -> None:
    """Two workers with 16 slots between them take 12 runs of a pro workspace (4 at once) and 4 of an
    operator's while every fetch is held at the upstream's gate: only 4 of the pro runs execute; the
    refused ones start once the gate opens and slots free up."""
    pro = _account(redis_fleet.database_url, plan="pro")
    other = _account(redis_fleet.database_url)
    apis, _workers = redis_fleet.start(apis=1, workers=2, concurrency=8)
    upstream.state.gate.clear()
    run_ids: list[str] = []
    with httpx.Client(base_url=apis[0].url, timeout=30) as client:
        for account, group, count in ((pro, "pro", 12), (other, "other", 4)):
            for index in range(count):
                graph = _fetch_graph(upstream, f"{group}-{index}", group=group)
                response = client.post("/v1/runs", json={"graph": graph}, headers=account.headers)
                assert response.status_code == 201, response.text
                run_ids.append(response.json()["run_id"])
    deadline = time.monotonic() + 30
    while (upstream.in_flight("pro"), upstream.in_flight("other")) != (4, 4):
        assert time.monotonic() < deadline, (upstream.in_flight("pro"), upstream.in_flight("other"))
        time.sleep(0.1)
    time.sleep(2)  # refused runs are retried meanwhile: none of them may start while 4 are held
    held = _statuses(redis_fleet.database_url, run_ids)
    upstream.state.gate.set()
    assert Counter(run.status for run in held.values() if run.id in run_ids[:12]) == {"running": 4, "queued": 8}
    runs = _wait_terminal(redis_fleet, run_ids, timeout=60)
    assert Counter(run.status for run in runs.values()) == {"completed": 16}
    assert {run.attempt for run in runs.values()} == {1}
    with upstream.state.lock:
        assert (upstream.state.most_in_flight["pro"], upstream.state.most_in_flight["other"]) == (4, 4)
        assert set(upstream.state.requests.values()) == {1}


def test_an_sse_client_on_one_api_sees_every_event_of_a_run_another_api_dispatched(
    redis_fleet: Fleet, upstream: Upstream
) -> None:
    account = _account(redis_fleet.database_url)
    (api_a, api_b), _workers = redis_fleet.start(apis=2, workers=1)
    with httpx.Client(base_url=api_b.url, headers=account.headers, timeout=30) as client:
        response = client.post("/v1/runs", json={"graph": _fetch_graph(upstream, "watched", delay=1.5)})
        assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    frames: list[tuple[int, str]] = []
    with (
        httpx.Client(base_url=api_a.url, headers=account.headers, timeout=30) as client,
        client.stream("GET", f"/v1/runs/{run_id}/events") as stream,
    ):
        assert stream.status_code == 200
        connected = _statuses(redis_fleet.database_url, [run_id])[run_id].status
        for frame in parse_frames(stream.iter_lines()):
            if frame.event is not None:
                assert frame.id is not None, frame  # every event frame carries its id, to resume from
                frames.append((frame.id, frame.event))
    assert connected in ("queued", "running")  # most of the run happened while the stream was open
    stored = _event_names(redis_fleet.database_url, [run_id])[run_id]
    assert [name for _id, name in frames] == stored
    assert stored[-1] == "run_complete"
    assert [event_id for event_id, _name in frames] == sorted({event_id for event_id, _name in frames})
