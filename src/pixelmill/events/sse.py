"""Server-sent event streams over the event log: replay from a cursor, then live, then (per run) close.

The order of a stream's start is what makes it gap- and duplicate-free: subscribe to the bus first
(buffering what is published meanwhile), replay the table after the cursor, then deliver the live
records, dropping those the replay already sent (id <= last replayed). Every frame carries its id,
so a client resumes with ``Last-Event-ID``. An idle stream gets a ``: ping`` comment every
``sse_heartbeat_seconds``. The response aborts a write that blocks once its listener is dropped for
falling behind, so a stalled client's connection is closed rather than held.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models.events import RunEvent
from pixelmill.db.session import Database
from pixelmill.errors import PixelmillError
from pixelmill.events.bus import Listener
from pixelmill.events.log import to_record
from pixelmill.events.metrics import LISTENERS, LISTENERS_REFUSED
from pixelmill.events.types import TERMINAL_EVENTS, EventRecord

PING = b": ping\n\n"
REPLAY_PAGE = 500
MAX_CURSOR = 2**63 - 1

Render = Callable[[EventRecord], dict[str, Any]]


def frame(event_id: int | None, name: str, data: dict[str, Any]) -> bytes:
    """One SSE frame: ``id:`` (when given), ``event:`` and a single ``data:`` JSON line."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {body}\n\n".encode()


def parse_cursor(header: str | None, query: str | None) -> int | None:
    """The resume cursor from ``Last-Event-ID`` (preferred) or ``lastEventId``; None without one."""
    raw = header if header not in (None, "") else query
    if raw is None or raw == "":
        return None
    value = raw.strip()
    if not value.isdigit() or int(value) > MAX_CURSOR:
        raise PixelmillError(
            errors.VALIDATION_ERROR, f"Last-Event-ID must be an event id (a non-negative integer), not {raw!r}"
        )
    return int(value)


class StreamSlots:
    """The per-process listener cap: a stream takes a slot before it opens and gives it back at its end."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def acquire(self, stream: str) -> None:
        if self.open >= self.limit:
            LISTENERS_REFUSED.inc()
            raise PixelmillError(
                errors.SSE_CAPACITY, f"{self.open} event streams are open, the most this server allows; retry later"
            )
        self.open += 1
        LISTENERS.labels(stream).inc()

    def release(self, stream: str) -> None:
        self.open -= 1
        LISTENERS.labels(stream).dec()


@dataclass(frozen=True, slots=True)
class StreamScope:
    """What one stream carries: a workspace's events, or one run's (closing after its terminal event)."""

    workspace_id: str
    run_id: str | None = None
    run_finished: bool = False  # the run was terminal when the stream opened: replay, then close

    def where(self) -> list[Any]:
        if self.run_id is not None:
            return [RunEvent.run_id == self.run_id, RunEvent.workspace_id == self.workspace_id]
        return [RunEvent.workspace_id == self.workspace_id]


async def replay_gap(db: Database, scope: StreamScope, cursor: int) -> dict[str, Any] | None:
    """``{"lastEventId", "oldestAvailableId"}`` when events after ``cursor`` may have been purged: the
    cursor's own event is gone and nothing at or before it is retained. None when the log is whole."""
    if cursor == 0:
        return None
    async with db.sessions() as session:
        present = await session.scalar(select(RunEvent.id).where(RunEvent.id == cursor, *scope.where()))
        if present is not None:
            return None
        oldest = await session.scalar(select(func.min(RunEvent.id)).where(*scope.where()))
    if oldest is not None and oldest <= cursor:
        return None  # a cursor the log never held for this scope, inside the retained range
    return {"lastEventId": cursor, "oldestAvailableId": oldest}


async def replay_page(session: AsyncSession, scope: StreamScope, after: int) -> list[EventRecord]:
    """One page of the scope's logged events after the id ``after``, oldest first: the replay step
    every stream (pixelmill's and each dialect's) takes before it follows the live bus."""
    rows = await session.scalars(
        select(RunEvent).where(*scope.where(), RunEvent.id > after).order_by(RunEvent.id).limit(REPLAY_PAGE)
    )
    return [to_record(row) for row in rows]


async def event_stream(
    db: Database,
    listener: Listener,
    scope: StreamScope,
    cursor: int | None,
    *,
    heartbeat: float,
    render: Render,
) -> AsyncIterator[bytes]:
    """The frames of one stream. ``listener`` was subscribed before this starts (see module doc)."""
    last = 0
    if cursor is not None:
        last = cursor
        gap = await replay_gap(db, scope, cursor)
        if gap is not None:
            yield frame(None, "replay-gap", gap)
    if cursor is not None or scope.run_id is not None:
        while True:
            async with db.sessions() as session:
                records = await replay_page(session, scope, last)
            for record in records:
                last = record.id
                yield frame(record.id, record.name, render(record))
                if scope.run_id is not None and record.name in TERMINAL_EVENTS:
                    return
            if len(records) < REPLAY_PAGE:
                break
    if scope.run_finished:
        return  # its terminal event was purged; nothing more will come
    while True:
        batch = await listener.next(heartbeat)
        if batch is None:
            return  # dropped for falling behind
        if not batch:
            yield PING
            continue
        # What queued up while this stream waited goes out as one write: with many streams open,
        # each write (a send on its socket) is most of what a stream costs per event. Until the write
        # is done the batch counts against the listener's buffer, so a client that stopped reading
        # is dropped as soon as its unwritten events reach the limit, batch or no batch.
        frames: list[bytes] = []
        ended = False
        for record in batch:
            if record.id <= last:
                continue
            last = record.id
            frames.append(frame(record.id, record.name, render(record)))
            if scope.run_id is not None and record.name in TERMINAL_EVENTS:
                ended = True
                break
        if frames:
            listener.held = len(frames)
            yield b"".join(frames)
            listener.held = 0
        if ended:
            return
