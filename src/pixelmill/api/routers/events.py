"""Live events as server-sent events: one run's (``/v1/runs/{id}/events``), or a workspace's (``/v1/events``).

Both resume from ``Last-Event-ID`` (or the ``lastEventId`` query), send ``: ping`` while idle and
are refused with 503 SSE_CAPACITY before they open once the listener cap is reached. The per-run
stream closes after the run's terminal event; a finished run replays its events and closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.api.routers.runs import public_base_url
from pixelmill.events.bus import Listener
from pixelmill.events.sse import StreamScope, event_stream, parse_cursor
from pixelmill.events.types import EventRecord
from pixelmill.runtime import Runtime
from pixelmill.services.run_events import render
from pixelmill.services.run_lifecycle import TERMINAL_STATUSES
from pixelmill.services.runs import RunService

router = APIRouter(tags=["events"])

HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class EventStreamResponse(Response):
    """An ASGI response that streams ``chunks`` and stops at the first of: the stream's end, the
    client's disconnect, or the listener being dropped (which aborts a write blocked on a client
    that does not read). ``on_close`` runs exactly once, whichever way it ends."""

    media_type = "text/event-stream"

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        listener: Listener,
        on_close: Callable[[], None],
        headers: list[tuple[bytes, bytes]] = HEADERS,
    ) -> None:
        super().__init__(status_code=200)
        self._chunks = chunks
        self._listener = listener
        self._on_close = on_close
        self._stream_headers = headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self._stream_headers})
            pump = asyncio.ensure_future(self._pump(send))
            watch = asyncio.ensure_future(_disconnected(receive))
            dropped = asyncio.ensure_future(self._listener.closed.wait())
            tasks = (pump, watch, dropped)
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            if pump.done() and not pump.cancelled() and pump.exception() is not None:
                raise pump.exception()  # type: ignore[misc]
        finally:
            self._on_close()

    async def _pump(self, send: Any) -> None:
        try:
            async for chunk in self._chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self._chunks.aclose()  # type: ignore[attr-defined]


async def _disconnected(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


LastEventIdHeader = Annotated[str | None, Header(alias="Last-Event-ID", description="Resume after this event id")]
LastEventIdQuery = Annotated[
    str | None, Query(alias="lastEventId", description="Resume after this event id (for clients without headers)")
]

_STREAM_DOC: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Frames `id:`, `event:`, `data: <JSON>`"},
    **error_responses(errors.INSUFFICIENT_SCOPE, errors.SSE_CAPACITY),
}


def _open(runtime: Runtime, request: Request, scope: StreamScope, cursor: int | None, kind: str) -> EventStreamResponse:
    settings = runtime.settings
    base_url = public_base_url(request, runtime)
    runtime.event_streams.acquire(kind)
    # Subscribed before anything is replayed, so nothing committed meanwhile falls between the two.
    listener = runtime.event_bus.subscribe(
        scope.workspace_id, run_id=scope.run_id, maxsize=settings.sse_listener_buffer
    )

    def rendered(record: EventRecord) -> dict[str, object]:
        return render(record, settings, base_url)

    def close() -> None:
        listener.close()
        runtime.event_streams.release(kind)

    chunks = event_stream(
        runtime.db, listener, scope, cursor, heartbeat=settings.sse_heartbeat_seconds, render=rendered
    )
    return EventStreamResponse(chunks, listener, close)


@router.get("/v1/runs/{run_id}/events", operation_id="stream_run_events", response_model=None, responses=_STREAM_DOC)
async def stream_run_events(
    run_id: str,
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    last_event_id: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
) -> EventStreamResponse:
    """The run's events as they happen (replayed first when it already started); closes after its
    terminal event (`run_complete`, `run_failed`, `run_cancelled`)."""
    cursor = parse_cursor(last_event_id, last_event_id_query)
    async with runtime.db.sessions() as session:
        run = await RunService(session, runtime).get(principal, run_id)
        scope = StreamScope(run.workspace_id, run.id, run_finished=run.status in TERMINAL_STATUSES)
    return _open(runtime, request, scope, cursor, "run")


@router.get("/v1/events", operation_id="stream_events", response_model=None, responses=_STREAM_DOC)
async def stream_events(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    last_event_id: LastEventIdHeader = None,
    last_event_id_query: LastEventIdQuery = None,
) -> EventStreamResponse:
    """Every run event of the caller's workspace on one stream (each carries `run_id`); with a cursor,
    what was missed is replayed first, after a `replay-gap` event if the log no longer holds it all."""
    principal.require_scope("runs")
    cursor = parse_cursor(last_event_id, last_event_id_query)
    return _open(runtime, request, StreamScope(principal.workspace_id), cursor, "workspace")
