"""The fleet's Celery application: queues by capability, messages by priority, and the publisher.

An API process commits a run, then publishes ``pixelmill.execute_run(run_id)`` (after the commit:
a worker never sees a run id that is not in the database yet). Delivery is at-least-once; the
worker's compare-and-set claim makes a second delivery of the same run a no-op.

Deliberate settings, each because a run is long and must not be lost:

- ``task_acks_late``: the message is acknowledged when the run's task returns, not when it starts,
  so a worker killed mid-run leaves its message to be delivered again.
- ``task_reject_on_worker_lost``: a child killed by a signal re-queues its message instead of
  acknowledging it as failed.
- ``worker_prefetch_multiplier=1``: a worker reserves one message per free slot, so a long run never
  holds a second one hostage while other workers are idle.
- Workers use Celery's thread pool around one event loop per process (runs are I/O and
  thread-pool bound, and one process heartbeats all its leases at once). Celery cannot kill a
  thread, so the time limit ``run_time_limit_seconds`` is enforced by the task itself: past it the
  run's execution is cancelled, its lease lapses and the sweeper re-queues it (finished nodes
  stay), until ``max_run_attempts`` fails it.
- Redis visibility timeout above the time limit, so Redis does not redeliver a run still executing.
  RabbitMQ's own ``consumer_timeout`` (30 min by default) must likewise exceed the time limit, or the
  broker closes the channel of a worker still executing a long run and redelivers its message.
- Each worker's Celery node name is its own (``pixelmill-<pid>@host``, see cli/worker.py): with
  the default ``celery@host`` a second worker on one host loses its RabbitMQ remote-control queue.
- Priorities: RabbitMQ queues are declared with ``x-max-priority`` (higher first); Redis emulates
  priorities with one list per step where a lower number goes first, so the number is inverted.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pixelmill.config import Settings
from pixelmill.engine.node import BaseNode, NodeRegistry
from pixelmill.errors import PixelmillError
from pixelmill.providers.registry import ProviderRegistry
from pixelmill.services.run_signals import QueuedRun

EXECUTE_RUN = "pixelmill.execute_run"
CAPABILITIES = ("gpu", "cpu", "remote")
MAX_PRIORITY = 10

log = logging.getLogger("pixelmill.dispatch")


def queue_name(capability: str) -> str:
    return f"pixelmill.{capability}"


def node_capability(cls: type[BaseNode], inputs: dict[str, Any], providers: ProviderRegistry | None) -> str:
    """Where one node can run: ``remote`` when it calls a model an upstream API serves (its literal
    ``model`` input, else the field's default, names a model the registry marks ``remote``), else
    its type's own capability. A model fed by an edge is not known before the run: the type's own."""
    field = cls.model_fields.get("model")
    if field is not None and providers is not None:
        model = inputs.get("model", field.default)
        if isinstance(model, str):
            try:
                if providers.model(model).remote:
                    return "remote"
            except PixelmillError:
                # Not configured for the operator: a workspace's own key may serve it, and its id
                # names its upstream; anything else will fail wherever it runs.
                if model.split("/", 1)[0] in providers.upstreams():
                    return "remote"
    return cls.capability


def run_capability(graph: dict[str, Any], registry: NodeRegistry, providers: ProviderRegistry | None = None) -> str:
    """The queue a graph belongs on: ``gpu`` if any node needs a GPU, else ``cpu`` if any computes
    locally, else ``remote`` (every model-bearing node calls an upstream, so any host can wait on
    them). Trivial nodes (arithmetic, constants, templates) run anywhere and do not count; the run
    is the unit of dispatch, so a run mixing upstream calls with local work stays on ``cpu``."""
    found: set[str] = set()
    for item in graph.get("nodes", []):
        cls = registry.get(str(item.get("type")))
        if cls is None:
            found.add("cpu")
        elif not cls.trivial:
            found.add(node_capability(cls, dict(item.get("inputs") or {}), providers))
    for capability in CAPABILITIES:
        if capability in found:
            return capability
    return "cpu"


def create_celery(settings: Settings) -> Any:
    """The Celery application of this fleet; ``celery`` (the extra) is imported only here."""
    from celery import Celery
    from kombu.entity import Exchange, Queue

    if not settings.broker_url:
        raise ValueError("dispatch = celery needs PIXELMILL_BROKER_URL (redis://… or amqp://…)")
    app = Celery("pixelmill", broker=settings.broker_url)
    limit = settings.run_time_limit_seconds
    app.conf.update(
        task_queues=[
            Queue(  # type: ignore[no-untyped-call]
                queue_name(capability),
                Exchange(queue_name(capability), type="direct"),  # type: ignore[no-untyped-call]
                routing_key=queue_name(capability),
                queue_arguments={"x-max-priority": MAX_PRIORITY},
            )
            for capability in CAPABILITIES
        ],
        task_default_queue=queue_name("cpu"),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # pixelmill's own logging handles stderr; stdout stays plain
        broker_transport_options={
            "visibility_timeout": limit + 300,
            # Redis: one list per priority step, so higher priorities are taken first.
            "priority_steps": list(range(MAX_PRIORITY + 1)),
            "sep": ":",
            "queue_order_strategy": "priority",
        },
    )
    return app


class CeleryPublisher:
    """Publishes committed runs to their capability's queue at their priority."""

    def __init__(self, app: Any, registry: NodeRegistry, providers: ProviderRegistry | None = None) -> None:
        self.app = app
        self.registry = registry
        self.providers = providers
        self._inverted = str(app.conf.broker_url or "").startswith(("redis://", "rediss://"))
        # One thread, so messages leave in commit order; started on the first publish.
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pixelmill-publish")

    def publish(self, run: QueuedRun) -> None:
        """Hand a committed run to the broker without waiting for it.

        Called in the request that created the run, after its commit: Celery's publish is blocking
        I/O with its own retries, which must neither stall the API's event loop nor fail a request
        whose run already exists (a client seeing a 5xx would retry and create a second run). A
        message that cannot be sent is logged; the sweeper publishes the run once it has been queued
        for ``republish_after_seconds``.
        """
        capability = self.capability(run.graph)
        self._sender.submit(self._send, run.id, run.priority, capability)

    def capability(self, graph: dict[str, Any]) -> str:
        """The queue of a run with this graph (see :func:`run_capability`)."""
        return run_capability(graph, self.registry, self.providers)

    def _send(self, run_id: str, priority: int, capability: str) -> None:
        try:
            self.publish_id(run_id, priority=priority, capability=capability)
        except Exception as exc:
            log.warning("could not publish run %s to the broker (%s); the sweeper will", run_id, type(exc).__name__)

    def close(self) -> None:
        """Send what is still waiting, then stop the sending thread."""
        self._sender.shutdown(wait=True)

    def publish_id(self, run_id: str, *, priority: int, capability: str) -> None:
        self.app.send_task(
            EXECUTE_RUN,
            args=[run_id],
            queue=queue_name(capability),
            priority=self.wire_priority(priority),
        )

    def wire_priority(self, priority: int) -> int:
        bounded = max(0, min(MAX_PRIORITY, priority))
        return MAX_PRIORITY - bounded if self._inverted else bounded
