"""Run events from the run lifecycle and the executor, and their client-facing rendering.

- Status transitions: a run hook appends ``run_queued`` / ``run_started`` / ``run_complete`` /
  ``run_failed`` / ``run_cancelled`` inside the transition's own transaction.
- Node events come from the dispatcher's executor listener, each in a short transaction of its own.
  Why not inside the node result's transaction (``SqlResultStore.save``)? ``node_start`` and
  ``node_progress`` have no row to ride with and reach the listener through the executor's ordered
  event pump, after the fact; writing ``node_complete`` synchronously inside ``save`` would let it
  overtake its own ``node_start`` still queued in the pump, and ids would no longer follow the
  order things happened. The pump delivers every node event before the executor returns, so all
  node events of a run are committed before its terminal transition. The cost: a crash in the
  milliseconds between a node's result commit and its event commit loses that one node event (the
  run's terminal event, which carries all outputs, is still written with the transition).
- Stored data keeps media as references; :func:`render` turns them into signed URLs per reader,
  so a replay days later still gets working links.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pixelmill.engine import compat
from pixelmill.engine.events import ExecutionListener, NodeEvent
from pixelmill.events.log import EventLog, NewEvent
from pixelmill.events.types import EventName, EventRecord
from pixelmill.services.run_lifecycle import RunTransition
from pixelmill.services.run_outputs import public_value

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from pixelmill.config import Settings
    from pixelmill.runtime import Runtime

_TRANSITION_EVENTS: dict[str, EventName] = {
    "queued": "run_queued",
    "running": "run_started",
    "completed": "run_complete",
    "failed": "run_failed",
    "cancelled": "run_cancelled",
}
_NODE_EVENTS: frozenset[str] = frozenset({"node_start", "node_progress", "node_complete", "node_cached", "node_failed"})


def transition_event(transition: RunTransition) -> NewEvent:
    """The event of one status transition; terminal ones carry what imageat documents."""
    run = transition.run
    name = _TRANSITION_EVENTS[transition.status]
    data: dict[str, Any] = {"status": transition.status}
    if transition.status == "running":
        data["attempt"] = run.attempt
    if name in ("run_complete", "run_failed", "run_cancelled"):
        data["outputs"] = run.outputs or {}
        data["credits_used"] = run.credits_used
        if run.error:
            data["error"] = run.error
    return NewEvent(run.workspace_id, run.id, name, data)


def node_event(workspace_id: str, event: NodeEvent, primary_field: str | None = None) -> NewEvent | None:
    """The run event of one executor event (None for ``node_cancelled``: ``run_cancelled`` says it).
    ``output`` is the primary output field shaped like the run's ``outputs`` entry."""
    if event.kind not in _NODE_EVENTS:
        return None
    data: dict[str, Any] = {"node_id": event.node_id, "node_type": event.node_type}
    if event.kind == "node_progress":
        data["progress"] = event.progress
        if event.message is not None:
            data["message"] = event.message
    elif event.kind in ("node_complete", "node_cached"):
        outputs = event.outputs or {}
        output_type = event.output_type or "json"
        primary = outputs.get(primary_field) if primary_field is not None else next(iter(outputs.values()), None)
        data["output"] = {"type": output_type, "value": primary}
        data["outputs"] = outputs
        data["cost"] = event.cost
        data["cached"] = event.kind == "node_cached"
        if event.duration_ms is not None:
            data["duration_ms"] = round(event.duration_ms, 3)
    elif event.kind == "node_failed":
        data["error"] = event.error
    return NewEvent(workspace_id, event.run_id, event.kind, data)  # type: ignore[arg-type]


class RunEventWriter:
    """Writes a runtime's run events; installed on the runtime by :func:`install`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.log = EventLog(runtime.event_bus, runtime.event_subscribers)

    async def on_transition(self, session: AsyncSession, transition: RunTransition, /) -> None:
        await self.log.append(session, [transition_event(transition)])

    def node_listener(self, run_id: str, workspace_id: str) -> ExecutionListener:
        """A listener writing the node events of one run, ``node_progress`` throttled per node."""
        min_gap = 1.0 / self.runtime.settings.events_progress_per_second
        last_progress: dict[str, float] = {}

        async def listen(event: NodeEvent) -> None:
            if event.kind == "node_progress":
                now = time.monotonic()
                if now - last_progress.get(event.node_id, -min_gap) < min_gap:
                    return
                last_progress[event.node_id] = now
            cls = self.runtime.nodes.get(event.node_type)
            item = node_event(workspace_id, event, compat.primary_output(cls) if cls is not None else None)
            if item is None:
                return
            async with self.runtime.db.session() as session:
                await self.log.append(session, [item])

        return listen


def install(runtime: Runtime) -> RunEventWriter:
    """Register the run hook that writes transition events (once per runtime)."""
    writer = RunEventWriter(runtime)
    runtime.run_hooks.append(writer.on_transition)
    return writer


def render(record: EventRecord, settings: Settings, base_url: str) -> dict[str, Any]:
    """The event as a client sees it: media references become signed URLs on this server."""
    data = record.data
    if record.name in ("node_complete", "node_cached"):
        output = data.get("output")
        if isinstance(output, dict):
            value = public_value(
                output,
                run_id=record.run_id,
                node_id=str(data.get("node_id")),
                secret=settings.secret,
                ttl=settings.signed_url_ttl_seconds,
                base_url=base_url,
            )
            return {**data, "output": {"type": output.get("type"), "value": value}}
    elif record.name in ("run_complete", "run_failed", "run_cancelled"):
        outputs = data.get("outputs")
        if isinstance(outputs, dict) and outputs:
            public = {
                node_id: {
                    "type": output.get("type"),
                    "value": public_value(
                        output,
                        run_id=record.run_id,
                        node_id=node_id,
                        secret=settings.secret,
                        ttl=settings.signed_url_ttl_seconds,
                        base_url=base_url,
                    ),
                }
                for node_id, output in outputs.items()
                if isinstance(output, dict)
            }
            return {**data, "outputs": public}
    return data
