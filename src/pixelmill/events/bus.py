"""The live bus: committed events fanned out to the streams open in this process.

``publish`` is called after a transaction commits (never before: a stream must not show an event
that could still roll back). It never blocks and never awaits: each listener has a bounded buffer,
and a listener whose buffer is full (a client that stopped reading) is dropped on the spot and its
stream closed, so one stalled client costs the publisher one failed append and nothing more.

The bus is behind :class:`EventBus` so a cross-process implementation (Redis pub/sub, see
:mod:`pixelmill.events.redis_bus`) can replace :class:`LocalEventBus` without touching the streams.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from pixelmill.events.metrics import LISTENERS_DROPPED
from pixelmill.events.types import EventRecord


class Listener:
    """One open stream's view of the bus: the events of its workspace (or of one run) in id order."""

    __slots__ = ("_bus", "_items", "_wakeup", "closed", "dropped", "held", "maxsize", "run_id", "workspace_id")

    def __init__(self, bus: LocalEventBus, workspace_id: str, run_id: str | None, maxsize: int) -> None:
        self._bus = bus
        self.workspace_id = workspace_id
        self.run_id = run_id
        self.maxsize = maxsize
        self._items: deque[EventRecord] = deque()
        self._wakeup = asyncio.Event()
        self.dropped = False  # fell ``maxsize`` events behind: the stream must close
        self.held = 0  # events the stream took and has not finished writing: they count as queued
        self.closed = asyncio.Event()  # set when dropped, so the response can abort a blocked write

    def offer(self, record: EventRecord) -> bool:
        """Queue ``record``; False (and the listener is dropped) when the buffer is full."""
        if len(self._items) + self.held >= self.maxsize:
            self._drop()
            return False
        self._items.append(record)
        self._wakeup.set()
        return True

    def _drop(self) -> None:
        self.dropped = True
        self._items.clear()
        self._wakeup.set()
        self.closed.set()
        self._bus.unsubscribe(self)
        LISTENERS_DROPPED.inc()

    async def next(self, wait_seconds: float) -> list[EventRecord] | None:
        """Everything queued (waiting up to ``wait_seconds`` for something); [] on timeout, None once dropped."""
        if not self._items and not self.dropped:
            self._wakeup.clear()
            try:
                async with asyncio.timeout(wait_seconds):
                    await self._wakeup.wait()
            except TimeoutError:
                return []
        if self.dropped:
            return None
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus(Protocol):
    """What the streams need from a bus."""

    def publish(self, records: Sequence[EventRecord]) -> None: ...

    def subscribe(self, workspace_id: str, *, run_id: str | None = None, maxsize: int = 256) -> Listener: ...

    def unsubscribe(self, listener: Listener) -> None: ...

    async def start(self) -> None:
        """Begin receiving what other processes publish (API processes; a worker only publishes)."""

    async def close(self) -> None: ...


class LocalEventBus:
    """An in-process bus; listeners are indexed by workspace so a publish touches only its own."""

    def __init__(self) -> None:
        self._by_workspace: dict[str, set[Listener]] = {}

    @property
    def listener_count(self) -> int:
        return sum(len(listeners) for listeners in self._by_workspace.values())

    @property
    def workspace_ids(self) -> frozenset[str]:
        """The workspaces some open stream listens to."""
        return frozenset(self._by_workspace)

    async def start(self) -> None:
        """Nothing to start: every publisher is in this process."""

    async def close(self) -> None:
        """Nothing to release."""

    def subscribe(self, workspace_id: str, *, run_id: str | None = None, maxsize: int = 256) -> Listener:
        listener = Listener(self, workspace_id, run_id, maxsize)
        self._by_workspace.setdefault(workspace_id, set()).add(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        listeners = self._by_workspace.get(listener.workspace_id)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self._by_workspace[listener.workspace_id]

    def publish(self, records: Sequence[EventRecord]) -> None:
        for record in records:
            listeners = self._by_workspace.get(record.workspace_id)
            if not listeners:
                continue
            for listener in list(listeners):  # a full one unsubscribes itself while we iterate
                if listener.run_id is None or listener.run_id == record.run_id:
                    listener.offer(record)
