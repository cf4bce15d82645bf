"""The process's long-lived parts, built once from Settings and passed explicitly to whoever needs them.

The API keeps one on ``app.state.runtime``; the CLI and workers build their own. There is no global
service locator: a function that needs the database receives the Runtime (or the piece it needs).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pixelmill.nodes  # noqa: F401 - registers the built-in node types into default_registry
from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.engine.node import NodeRegistry, default_registry
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.registry import ProviderRegistry
from pixelmill.services.principal_cache import PrincipalCache
from pixelmill.services.ratelimit import RateLimiter
from pixelmill.services.run_lifecycle import RunHook
from pixelmill.services.run_signals import RunSignals
from pixelmill.storage.base import BlobStore
from pixelmill.storage.local import open_blob_store

if TYPE_CHECKING:
    from pixelmill.dispatch.local import LocalDispatcher


@dataclass
class Runtime:
    settings: Settings
    db: Database
    auth_cache: PrincipalCache
    limiter: RateLimiter
    blobs: BlobStore
    providers: ProviderRegistry
    # Node types runs may use; the built-ins unless a caller brings its own.
    nodes: NodeRegistry = field(default_factory=lambda: default_registry)
    # In-process wake-ups between the API and the local dispatcher (see services/run_signals.py).
    run_signals: RunSignals = field(default_factory=RunSignals)
    # Called inside the transaction of every run status transition (the events and webhooks seam).
    run_hooks: list[RunHook] = field(default_factory=list)
    dispatcher: LocalDispatcher | None = None
    plan_credit_task: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings,
            db=Database(settings.resolved_database_url),
            auth_cache=PrincipalCache(settings.auth_cache_ttl_seconds),
            limiter=RateLimiter.from_settings(settings),
            blobs=open_blob_store(settings.resolved_storage_url),
            providers=build_provider_registry(settings),
        )

    async def start_dispatch(self) -> None:
        """Start executing queued runs in this process when ``dispatch`` is ``local`` (the API's lifespan)."""
        if self.settings.dispatch != "local" or self.dispatcher is not None:
            return
        from pixelmill.dispatch.local import LocalDispatcher

        dispatcher = LocalDispatcher(self)
        await dispatcher.start()
        self.dispatcher = dispatcher

    async def start_schedules(self) -> None:
        """Start the periodic jobs the API process owns (monthly plan credits)."""
        if self.settings.plan_credits_enabled and self.plan_credit_task is None:
            from pixelmill.services.plan_credits import plan_credit_loop

            self.plan_credit_task = asyncio.create_task(plan_credit_loop(self.db, self.settings), name="plan-credits")

    async def close(self) -> None:
        if self.plan_credit_task is not None:
            self.plan_credit_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.plan_credit_task
            self.plan_credit_task = None
        if self.dispatcher is not None:
            await self.dispatcher.stop()  # graceful: running nodes finish within the grace period
            self.dispatcher = None
        await self.limiter.close()
        await self.db.dispose()
