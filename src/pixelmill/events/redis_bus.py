"""Live events across processes: committed records on Redis pub/sub, fanned out to this process's streams.

Publishing. ``publish`` runs in the ``after_commit`` hook of the transaction that wrote the events, so
it must neither block nor fail: it serialises the records into one message on a bounded queue, and a
background task sends what is queued with pipelined PUBLISH. When the queue is full or Redis does not
answer, the message is dropped, logged once per outage and counted in
``pixelmill_event_publish_dropped_total``. Nothing is lost for good: the event table is the replay
source, and subscribers catch up from it (below), so a lost message costs latency only.

Subscribing. An API process runs one subscriber task (``start``) that feeds a :class:`LocalEventBus`
whose listeners are the SSE streams of this process. Its own events come back through Redis as well,
so every record reaches the streams by one path, in one order. A worker only publishes.

Order. A stream's start (subscribe, replay the table, then drop live ids at or below the last one it
sent; see :mod:`pixelmill.events.sse`) is sound only if each workspace's live records arrive in id
order without gaps. One process publishes in commit order, two do not: worker A commits event 9 of a
workspace, worker B commits event 10 of it a moment later, and B's PUBLISH can reach Redis first; a
stream handed 10 and then 9 would drop 9. So the subscriber re-sequences each watched workspace
against the table. It keeps the last id it saw per workspace; on a message for a workspace some
stream watches, it reads that workspace's ids between the last one and the newest received (an
index-only query), fetches the rows no message carried (late or lost), and delivers them all in id
order, never an id at or below the last. This is sound because one workspace's events commit in id
order (the advisory lock in :mod:`pixelmill.events.log`; SQLite has one writer): once an id is
visible, every smaller id of its workspace is too, so nothing can appear below the last id later.

A workspace with no last id yet (no message seen since this process started, or since an outage)
starts from its newest event created ``START_MARGIN`` before the first stream watching it opened:
those committed before the stream opened (a replaying stream has them; a fresh one is not owed them),
and everything after is delivered. The margin bounds how long an event-writing transaction may take
between writing its events and committing, plus the clock skew between hosts. The price: right after
this process starts (or Redis comes back), a stream opened without ``Last-Event-ID`` may first get
events of its workspace up to that margin old.

Recovery. Every ``catch_up_seconds`` (the SSE heartbeat) and after every (re)subscription, the
watched workspaces are read past their last id, so a live message lost while Redis was up is late by
at most that long; while Redis is unreachable they are read every ``POLL_WHILE_DOWN`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from pixelmill.db.base import utcnow
from pixelmill.db.models.events import RunEvent
from pixelmill.db.session import Database
from pixelmill.events.bus import Listener, LocalEventBus
from pixelmill.events.log import to_record
from pixelmill.events.metrics import EVENTS_PUBLISH_DROPPED, EVENTS_RECOVERED
from pixelmill.events.types import EventRecord

log = logging.getLogger("pixelmill.events")

PUBLISH_QUEUE = 10_000  # messages (one per committed transaction) waiting for Redis
PUBLISH_BATCH = 256  # messages sent in one pipeline
FLUSH_SECONDS = 2.0  # how long close() waits for queued messages to go out
POLL_WHILE_DOWN = 1.0
START_MARGIN = timedelta(seconds=60)
FORGET_AFTER = 600.0  # seconds a workspace nobody watches keeps its last id
REDIS_TIMEOUT = 2.0
PAGE = 500


def encode(records: Sequence[EventRecord]) -> bytes:
    """One pub/sub message: the records a transaction committed."""
    return json.dumps(
        [
            {
                "id": record.id,
                "workspace_id": record.workspace_id,
                "run_id": record.run_id,
                "name": record.name,
                "data": record.data,
                "created_at": record.created_at.isoformat(),
            }
            for record in records
        ],
        separators=(",", ":"),
    ).encode()


def decode(payload: bytes | str) -> list[EventRecord]:
    return [
        EventRecord(
            int(item["id"]),
            str(item["workspace_id"]),
            str(item["run_id"]),
            item["name"],
            dict(item["data"]),
            datetime.fromisoformat(item["created_at"]),
        )
        for item in json.loads(payload)
    ]


def _redis(url: str) -> Any:
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)


class RedisEventBus:
    """Publishes committed records on a Redis channel; its subscriber feeds this process's streams."""

    def __init__(self, redis_url: str, db: Database, *, channel: str, catch_up_seconds: float) -> None:
        self.redis_url = redis_url
        self.db = db
        self.channel = channel
        self.catch_up_seconds = catch_up_seconds
        self.local = LocalEventBus()
        self._queue: asyncio.Queue[bytes] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._subscriber: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()  # set once the first subscription succeeded or failed
        self._closed = False
        self._publish_failing = False
        # Per workspace: the last id seen (delivered when watched), and when it was last updated.
        self._last: dict[str, int] = {}
        self._touched: dict[str, float] = {}
        self._watched_since: dict[str, datetime] = {}

    # -- the EventBus protocol ---------------------------------------------------------------------

    def subscribe(self, workspace_id: str, *, run_id: str | None = None, maxsize: int = 256) -> Listener:
        self._watched_since.setdefault(workspace_id, utcnow())
        return self.local.subscribe(workspace_id, run_id=run_id, maxsize=maxsize)

    def unsubscribe(self, listener: Listener) -> None:
        self.local.unsubscribe(listener)

    def publish(self, records: Sequence[EventRecord]) -> None:
        """Queue ``records`` for Redis; never blocks (called right after the commit)."""
        if not records:
            return
        if self._closed:
            EVENTS_PUBLISH_DROPPED.labels("closed").inc()
            return
        if self._queue is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # a commit outside any event loop: nothing could send it
                EVENTS_PUBLISH_DROPPED.labels("no_loop").inc()
                return
            self._queue = asyncio.Queue(PUBLISH_QUEUE)
            self._publisher = loop.create_task(self._publish_loop(), name="event-publisher")
        try:
            self._queue.put_nowait(encode(records))
        except asyncio.QueueFull:
            EVENTS_PUBLISH_DROPPED.labels("queue_full").inc()
            self._warn_publish("the live event queue is full (%d messages); dropping", PUBLISH_QUEUE)

    async def start(self) -> None:
        """Subscribe, then keep feeding the local listeners until close. Returns once the first attempt
        ended: with Redis unreachable the process serves anyway and its streams poll the table."""
        if self._subscriber is not None:
            return
        self._subscriber = asyncio.create_task(self._receive_loop(), name="event-subscriber")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REDIS_TIMEOUT * 2):
                await self._first_attempt.wait()

    async def close(self) -> None:
        """Send what is queued (for up to ``FLUSH_SECONDS``), then stop both tasks."""
        self._closed = True
        if self._queue is not None and self._publisher is not None and not self._publisher.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_SECONDS):
                    await self._queue.join()
        for task in (self._publisher, self._subscriber):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._publisher = self._subscriber = None

    @property
    def listener_count(self) -> int:
        return self.local.listener_count

    # -- publishing --------------------------------------------------------------------------------

    def _warn_publish(self, message: str, *args: object) -> None:
        if not self._publish_failing:
            self._publish_failing = True
            log.warning(message, *args)

    async def _publish_loop(self) -> None:
        assert self._queue is not None
        queue = self._queue
        client = _redis(self.redis_url)
        backoff = 0.1
        try:
            while True:
                batch = [await queue.get()]
                while len(batch) < PUBLISH_BATCH and not queue.empty():
                    batch.append(queue.get_nowait())
                try:
                    async with client.pipeline(transaction=False) as pipe:
                        for message in batch:
                            pipe.publish(self.channel, message)
                        await pipe.execute()
                    if self._publish_failing:
                        self._publish_failing = False
                        log.info("publishing live events on Redis works again")
                    backoff = 0.1
                except Exception as exc:  # Redis down or refusing: the table still has every event
                    EVENTS_PUBLISH_DROPPED.labels("redis_error").inc(len(batch))
                    self._warn_publish("publishing live events on Redis failed (%s); dropping until it answers", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                finally:
                    for _ in batch:
                        queue.task_done()
        finally:
            await client.aclose()

    # -- subscribing -------------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        down = False
        while True:
            client = _redis(self.redis_url)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                if down:
                    log.info("the live event subscription on Redis is back")
                    self._forget_unwatched(older_than=0.0)  # their last ids missed the outage
                down = False
                self._first_attempt.set()
                await self._catch_up()
                await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not down:
                    log.warning("the live event subscription on Redis failed (%s); polling the event log", exc)
                down = True
                self._first_attempt.set()
                await self._catch_up()
                await asyncio.sleep(POLL_WHILE_DOWN)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _listen(self, pubsub: Any) -> None:
        next_catch_up = time.monotonic() + self.catch_up_seconds
        while True:
            wait = min(1.0, max(0.0, next_catch_up - time.monotonic()))
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            records: list[EventRecord] = []
            while message is not None:
                if message.get("type") == "message":
                    try:
                        records += decode(message["data"])
                    except (ValueError, KeyError, TypeError):
                        log.warning("ignoring a malformed live event message on %s", self.channel)
                if len(records) >= PAGE:
                    break
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
            if records:
                await self._deliver(records)
            if time.monotonic() >= next_catch_up:
                await self._catch_up()
                self._forget_unwatched(older_than=FORGET_AFTER)
                next_catch_up = time.monotonic() + self.catch_up_seconds

    def _forget_unwatched(self, *, older_than: float) -> None:
        watched = self.local.workspace_ids
        cutoff = time.monotonic() - older_than
        for workspace_id in [w for w, at in self._touched.items() if at <= cutoff and w not in watched]:
            self._last.pop(workspace_id, None)
            self._touched.pop(workspace_id, None)
        for workspace_id in [w for w in self._watched_since if w not in watched]:
            del self._watched_since[workspace_id]

    def _seen(self, workspace_id: str, event_id: int) -> None:
        self._last[workspace_id] = max(self._last.get(workspace_id, 0), event_id)
        self._touched[workspace_id] = time.monotonic()

    async def _deliver(self, records: Iterable[EventRecord]) -> None:
        """Hand received records to the local listeners, re-sequenced per watched workspace."""
        by_workspace: dict[str, dict[int, EventRecord]] = defaultdict(dict)
        for record in records:
            by_workspace[record.workspace_id][record.id] = record
        watched = self.local.workspace_ids
        for workspace_id, received in by_workspace.items():
            if workspace_id not in watched:
                self._seen(workspace_id, max(received))
                continue
            try:
                await self._fill(workspace_id, received)
            except Exception:
                # The last id stays where it was, so the next catch-up delivers these from the table.
                log.exception("re-sequencing live events of %s failed", workspace_id)

    async def _catch_up(self) -> None:
        """Read every watched workspace past its last id (what late or lost messages did not bring)."""
        for workspace_id in self.local.workspace_ids:
            try:
                await self._fill(workspace_id, {})
            except Exception:
                log.exception("catching up live events of %s from the event log failed", workspace_id)

    async def _fill(self, workspace_id: str, received: dict[int, EventRecord]) -> None:
        """Deliver ``workspace_id``'s events after its last id, in order: ``received`` up to its newest
        id plus whatever the table has in between; with nothing received, all the table has."""
        last = self._last.get(workspace_id)
        if last is None:
            last = await self._start_id(workspace_id)
            self._seen(workspace_id, last)
        upto = max(received) if received else None
        while upto is None or last < upto:
            async with self.db.sessions() as session:
                where = [RunEvent.workspace_id == workspace_id, RunEvent.id > last]
                if upto is not None:
                    where.append(RunEvent.id <= upto)
                ids = list(await session.scalars(select(RunEvent.id).where(*where).order_by(RunEvent.id).limit(PAGE)))
                missing = [event_id for event_id in ids if event_id not in received]
                fetched: dict[int, EventRecord] = {}
                if missing:
                    rows = await session.scalars(select(RunEvent).where(RunEvent.id.in_(missing)))
                    fetched = {row.id: to_record(row) for row in rows}
            found = (received.get(event_id) or fetched.get(event_id) for event_id in ids)
            batch = [record for record in found if record is not None]  # a row purged meanwhile is skipped
            EVENTS_RECOVERED.inc(len(fetched))
            if batch:
                self.local.publish(batch)
                last = batch[-1].id
                self._seen(workspace_id, last)
            if len(ids) < PAGE:
                return

    async def _start_id(self, workspace_id: str) -> int:
        """Where a newly watched workspace starts: its newest event from before ``START_MARGIN`` ahead
        of the first open stream watching it (see the module docstring)."""
        since = self._watched_since.get(workspace_id, utcnow())
        async with self.db.sessions() as session:
            newest = await session.scalar(
                select(func.max(RunEvent.id)).where(
                    RunEvent.workspace_id == workspace_id, RunEvent.created_at < since - START_MARGIN
                )
            )
        return int(newest or 0)
