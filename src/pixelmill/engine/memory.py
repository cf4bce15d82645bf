"""Memory admission: a node starts only when its working-set estimate fits the process's budget.

One :class:`MemoryBudget` per executor (one per process) holds the bytes reserved by the nodes
running now. A node whose estimate fits what is left reserves it and starts; one that fits the
budget but not what is left now waits, first come first served (a large node is not starved by a
stream of small ones); one whose estimate exceeds the whole budget could never start and is
refused at once (:meth:`MemoryBudget.refuse_if_never_fits`), before anything is decoded.

The budget is ``memory_budget_bytes`` when set, else ``memory_budget_fraction`` of the memory this
process may use: the machine's physical memory, or the container's limit (cgroup) when lower.
Estimates are what the nodes declare (:meth:`pixelmill.engine.node.BaseNode.working_set`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Gauge

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError

_CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def physical_memory_bytes() -> int | None:
    """Memory this process may use: physical memory, capped by a cgroup limit; None if unknown."""
    total: int | None = None
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or the name is unknown
        total = None
    for path in _CGROUP_LIMITS:
        try:
            limit = int(path.read_text().strip())
        except (OSError, ValueError):  # absent, or "max" (no limit)
            continue
        if limit > 0 and (total is None or limit < total):
            total = limit
    return total


# Where the machine's size cannot be read, assume a modest one (4 GiB).
FALLBACK_MEMORY_BYTES = 4 * 1024**3


def budget_bytes(settings: Settings) -> int:
    """The configured budget: the explicit setting, or the configured fraction of the machine."""
    if settings.memory_budget_bytes is not None:
        return settings.memory_budget_bytes
    machine = physical_memory_bytes() or FALLBACK_MEMORY_BYTES
    return int(machine * settings.memory_budget_fraction)


def format_bytes(amount: int) -> str:
    """``1.5 GiB``-style text for messages."""
    value = float(amount)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(eq=False)
class _Waiter:
    amount: int
    future: asyncio.Future[None]


class MemoryBudget:
    """Bytes reserved by running work against a fixed limit; thread-safe, waiters on any loop."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a memory budget must be at least one byte")
        self.limit = limit
        self._reserved = 0
        self._waiters: deque[_Waiter] = deque()
        self._lock = threading.Lock()
        _LIVE.add(self)

    def close(self) -> None:
        """Leave the process's gauges (the executor that owned it stopped)."""
        _LIVE.discard(self)

    @property
    def reserved(self) -> int:
        """Bytes held by work running now."""
        return self._reserved

    @property
    def waiting(self) -> int:
        """Pieces of work waiting for memory."""
        return len(self._waiters)

    def refuse_if_never_fits(self, estimate: int, *, what: str) -> None:
        """Raise MEMORY_BUDGET_EXCEEDED when ``estimate`` is more than the whole budget."""
        if estimate > self.limit:
            raise PixelmillError(
                errors.MEMORY_BUDGET_EXCEEDED,
                f"{what} needs about {format_bytes(estimate)} of working memory; this server's memory budget "
                f"is {format_bytes(self.limit)} (setting memory_budget_bytes)",
                estimated_bytes=estimate,
                memory_budget_bytes=self.limit,
            )

    def try_reserve(self, amount: int) -> bool:
        """Reserve ``amount`` now if it fits and nobody waits ahead of it."""
        with self._lock:
            return self._take(amount)

    def _take(self, amount: int) -> bool:
        if not self._waiters and self._reserved + amount <= self.limit:
            self._reserved += amount
            return True
        return False

    async def reserve(self, amount: int) -> None:
        """Reserve ``amount`` bytes, waiting in line until they are free. ``amount`` must fit the
        budget (see :meth:`refuse_if_never_fits`); a cancelled wait leaves nothing reserved."""
        if amount > self.limit:
            raise ValueError(f"{amount} bytes can never fit a budget of {self.limit}")
        with self._lock:
            if self._take(amount):
                return
            waiter = _Waiter(amount, asyncio.get_running_loop().create_future())
            self._waiters.append(waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                    self._wake()  # the line may move on without this one
                    raise
            self.release(amount)  # granted as the wait was cancelled: hand it back
            raise

    def release(self, amount: int) -> None:
        """Give back ``amount`` bytes reserved earlier and admit whoever now fits, in order."""
        with self._lock:
            self._reserved = max(0, self._reserved - amount)
            self._wake()

    def _wake(self) -> None:
        while self._waiters and self._reserved + self._waiters[0].amount <= self.limit:
            waiter = self._waiters.popleft()
            self._reserved += waiter.amount
            waiter.future.get_loop().call_soon_threadsafe(_grant, waiter.future)

    @asynccontextmanager
    async def held(self, amount: int) -> AsyncIterator[None]:
        """Reserve ``amount`` for the body of the ``async with`` and release it after."""
        await self.reserve(amount)
        try:
            yield
        finally:
            self.release(amount)


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
    # A future cancelled after it was granted: reserve() sees CancelledError and releases.


_LIVE: weakref.WeakSet[MemoryBudget] = weakref.WeakSet()

# Summed over the budgets alive in this process (one per executor; one in production).
MEMORY_BUDGET = Gauge("pixelmill_memory_budget_bytes", "Working memory running nodes may reserve in this process")
MEMORY_RESERVED = Gauge("pixelmill_memory_reserved_bytes", "Working memory reserved by the nodes running now")
MEMORY_WAITING = Gauge("pixelmill_memory_waiting_nodes", "Nodes waiting for working memory to start")
MEMORY_BUDGET.set_function(lambda: float(sum(budget.limit for budget in list(_LIVE))))
MEMORY_RESERVED.set_function(lambda: float(sum(budget.reserved for budget in list(_LIVE))))
MEMORY_WAITING.set_function(lambda: float(sum(budget.waiting for budget in list(_LIVE))))
