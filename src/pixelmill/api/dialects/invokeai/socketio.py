"""InvokeAI's socket.io server at ``/ws/socket.io``: the live events of the caller's workspace, in
InvokeAI's names and payloads (:mod:`.events`).

A socket authenticates at connect (``auth: {token}`` or an ``Authorization: Bearer`` header, a
pixelmill key or access token; none in single-user mode from a loopback peer), then
``subscribe_queue`` / ``unsubscribe_queue`` choose the queues whose events it receives. Each socket
subscribes to the same live bus as ``/v1/events`` (so the events of runs executed by any process
arrive, through Redis when the bus is), scoped to its workspace, and takes one of the server's
event-stream slots; a socket that stops reading is dropped like a stalled SSE stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import socketio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.dialects.invokeai import events, queue
from pixelmill.api.dialects.invokeai.events import Payload, QueueItem
from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.queue_store import QueueRuns
from pixelmill.config import is_loopback_host
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.events.bus import Listener
from pixelmill.events.types import EventRecord
from pixelmill.runtime import Runtime
from pixelmill.services.auth import Authenticator
from pixelmill.services.numeric_ids import NumericIds
from pixelmill.services.principal import Principal

log = logging.getLogger("pixelmill.invokeai")

SOCKET_PATH = "/ws/socket.io"
STREAM_KIND = "invokeai"
MAX_QUEUES = 64  # queues one socket may follow at once
MAX_QUEUE_ID = 200


@dataclass(slots=True)
class _Client:
    principal: Principal
    listener: Listener
    runtime: Runtime
    queues: set[str] = field(default_factory=set)
    pump: asyncio.Task[None] | None = None


def _runtime(environ: Mapping[str, Any]) -> Runtime:
    scope = environ["asgi.scope"]
    runtime: Runtime = scope["app"].state.runtime
    return runtime


def _credential(environ: Mapping[str, Any], auth: Any) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
        return str(auth["token"])
    scheme, _, value = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def authenticate(runtime: Runtime, environ: Mapping[str, Any], auth: Any) -> Principal:
    """The socket's principal, as ``PrincipalDep`` decides for a request; ConnectionRefusedError
    with InvokeAI's message otherwise."""
    authenticator = Authenticator(runtime.db, runtime.settings.secret, runtime.auth_cache)
    credential = _credential(environ, auth)
    if credential is not None:
        try:
            return await authenticator.authenticate(credential)
        except PixelmillError:
            raise ConnectionRefusedError("Invalid or expired token") from None
    client = environ["asgi.scope"].get("client")
    peer = client[0] if client else ""
    if runtime.settings.anonymous_loopback and is_loopback_host(peer):
        principal = await authenticator.anonymous()
        if principal is not None:
            return principal
    raise ConnectionRefusedError("Authentication required")


class InvokeAISocket:
    """The socket.io server and the live-event pump of each connected socket."""

    def __init__(self) -> None:
        # Same-origin browsers and non-browser clients only (python-socketio's default): with
        # single-user mode on, any page a user opens could otherwise read their events.
        self.server = socketio.AsyncServer(async_mode="asgi")
        self.asgi = socketio.ASGIApp(self.server, socketio_path=SOCKET_PATH.strip("/"))
        self._clients: dict[str, _Client] = {}
        self.server.on("connect", self._connect)
        self.server.on("disconnect", self._disconnect)
        self.server.on("subscribe_queue", self._subscribe)
        self.server.on("unsubscribe_queue", self._unsubscribe)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        runtime = _runtime(environ)
        principal = await authenticate(runtime, environ, auth)
        if "runs" not in principal.scopes:
            raise ConnectionRefusedError("This key may not read runs")
        try:
            runtime.event_streams.acquire(STREAM_KIND)
        except PixelmillError as exc:
            raise ConnectionRefusedError(exc.message) from None
        listener = runtime.event_bus.subscribe(principal.workspace_id, maxsize=runtime.settings.sse_listener_buffer)
        client = _Client(principal, listener, runtime)
        self._clients[sid] = client
        client.pump = asyncio.create_task(self._pump(sid, client), name=f"invokeai-socket:{sid}")

    async def _disconnect(self, sid: str, *_reason: Any) -> None:
        client = self._clients.pop(sid, None)
        if client is None:
            return
        client.listener.close()
        if client.pump is not None and client.pump is not asyncio.current_task():
            client.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await client.pump
        client.runtime.event_streams.release(STREAM_KIND)

    async def _subscribe(self, sid: str, data: Any) -> None:
        client = self._clients.get(sid)
        queue_id = data.get("queue_id") if isinstance(data, dict) else None
        if client is None or not isinstance(queue_id, str) or not 0 < len(queue_id) <= MAX_QUEUE_ID:
            return
        if len(client.queues) < MAX_QUEUES:
            client.queues.add(queue_id)

    async def _unsubscribe(self, sid: str, data: Any) -> None:
        client = self._clients.get(sid)
        if client is not None and isinstance(data, dict):
            client.queues.discard(str(data.get("queue_id")))

    async def _pump(self, sid: str, client: _Client) -> None:
        runtime = client.runtime
        heartbeat = runtime.settings.sse_heartbeat_seconds
        while True:
            batch = await client.listener.next(heartbeat)
            if batch is None:  # fell too far behind: the socket closes, as a stalled SSE stream does
                await self.server.disconnect(sid)
                return
            if not batch or not client.queues:
                continue
            try:
                queues = frozenset(client.queues)  # subscribe_queue may change the set meanwhile
                for name, payload in await translate(runtime, client.principal.workspace_id, queues, batch):
                    await self.server.emit(name, payload, to=sid)
            except Exception:
                log.exception("delivering %d events to an InvokeAI socket failed", len(batch))

    async def close(self) -> None:
        """End every pump (the app is stopping)."""
        for sid in list(self._clients):
            await self._disconnect(sid)


async def _items(session: AsyncSession, workspace_id: str, run_ids: Iterable[str]) -> dict[str, QueueItem]:
    """The workspace's runs among ``run_ids`` that are InvokeAI queue items (deleted ones too: their
    ``run_deleted`` still names their queue), as queue items."""
    runs = list(await session.scalars(select(Run).where(Run.workspace_id == workspace_id, Run.id.in_(set(run_ids)))))
    queued = [(run, identity) for run in runs if (identity := QueueIdentity.of(run)) is not None]
    numbers = await NumericIds(session, "run").numbers(run.id for run, _ in queued)
    return {
        run.id: QueueItem(
            item_id=numbers[run.id],
            identity=identity,
            status=run.status,
            created_at=run.created_at,
            started_at=run.started_at,
            completed_at=run.completed_at,
            error=run.error,
        )
        for run, identity in queued
    }


async def translate(
    runtime: Runtime, workspace_id: str, queues: frozenset[str], records: Sequence[EventRecord]
) -> list[tuple[str, Payload]]:
    """The InvokeAI events of a batch of the workspace's records, for a socket following ``queues``.
    Records of runs that are not queue items of those queues give nothing."""
    async with runtime.db.reads() as session:
        items = await _items(session, workspace_id, {record.run_id for record in records})
        mine = [r for r in records if r.run_id in items and items[r.run_id].identity.queue_id in queues]
        # What the status events carry, read as the queue routes read it (as it is now).
        changed = {
            (items[r.run_id].identity.queue_id, items[r.run_id].identity.batch_id)
            for r in mine
            if r.name in events.STATUS_EVENTS
        }
        batches = {
            (queue_id, batch_id): await queue.batch_status(session, workspace_id, queue_id, batch_id)
            for queue_id, batch_id in changed
        }
        queue_ids = {queue_id for queue_id, _ in changed}
        queues_now = {queue_id: await queue.queue_status(session, workspace_id, queue_id) for queue_id in queue_ids}
        deleted_from = {items[r.run_id].identity.queue_id for r in mine if r.name == "run_deleted"}
        emptied = {q for q in deleted_from if not await QueueRuns(session, workspace_id, q).counts()}
    return events.socket_events(mine, items, events.QueueStatuses(batches, queues_now, frozenset(emptied)))
