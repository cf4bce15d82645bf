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
from pixelmill.events.bus import EventBus, LocalEventBus
from pixelmill.events.sse import StreamSlots
from pixelmill.events.types import EventSubscriber
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.registry import ProviderRegistry
from pixelmill.services.principal_cache import PrincipalCache
from pixelmill.services.ratelimit import RateLimiter
from pixelmill.services.run_events import RunEventWriter
from pixelmill.services.run_events import install as install_run_events
from pixelmill.services.run_lifecycle import RunHook
from pixelmill.services.run_signals import RunSignals
from pixelmill.services.workspace_providers import WorkspaceProviders
from pixelmill.storage.base import BlobStore
from pixelmill.storage.local import open_blob_store
from pixelmill.webhooks.outbox import WebhookOutbox

if TYPE_CHECKING:
    from pixelmill.dispatch.celery_app import CeleryPublisher
    from pixelmill.dispatch.local import LocalDispatcher
    from pixelmill.webhooks.delivery import WebhookDeliverer


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
    # Called with the events the event log just wrote, inside the same transaction (the webhook outbox).
    event_subscribers: list[EventSubscriber] = field(default_factory=list)
    # Committed events fanned out to the SSE streams of this process (see events/bus.py); through Redis
    # pub/sub to those of every process when redis_url is set (events/redis_bus.py).
    event_bus: EventBus = field(default_factory=LocalEventBus)
    # The listener cap of those streams; sized from settings when the runtime is built.
    event_streams: StreamSlots = field(default_factory=lambda: StreamSlots(0))
    run_events: RunEventWriter | None = None
    dispatcher: LocalDispatcher | None = None
    # With dispatch = celery: hands each committed run to the broker.
    publisher: CeleryPublisher | None = None
    webhook_deliverer: WebhookDeliverer | None = None
    plan_credit_task: asyncio.Task[None] | None = None
    retention_task: asyncio.Task[None] | None = None
    # The providers each workspace's runs use: ``providers`` keyed with saved upstream keys.
    workspace_providers: WorkspaceProviders = field(init=False)

    def __post_init__(self) -> None:
        self.workspace_providers = WorkspaceProviders(self.providers, self.settings)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        runtime = cls(
            settings=settings,
            db=Database(settings.resolved_database_url),
            auth_cache=PrincipalCache(settings.auth_cache_ttl_seconds),
            limiter=RateLimiter.from_settings(settings),
            blobs=open_blob_store(settings.resolved_storage_url, settings),
            providers=build_provider_registry(settings),
        )
        if settings.redis_url:
            from pixelmill.events.redis_bus import RedisEventBus

            runtime.event_bus = RedisEventBus(
                settings.redis_url,
                runtime.db,
                channel=settings.events_channel,
                catch_up_seconds=settings.sse_heartbeat_seconds,
            )
        runtime.event_subscribers.append(WebhookOutbox(settings))
        runtime.event_streams = StreamSlots(settings.sse_max_listeners)
        runtime.run_events = install_run_events(runtime)
        return runtime

    async def start_dispatch(self) -> None:
        """Start executing queued runs in this process when ``dispatch`` is ``local`` (the API's lifespan);
        with ``celery``, publish each committed run to the fleet's broker instead."""
        if self.settings.dispatch == "celery":
            from pixelmill.dispatch.celery_app import CeleryPublisher, create_celery

            self.publisher = CeleryPublisher(create_celery(self.settings), self.nodes, self.providers)
            self.run_signals.on_queued(self.publisher.publish)
            return
        if self.dispatcher is not None:
            return
        from pixelmill.dispatch.local import LocalDispatcher

        dispatcher = LocalDispatcher(self)
        await dispatcher.start()
        self.dispatcher = dispatcher

    async def start_schedules(self) -> None:
        """Start the periodic jobs the API process owns (monthly plan credits, webhook delivery), and
        the live event subscription its streams read (a worker only publishes)."""
        await self.event_bus.start()
        if self.settings.webhook_delivery_enabled and self.webhook_deliverer is None:
            from pixelmill.webhooks.delivery import WebhookDeliverer

            deliverer = WebhookDeliverer(self.db, self.settings)
            await deliverer.start()
            self.webhook_deliverer = deliverer
        if self.settings.plan_credits_enabled and self.plan_credit_task is None:
            from pixelmill.services.plan_credits import plan_credit_loop

            self.plan_credit_task = asyncio.create_task(plan_credit_loop(self.db, self.settings), name="plan-credits")
        if self.settings.retention_enabled and self.retention_task is None:
            from pixelmill.services.retention import retention_loop

            self.retention_task = asyncio.create_task(
                retention_loop(self.db, self.blobs, self.settings), name="retention"
            )

    async def close(self) -> None:
        if self.publisher is not None:
            await asyncio.to_thread(self.publisher.close)
            self.publisher = None
        if self.retention_task is not None:
            self.retention_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.retention_task
            self.retention_task = None
        if self.webhook_deliverer is not None:
            await self.webhook_deliverer.stop()
            self.webhook_deliverer = None
        if self.plan_credit_task is not None:
            self.plan_credit_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.plan_credit_task
            self.plan_credit_task = None
        if self.dispatcher is not None:
            await self.dispatcher.stop()  # graceful: running nodes finish within the grace period
            self.dispatcher = None
        await self.event_bus.close()  # after the dispatcher: its last events still go out
        await self.limiter.close()
        await self.workspace_providers.aclose()
        await self.providers.aclose()
        await self.db.dispose()
