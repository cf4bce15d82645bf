"""A dialect's event stream over pixelmill's event log: each run event translated into the frames a
foreign API sends (none, one or several), replayed from a cursor and then live.

The order that makes the canonical streams gap- and duplicate-free is kept (see
:mod:`pixelmill.events.sse`): the listener is subscribed before the replay, the log is replayed after
the cursor (after a ``replay-gap`` frame when the log no longer holds it all), and live records at or
below the last one replayed are dropped. Every frame of one run event carries that event's id, so a
client resuming with ``Last-Event-ID`` resumes after it. Events a dialect does not show still move
the cursor, and a ``: ping`` goes out once a heartbeat passes without a frame, whatever the bus carried.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pixelmill.db.session import Database
from pixelmill.events.bus import Listener
from pixelmill.events.sse import PING, REPLAY_PAGE, StreamScope, frame, replay_gap, replay_page
from pixelmill.events.types import EventRecord

Frames = list[tuple[str, dict[str, Any]]]
# (record, replayed) -> the frames a dialect sends for it; ``replayed`` is True while catching up.
Translate = Callable[[EventRecord, bool], Awaitable[Frames]]


def _encode(record: EventRecord, frames: Frames) -> list[bytes]:
    return [frame(record.id, name, data) for name, data in frames]


async def translated_stream(
    db: Database,
    listener: Listener,
    scope: StreamScope,
    cursor: int | None,
    *,
    heartbeat: float,
    translate: Translate,
) -> AsyncIterator[bytes]:
    """The frames of one dialect stream; ``listener`` was subscribed before this starts."""
    last = cursor or 0
    if cursor is not None:
        gap = await replay_gap(db, scope, cursor)
        if gap is not None:
            yield frame(None, "replay-gap", gap)
        while True:
            async with db.reads() as session:
                records = await replay_page(session, scope, last)
            chunks: list[bytes] = []
            for record in records:
                last = record.id
                chunks += _encode(record, await translate(record, True))
            if chunks:
                yield b"".join(chunks)
            if len(records) < REPLAY_PAGE:
                break
    written = time.monotonic()
    while True:
        wait = max(0.0, heartbeat - (time.monotonic() - written))
        batch = await listener.next(wait)
        if batch is None:
            return  # dropped for falling behind
        chunks = []
        for record in batch:
            if record.id <= last:
                continue
            last = record.id
            chunks += _encode(record, await translate(record, False))
        if chunks:
            listener.held = len(chunks)
            yield b"".join(chunks)
            listener.held = 0
            written = time.monotonic()
        elif time.monotonic() - written >= heartbeat:
            yield PING
            written = time.monotonic()
