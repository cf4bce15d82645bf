"""ima2's ``GET /api/events``: one stream of every ima2 job of the workspace (see :mod:`.events_stream`).

Resumes from ``Last-Event-ID`` or ``?lastEventId=`` (after a ``replay-gap`` frame when the event log
no longer reaches back that far), sends ``: ping`` while idle (``sse_heartbeat_seconds``, 15 s), and
takes a slot of the server's listener cap (``sse_max_listeners``, 512 as in ima2) before it opens:
503 ``SSE_CAPACITY`` in ima2's nested error shape when none is free.
"""

from __future__ import annotations

from fastapi import APIRouter

from pixelmill.api.deps import RuntimeDep
from pixelmill.api.dialects.common.sse import translated_stream
from pixelmill.api.dialects.ima2.access import Ima2PrincipalDep
from pixelmill.api.dialects.ima2.done import finish_frames
from pixelmill.api.dialects.ima2.errors import NESTED
from pixelmill.api.dialects.ima2.events_stream import Ima2EventTranslator
from pixelmill.api.dialects.ima2.wire import STREAM_HEADERS
from pixelmill.api.routers.events import EventStreamResponse, LastEventIdHeader, LastEventIdQuery
from pixelmill.events.sse import StreamScope, parse_cursor

router = APIRouter(prefix="/api/events", tags=["ima2"], route_class=NESTED.route_class(), include_in_schema=False)

STREAM_KIND = "ima2"
HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    *((name.lower().encode(), value.encode()) for name, value in STREAM_HEADERS.items()),
]


@router.get("", response_model=None)
async def stream_events(
    principal: Ima2PrincipalDep,
    runtime: RuntimeDep,
    last_event_id: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
) -> EventStreamResponse:
    principal.require_scope("runs")
    cursor = parse_cursor(last_event_id, last_event_id_query)
    settings = runtime.settings
    scope = StreamScope(principal.workspace_id)
    runtime.event_streams.acquire(STREAM_KIND)
    # Subscribed before anything is replayed, so nothing committed meanwhile falls between the two.
    listener = runtime.event_bus.subscribe(scope.workspace_id, maxsize=settings.sse_listener_buffer)

    def close() -> None:
        listener.close()
        runtime.event_streams.release(STREAM_KIND)

    chunks = translated_stream(
        runtime.db,
        listener,
        scope,
        cursor,
        heartbeat=settings.sse_heartbeat_seconds,
        translate=Ima2EventTranslator(runtime, finish_frames),
    )
    return EventStreamResponse(chunks, listener, close, HEADERS)
