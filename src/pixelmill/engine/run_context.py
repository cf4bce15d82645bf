"""The executor's implementation of :class:`~pixelmill.engine.context.NodeContext`.

``RunServices`` is what every node of one run shares (settings, providers, the cancel token, the
worker thread pool, the process's memory budget, the event pump and the run's media store, created
on first use);
``NodeRunContext`` is the per-node view a node receives.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.context import MediaStore
from pixelmill.engine.events import EventPump, NodeEvent
from pixelmill.engine.memory import MemoryBudget
from pixelmill.errors import PixelmillError
from pixelmill.providers.registry import ProviderRegistry

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RunScope:
    """Which run executes, for whom: ``test_mode`` is true for runs made with a ``pm_test_`` key."""

    run_id: str
    workspace_id: str
    test_mode: bool = False


MediaStoreFactory = Callable[[RunScope], MediaStore]


class RunServices:
    """What the nodes of one run share."""

    def __init__(
        self,
        *,
        scope: RunScope,
        settings: Settings,
        providers: ProviderRegistry,
        cancel: CancelToken,
        pool: Executor,
        memory: MemoryBudget,
        pump: EventPump,
        media_factory: MediaStoreFactory | None,
        progress_interval: float,
        clock: Callable[[], float],
    ) -> None:
        self.scope = scope
        self.settings = settings
        self.providers = providers
        self.cancel = cancel
        self.pool = pool
        self.memory = memory
        self.pump = pump
        self.progress_interval = progress_interval
        self.clock = clock
        self._media_factory = media_factory
        self._media: MediaStore | None = None

    @property
    def media(self) -> MediaStore:
        if self._media is None:
            if self._media_factory is None:
                raise PixelmillError(errors.SERVICE_UNAVAILABLE, "This executor was started without a media store")
            self._media = self._media_factory(self.scope)
        return self._media


class NodeRunContext:
    """The NodeContext one node sees while it runs."""

    def __init__(self, services: RunServices, node_id: str, node_type: str) -> None:
        self._services = services
        self.run_id = services.scope.run_id
        self.workspace_id = services.scope.workspace_id
        self.test_mode = services.scope.test_mode
        self.settings = services.settings
        self.providers = services.providers
        self.node_id = node_id
        self.node_type = node_type
        self._progress_lock = threading.Lock()
        self._last_progress_at: float | None = None
        self.usage: dict[str, Any] | None = None

    @property
    def media(self) -> MediaStore:
        return self._services.media

    @property
    def cancelled(self) -> bool:
        return self._services.cancel.cancelled

    def raise_if_cancelled(self) -> None:
        self._services.cancel.raise_if_cancelled()

    def report_progress(self, fraction: float, message: str | None = None, *, preview: str | None = None) -> None:
        """Emit node_progress, at most one per ``progress_interval`` seconds; callable from any thread."""
        pump = self._services.pump
        if not pump.active or not math.isfinite(fraction):
            return
        now = self._services.clock()
        with self._progress_lock:
            last = self._last_progress_at
            if last is not None and now - last < self._services.progress_interval:
                return
            self._last_progress_at = now
        progress = min(1.0, max(0.0, float(fraction)))
        pump.emit(
            NodeEvent(
                kind="node_progress",
                run_id=self.run_id,
                node_id=self.node_id,
                node_type=self.node_type,
                progress=progress,
                message=message,
                preview=preview,
            )
        )

    def record_usage(self, usage: Mapping[str, Any]) -> None:
        """Collect what an upstream reported; the node runner saves it with the node's result."""
        self.usage = {**(self.usage or {}), **usage}

    async def run_blocking(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in the executor's thread pool, with this task's context variables."""
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._services.pool, call)
