"""A fleet worker: Celery delivers run ids, one event loop per process executes them.

The loop runs in a thread of its own with one Runtime and one :class:`LocalDispatcher` that does not
claim from the queue itself: each ``execute_run`` task claims its named run with the same
compare-and-set and lease, and executes it with the same executor, heartbeat and finish as the
embedded dispatcher. Every worker also runs the sweeper loop, but only the holder of a Redis lock
sweeps, so exactly one is active at a time and another takes over within a lease if it dies.

A run whose workspace already executes its plan's ``concurrent_runs``, or that arrives while a node
of this worker waits for memory (:mod:`pixelmill.engine.memory`), is not claimed and stays queued:
its task is retried with a growing countdown (:func:`deferral_seconds`) for about
``republish_after_seconds``, then dropped, because by then the sweeper republishes the run anyway.
So each deferred run has about one message in flight however long it waits, rather than one more
retry chain per republish.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import Run
from pixelmill.dispatch.celery_app import EXECUTE_RUN, CeleryPublisher, create_celery
from pixelmill.dispatch.claims import ClaimDeferred
from pixelmill.dispatch.local import LocalDispatcher, default_owner
from pixelmill.dispatch.recovery import requeue_abandoned
from pixelmill.runtime import Runtime

log = logging.getLogger("pixelmill.dispatch")

SWEEPER_LOCK = "pixelmill:fleet:sweeper"
# Extend the lock's expiry only while this worker still holds it (a GET then PEXPIRE could extend a
# lock that expired in between and was taken by another worker).
_EXTEND_IF_HELD = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# A run refused for its workspace's concurrency is retried after 0.25 s, doubling up to this.
MAX_DEFERRAL_SECONDS = 5.0


def deferral_seconds(retries: int, budget: float) -> float | None:
    """The countdown of the ``retries``-th retry of a run its workspace's concurrency refused, or None
    once the retries so far have waited ``budget`` seconds in all (the sweeper takes over)."""
    steps = [min(MAX_DEFERRAL_SECONDS, 0.25 * 2 ** min(step, 10)) for step in range(retries + 1)]
    return None if sum(steps[:-1]) >= budget else steps[-1]


class WorkerProcess:
    """The long-lived parts of one worker process and the loop thread they live on."""

    def __init__(self, settings: Settings, app: Any) -> None:
        self.settings = settings
        self.app = app
        self.owner = default_owner()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="pixelmill-worker-loop", daemon=True)
        self.runtime: Runtime | None = None
        self.dispatcher: LocalDispatcher | None = None
        self.publisher: CeleryPublisher | None = None
        self._sweeper: asyncio.Task[None] | None = None
        # Run id -> when the sweeper last republished it, so a backlog is republished once per
        # ``republish_after_seconds`` rather than on every sweep.
        self._republished: dict[str, float] = {}

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result()

    async def _start(self) -> None:
        self.runtime = Runtime.create(self.settings)
        self.publisher = CeleryPublisher(self.app, self.runtime.nodes, self.runtime.providers)
        self.dispatcher = LocalDispatcher(self.runtime, owner=self.owner)
        await self.dispatcher.start(claim_queued=False)
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="pixelmill-sweeper")

    def stop(self) -> None:
        """Graceful: running runs get the grace period, then go back to the queue."""
        if self.runtime is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    async def _stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self.runtime is not None:
            await self.runtime.close()

    def execute(self, run_id: str) -> bool:
        """Claim and execute ``run_id`` (blocking the calling Celery thread until it ends); raises
        :class:`~pixelmill.dispatch.claims.ClaimDeferred` when the run's workspace is at its
        concurrency or a node here waits for memory (the run stays queued)."""
        dispatcher = self.dispatcher
        assert dispatcher is not None, "the worker process was not started"
        limit = self.settings.run_time_limit_seconds
        work = asyncio.wait_for(dispatcher.execute_named(run_id), limit)
        try:
            return asyncio.run_coroutine_threadsafe(work, self.loop).result()
        except TimeoutError:
            log.error("run %s passed the %d s time limit; its lease will lapse", run_id, limit)
            return False

    # -- the sweeper -------------------------------------------------------------------------------

    def _lock_url(self) -> str | None:
        if self.settings.redis_url:
            return self.settings.redis_url
        broker = self.settings.broker_url or ""
        return broker if broker.startswith(("redis://", "rediss://")) else None

    async def _sweep_loop(self) -> None:
        url = self._lock_url()
        if url is None:
            log.warning("no Redis configured: this worker cannot take part in the sweeper election")
            return
        from redis.asyncio import Redis

        redis: Any = Redis.from_url(url)
        hold_ms = int(max(self.settings.sweep_seconds * 3, self.settings.lease_seconds) * 1000)
        try:
            while True:
                try:
                    if await self._elected(redis, hold_ms):
                        await self.sweep()
                except Exception:
                    log.exception("the fleet sweep failed; retrying")
                await asyncio.sleep(self.settings.sweep_seconds)
        finally:
            await redis.aclose()

    async def _elected(self, redis: Any, hold_ms: int) -> bool:
        """Take or keep the sweeper lock; only its holder sweeps."""
        if await redis.set(SWEEPER_LOCK, self.owner, nx=True, px=hold_ms):
            return True
        return bool(await redis.eval(_EXTEND_IF_HELD, 1, SWEEPER_LOCK, self.owner, hold_ms))

    async def sweep(self) -> list[str]:
        """Re-queue runs whose lease lapsed, then publish every queued run no worker has taken for
        ``republish_after_seconds`` (a publish lost with an API process, or a re-queued run).
        Publishing a run twice is harmless: only one claim of it succeeds."""
        runtime, publisher = self.runtime, self.publisher
        assert runtime is not None
        assert publisher is not None
        requeued = await requeue_abandoned(runtime.db, owner=self.owner, all_foreign=False, hooks=runtime.run_hooks)
        cutoff = utcnow() - timedelta(seconds=self.settings.republish_after_seconds)
        async with runtime.db.sessions() as session:
            rows = (
                await session.execute(
                    select(Run.id, Run.priority, Run.graph).where(
                        Run.status == "queued", (Run.created_at < cutoff) | Run.id.in_(requeued)
                    )
                )
            ).all()
        now = time.monotonic()
        again = self.settings.republish_after_seconds
        previous = self._republished
        due = [row for row in rows if row[0] in requeued or now - previous.get(row[0], -math.inf) >= again]
        self._republished = {row[0]: previous.get(row[0], now) for row in rows} | {row[0]: now for row in due}
        await asyncio.to_thread(self._publish, [(row[0], row[1], row[2]) for row in due])
        return [row[0] for row in due]

    def _publish(self, runs: Sequence[tuple[str, int, dict[str, Any]]]) -> None:
        assert self.publisher is not None
        for run_id, priority, graph in runs:
            capability = self.publisher.capability(graph)
            self.publisher.publish_id(run_id, priority=priority, capability=capability)
        if runs:
            log.info("the sweeper published %d queued run(s)", len(runs))


def build_worker_app(settings: Settings) -> tuple[Any, WorkerProcess]:
    """The Celery app with the ``execute_run`` task bound to this process's WorkerProcess."""
    app = create_celery(settings)
    process = WorkerProcess(settings, app)

    @app.task(name=EXECUTE_RUN, bind=True, ignore_result=True, max_retries=None)  # type: ignore[untyped-decorator]
    def execute_run(task: Any, run_id: str) -> bool:
        try:
            return process.execute(run_id)
        except ClaimDeferred:  # its workspace is at its concurrency, or this worker's memory is taken
            countdown = deferral_seconds(task.request.retries, settings.republish_after_seconds)
            if countdown is None:
                return False  # still queued: the sweeper republishes it
            raise task.retry(countdown=countdown) from None

    return app, process
