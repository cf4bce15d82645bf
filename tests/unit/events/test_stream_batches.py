"""A live stream writes what queued up while it waited as one chunk, and the events of a chunk not yet
written still count against the listener's buffer, so a client that stopped reading is dropped as
early as it was when every event was its own write. No database: a stream without a cursor or a run
never reads the event log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any, cast

from pixelmill.db.session import Database
from pixelmill.events.bus import Listener, LocalEventBus
from pixelmill.events.sse import StreamScope, event_stream
from pixelmill.events.types import EventName, EventRecord


def _record(event_id: int, name: EventName = "node_complete") -> EventRecord:
    data = {"event": name, "run_id": "run_1", "node_id": f"n{event_id}"}
    return EventRecord(event_id, "ws_1", "run_1", name, data, datetime.now(UTC))


def _render(record: EventRecord) -> dict[str, Any]:
    return record.data


def _stream(listener: Listener) -> AsyncGenerator[bytes, None]:
    """The live part of a workspace stream; its database is never touched (no cursor to replay)."""
    chunks = event_stream(cast(Database, None), listener, StreamScope("ws_1"), None, heartbeat=5, render=_render)
    return cast(AsyncGenerator[bytes, None], chunks)


def test_what_queued_up_goes_out_in_one_chunk_in_id_order() -> None:
    async def main() -> bytes:
        bus = LocalEventBus()
        listener = bus.subscribe("ws_1", maxsize=16)
        stream = _stream(listener)
        bus.publish([_record(1), _record(2), _record(3)])
        chunk = await anext(stream)
        await stream.aclose()
        return chunk

    chunk = asyncio.run(main())
    assert chunk.count(b"event: node_complete\n") == 3
    assert chunk.index(b"id: 1\n") < chunk.index(b"id: 2\n") < chunk.index(b"id: 3\n")
    assert chunk.endswith(b"\n\n")


def test_an_unwritten_chunk_counts_against_the_buffer() -> None:
    async def main() -> tuple[bool, bool]:
        bus = LocalEventBus()
        listener = bus.subscribe("ws_1", maxsize=4)
        stream = _stream(listener)
        bus.publish([_record(1), _record(2), _record(3)])
        await anext(stream)  # the chunk is handed to the response and not yet written
        bus.publish([_record(4)])  # 3 held + 1 queued: still within 4
        still_open = not listener.dropped
        bus.publish([_record(5)])  # the fifth unwritten event: dropped
        await stream.aclose()
        return still_open, listener.dropped

    assert asyncio.run(main()) == (True, True)


def test_a_written_chunk_no_longer_counts() -> None:
    async def main() -> tuple[bytes, bool]:
        bus = LocalEventBus()
        listener = bus.subscribe("ws_1", maxsize=4)
        stream = _stream(listener)
        bus.publish([_record(1), _record(2), _record(3)])
        await anext(stream)
        # Asking for the next chunk means the first one was written: while the stream waits, a full
        # buffer of new events fits again.
        second = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        bus.publish([_record(4), _record(5), _record(6), _record(7)])
        chunk = await second
        await stream.aclose()
        return chunk, listener.dropped

    chunk, dropped = asyncio.run(main())
    assert not dropped
    assert chunk.count(b"event: node_complete\n") == 4
