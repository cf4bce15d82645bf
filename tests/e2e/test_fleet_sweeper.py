"""The fleet sweeper in a real worker process object, on PostgreSQL with a Redis broker: what it
publishes and when, counted in the broker's own queue lists, and the election of one sweeper."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import update

from pixelmill.config import Settings
from pixelmill.db.models import Run
from pixelmill.dispatch.celery_app import create_celery
from pixelmill.dispatch.celery_worker import SWEEPER_LOCK, WorkerProcess, deferral_seconds
from pixelmill.dispatch.claims import RunClaims
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal
from pixelmill.services.runs import RunService
from tests.support.accounts import seed_account
from tests.support.databases import PostgresTemplate
from tests.support.fleet import BROKER_REDIS_URL, SECRET_KEY, STATE_REDIS_URL, purge_broker
from tests.support.runs import grant
from tests.support.services import require_service

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REPUBLISH_AFTER = 1.0


@pytest.fixture
def settings(tmp_path: Path, postgres_template: PostgresTemplate) -> Settings:
    require_service("Redis", "127.0.0.1", 6379)
    purge_broker(BROKER_REDIS_URL)
    return Settings(
        data_dir=tmp_path / "data",
        database_url=postgres_template.fresh(),
        secret_key=SECRET_KEY,
        dispatch="celery",
        broker_url=BROKER_REDIS_URL,
        redis_url=STATE_REDIS_URL,
        events_channel=f"pixelmill-fleet-test:{tmp_path.name}",
        republish_after_seconds=REPUBLISH_AFTER,
        sweep_seconds=3600,  # the loop sweeps once at start; the test calls sweep() itself
        lease_seconds=60,
        plan_credits_enabled=False,
        log_format="text",
    )


@pytest.fixture
def worker(settings: Settings) -> Iterator[WorkerProcess]:
    app = create_celery(settings)
    process = WorkerProcess(settings, app)
    process.start()
    time.sleep(0.5)  # past the loop's first sweep
    yield process
    process.stop()
    process.loop.close()
    app.close()


def _published() -> int:
    """Messages waiting in the broker's lists of the cpu queue (one list per priority step)."""
    client = redis.Redis.from_url(BROKER_REDIS_URL)
    try:
        return sum(int(client.llen(key)) for key in client.scan_iter("pixelmill.cpu*"))
    finally:
        client.close()


def _create_runs(settings: Settings, count: int) -> list[str]:
    """Runs committed as queued through the service an API uses, with nobody publishing them."""
    account = seed_account(settings.resolved_database_url, plan="operator")
    grant(settings.resolved_database_url, account.workspace_id, 100)
    graph = {"nodes": [{"id": "sum", "type": "math.add", "inputs": {"a": 1, "b": 2}}], "edges": []}

    async def create() -> list[str]:
        runtime = Runtime.create(settings.model_copy(update={"dispatch": "local", "redis_url": None}))
        try:
            principal = Principal(workspace_id=account.workspace_id, plan="operator", key_id=account.key_id)
            ids = []
            for _ in range(count):
                async with runtime.db.session() as session:
                    ids.append((await RunService(session, runtime).create(principal, graph)).id)
            return ids
        finally:
            await runtime.close()

    return asyncio.run(create())


def _sweep(worker: WorkerProcess) -> list[str]:
    return asyncio.run_coroutine_threadsafe(worker.sweep(), worker.loop).result(timeout=30)


def _in_loop(worker: WorkerProcess, work: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(work, worker.loop).result(timeout=30)


def test_the_sweeper_republishes_a_waiting_run_once_per_interval_not_on_every_sweep(
    settings: Settings, worker: WorkerProcess
) -> None:
    run_ids = _create_runs(settings, 3)
    assert (_sweep(worker), _published()) == ([], 0)  # too young: an API's own publish may be on its way
    time.sleep(REPUBLISH_AFTER + 0.1)
    assert sorted(_sweep(worker)) == sorted(run_ids)
    assert _published() == 3
    for _ in range(3):
        assert _sweep(worker) == []
    assert _published() == 3
    time.sleep(REPUBLISH_AFTER + 0.1)
    assert sorted(_sweep(worker)) == sorted(run_ids)
    assert _published() == 6


def test_a_run_whose_lease_lapsed_is_requeued_and_published_at_once(settings: Settings, worker: WorkerProcess) -> None:
    [run_id] = _create_runs(settings, 1)
    time.sleep(REPUBLISH_AFTER + 0.1)
    assert _sweep(worker) == [run_id]  # the waiting run, published once
    runtime = worker.runtime
    assert runtime is not None
    dead = RunClaims(runtime.db, settings, "a-worker-that-died", runtime.run_hooks)
    claimed = _in_loop(worker, dead.claim_run(run_id))
    assert claimed is not None
    assert claimed.attempt == 1

    async def lapse() -> None:
        async with runtime.db.session() as session:
            await session.execute(update(Run).where(Run.id == run_id).values(lease_expires_at=Run.created_at))

    _in_loop(worker, lapse())
    # Published moments ago, yet a re-queued run goes out at once: its earlier message is spent.
    assert _sweep(worker) == [run_id]
    assert _published() == 2


def test_only_one_worker_holds_the_sweeper_lock_and_another_takes_over_when_it_lapses(settings: Settings) -> None:
    app = create_celery(settings)
    first, second = WorkerProcess(settings, app), WorkerProcess(settings, app)

    async def election() -> list[bool]:
        from redis.asyncio import Redis

        client: Any = Redis.from_url(STATE_REDIS_URL)
        try:
            turns = [await first._elected(client, 300), await second._elected(client, 300)]
            turns.append(await first._elected(client, 300))  # the holder keeps it
            await asyncio.sleep(0.4)  # the holder stops renewing (it died): the lock lapses
            turns.append(await second._elected(client, 300))
            turns.append(await first._elected(client, 300))
            assert (await client.get(SWEEPER_LOCK)).decode() == second.owner
            return turns
        finally:
            await client.aclose()

    try:
        assert asyncio.run(election()) == [True, False, True, True, False]
    finally:
        first.loop.close()
        second.loop.close()
        app.close()


def test_a_deferred_run_is_retried_sooner_first_and_handed_to_the_sweeper_after_the_republish_interval() -> None:
    countdowns = [deferral_seconds(retries, 30) for retries in range(12)]
    assert countdowns[:6] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    waited = [countdown for countdown in countdowns if countdown is not None]
    assert sum(waited[:-1]) < 30 <= sum(waited)
    assert countdowns[len(waited) :] == [None] * (12 - len(waited))
