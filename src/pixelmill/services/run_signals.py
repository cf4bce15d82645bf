"""In-process signals between whoever creates or cancels runs and the local dispatcher.

The database is the source of truth and every signal here has a polling fallback; the signals only
make one process fast: a create wakes the dispatcher at once, a cancel reaches the executing run
before its next node, and ``Prefer: wait`` returns the moment the run finishes instead of on the
next poll. Everything runs on one event loop (the server's); nothing here is shared across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixelmill.db.models import Run


@dataclass(frozen=True, slots=True)
class QueuedRun:
    """What a publisher needs of a run committed as queued (read before the commit)."""

    id: str
    priority: int
    graph: dict[str, Any]


class RunSignals:
    """Wake-ups and small shared state of one process's runs."""

    def __init__(self) -> None:
        self._work = asyncio.Event()
        self._finished: dict[str, list[asyncio.Future[Run | None]]] = {}
        self._cancel_listeners: list[Callable[[str], None]] = []
        self._publishers: list[Callable[[QueuedRun], None]] = []
        # Workspace -> monotonic time its last run was claimed here: the round-robin position that
        # both the dispatcher and queue_position read.
        self.last_served: dict[str, float] = {}
        # Run -> node -> when it started, for nodes executing in this process (a node's row is
        # written only when it ends).
        self.active_nodes: dict[str, dict[str, datetime]] = {}

    def run_queued(self, run: QueuedRun | None = None) -> None:
        """A run was committed as queued (or a slot freed up): the dispatcher should look now, and
        publishers (the fleet's broker, see dispatch/celery_app.py) hand the committed run on."""
        self._work.set()
        if run is not None:
            for publish in self._publishers:
                publish(run)

    def on_queued(self, publisher: Callable[[QueuedRun], None]) -> None:
        """Call ``publisher`` with every run committed as queued in this process, after its commit."""
        self._publishers.append(publisher)

    async def wait_for_work(self, seconds: float) -> None:
        """Return when woken or after ``seconds``, whichever is first."""
        try:
            await asyncio.wait_for(self._work.wait(), seconds)
        except TimeoutError:
            return
        finally:
            self._work.clear()

    def on_cancel(self, listener: Callable[[str], None]) -> None:
        self._cancel_listeners.append(listener)

    def off_cancel(self, listener: Callable[[str], None]) -> None:
        if listener in self._cancel_listeners:
            self._cancel_listeners.remove(listener)

    def cancel_requested(self, run_id: str) -> None:
        """A cancel of a running run was committed; the process executing it stops before its next node."""
        for listener in self._cancel_listeners:
            listener(run_id)

    def run_finished(self, run_id: str, run: Run | None = None) -> None:
        """The run reached a terminal status (committed): release everyone waiting for it, handing
        them ``run``, the row as committed, when the finisher has it (a waiter then need not read it)."""
        for waiter in self._finished.pop(run_id, []):
            if not waiter.done():
                waiter.set_result(run)

    def watch(self, run_id: str) -> asyncio.Future[Run | None]:
        """A future that :meth:`run_finished` resolves (with the finished row, when handed one); watch
        first, then read the status, so a finish in between is never missed. Pair with :meth:`unwatch`."""
        waiter: asyncio.Future[Run | None] = asyncio.get_running_loop().create_future()
        self._finished.setdefault(run_id, []).append(waiter)
        return waiter

    def unwatch(self, run_id: str, waiter: asyncio.Future[Run | None]) -> None:
        waiters = self._finished.get(run_id)
        if waiters is not None and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._finished[run_id]
