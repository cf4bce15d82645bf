"""What the executor reports while a run executes, and the ordered, non-blocking delivery of it.

The runs layer passes an :class:`ExecutionListener` and turns each :class:`NodeEvent` into a run
event (SSE, the run_events table). Events reach the listener in the order they were emitted, from
one consumer task, so a slow listener never stalls node execution and ``node_progress`` called from
a worker thread still arrives before that node's ``node_complete``.

Per node: ``node_start``, any ``node_progress``, then one of ``node_complete``, ``node_failed`` or
``node_cancelled``. A cache hit emits only ``node_cached`` (the run events add a ``node_complete``
for it: services/run_events.py); a node whose inputs fail to resolve emits only ``node_failed``.
Nodes resumed from an earlier execution emit nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pixelmill.engine.values import OutputType

log = logging.getLogger("pixelmill.engine")

EventKind = Literal["node_start", "node_progress", "node_complete", "node_cached", "node_failed", "node_cancelled"]


@dataclass(frozen=True, slots=True)
class NodeEvent:
    """One step of one node. ``outputs`` on node_complete/node_cached, ``error`` on node_failed."""

    kind: EventKind
    run_id: str
    node_id: str
    node_type: str
    progress: float | None = None
    message: str | None = None
    preview: str | None = None  # node_progress: a small data: URI image of the work so far
    outputs: dict[str, Any] | None = None
    output_type: OutputType | None = None
    cost: int = 0
    duration_ms: float | None = None
    error: dict[str, Any] | None = None
    # The node's record is not written yet: it was held back for the run's end (``hold_last``).
    # Not part of the payload clients see.
    held: bool = False

    def payload(self) -> dict[str, Any]:
        """The event as JSON, without the fields that do not apply to its kind."""
        data: dict[str, Any] = {"node_id": self.node_id, "node_type": self.node_type}
        for name in ("progress", "message", "preview", "outputs", "output_type", "duration_ms", "error"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.kind in ("node_complete", "node_cached"):
            data["cost"] = self.cost
            data["cached"] = self.kind == "node_cached"
        return data


class ExecutionListener(Protocol):
    """Receives the events of one run; any ``async def listener(event)`` function qualifies."""

    async def __call__(self, event: NodeEvent, /) -> None: ...


class EventPump:
    """Delivers events to a listener in order from one task; ``emit`` never blocks and is thread-safe."""

    def __init__(self, listener: ExecutionListener | None) -> None:
        self._listener = listener
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._queue: asyncio.Queue[NodeEvent | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._deliver()) if listener is not None else None

    @property
    def active(self) -> bool:
        return self._task is not None

    def emit(self, event: NodeEvent) -> None:
        if self._task is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._queue.put_nowait(event)
        else:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    async def close(self) -> None:
        """Deliver what is queued, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task

    def abort(self) -> None:
        """Stop delivering at once (the run itself was interrupted)."""
        if self._task is not None:
            self._task.cancel()

    async def _deliver(self) -> None:
        assert self._listener is not None
        while (event := await self._queue.get()) is not None:
            try:
                await self._listener(event)
            except Exception:
                # A broken listener must not fail the run; the node results are persisted anyway.
                log.exception("execution listener failed", extra={"run_id": event.run_id, "node_id": event.node_id})
