"""Run events from the run lifecycle and the executor, and their client-facing rendering.

- Status transitions: a run hook appends ``run_queued`` / ``run_started`` / ``run_complete`` /
  ``run_failed`` / ``run_cancelled`` inside the transition's own transaction.
- Node events come from the dispatcher's executor listener (:class:`NodeEventBatch`). They are not
  written one transaction each: the batch collects them and writes what gathered once
  ``NODE_EVENT_DELAY_SECONDS`` passed since the first unwritten one (or ``NODE_EVENT_BATCH`` of them
  gathered), in one transaction, and the
  dispatcher takes whatever is still unwritten when the run ends into the terminal transition's
  transaction, ahead of the terminal event (``RunTransition.earlier_events``). A run whose nodes are
  all quick thus writes its node events with its terminal event, at no cost of their own; a long
  node's ``node_start`` reaches streams after that delay. Why not inside the node result's
  transaction (``SqlResultStore.save``)? ``node_start`` and ``node_progress`` have no row to ride
  with and reach the listener through the executor's ordered event pump, after the fact; writing
  ``node_complete`` synchronously inside ``save`` would let it overtake its own ``node_start`` still
  queued in the pump, and ids would no longer follow the order things happened. The pump delivers
  every node event before the executor returns, so all node events of a run are committed no later
  than its terminal transition, with smaller ids. The cost: a crash within the delay after a node's
  result commit loses the node events not yet written (the run's terminal event, which carries all
  outputs, is still written with the transition, and a resumed run does not repeat finished nodes).
- Stored data keeps media as references; :func:`render` turns them into signed URLs per reader,
  so a replay days later still gets working links.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pixelmill.engine import compat
from pixelmill.engine.events import NodeEvent
from pixelmill.events.log import EventLog, NewEvent
from pixelmill.events.types import EventName, EventRecord
from pixelmill.services.run_lifecycle import RunTransition
from pixelmill.services.run_outputs import public_entry

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from pixelmill.config import Settings
    from pixelmill.runtime import Runtime

log = logging.getLogger("pixelmill.events")

# How long a node event may wait to be written together with the events after it, and how many may
# wait: a batch is published to the streams as one, and a stream's buffer (sse_listener_buffer) is
# checked per publish, so batches stay well under it.
NODE_EVENT_DELAY_SECONDS = 0.05
NODE_EVENT_BATCH = 16

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


def node_events(workspace_id: str, event: NodeEvent, primary_field: str | None = None) -> list[NewEvent]:
    """The run events of one executor event (none for ``node_cancelled``: ``run_cancelled`` says it).
    ``output`` is the primary output field shaped like the run's ``outputs`` entry. A cache hit is
    ``node_cached`` followed by ``node_complete`` with the same data (``cached: true``), so a client
    that reads outputs or counts finished nodes from ``node_complete``, as imageat documents, sees
    every node."""
    if event.kind not in _NODE_EVENTS:
        return []
    data: dict[str, Any] = {"node_id": event.node_id, "node_type": event.node_type}
    if event.kind == "node_progress":
        data["progress"] = event.progress
        if event.message is not None:
            data["message"] = event.message
        if event.preview is not None:
            data["preview"] = event.preview
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
    first = NewEvent(workspace_id, event.run_id, event.kind, data)  # type: ignore[arg-type]
    if event.kind == "node_cached":
        return [first, NewEvent(workspace_id, event.run_id, "node_complete", dict(data))]
    return [first]


class RunEventWriter:
    """Writes a runtime's run events; installed on the runtime by :func:`install`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.log = EventLog(runtime.event_bus, runtime.event_subscribers)
        self.on_transition = _TransitionEvents(self.log)

    def node_listener(self, run_id: str, workspace_id: str) -> NodeEventBatch:
        """The node events of one run, ``node_progress`` throttled per node, written in batches."""
        return NodeEventBatch(self, run_id, workspace_id)

    def node_items(self, workspace_id: str, event: NodeEvent) -> list[NewEvent]:
        cls = self.runtime.nodes.get(event.node_type)
        return node_events(workspace_id, event, compat.primary_output(cls) if cls is not None else None)


class _TransitionEvents:
    """The run hook writing transition events (with the earlier events riding on a transition); a
    batch of transitions committed together is written with one insert."""

    def __init__(self, event_log: EventLog) -> None:
        self.log = event_log

    async def __call__(self, session: AsyncSession, transition: RunTransition, /) -> None:
        await self.many(session, [transition])

    async def many(self, session: AsyncSession, transitions: Sequence[RunTransition], /) -> None:
        items: list[NewEvent] = []
        for transition in transitions:
            items += [*transition.earlier_events, transition_event(transition)]
        await self.log.append(session, items, {transition.run.id: transition.run for transition in transitions})


class NodeEventBatch:
    """The node events of one executing run (an ``ExecutionListener``), written in batches: see the
    module docstring. :meth:`take` ends the background writing and returns what is left."""

    def __init__(self, writer: RunEventWriter, run_id: str, workspace_id: str) -> None:
        self.writer = writer
        self.run_id = run_id
        self.workspace_id = workspace_id
        self._min_gap = 1.0 / writer.runtime.settings.events_progress_per_second
        self._last_progress: dict[str, float] = {}
        self._pending: list[NewEvent] = []
        self._flusher: asyncio.Task[None] | None = None
        self._full = asyncio.Event()  # NODE_EVENT_BATCH events wait: write them now
        self._writing = False
        self._taken = False

    async def __call__(self, event: NodeEvent, /) -> None:
        if event.kind == "node_progress":
            now = time.monotonic()
            if now - self._last_progress.get(event.node_id, -self._min_gap) < self._min_gap:
                return
            self._last_progress[event.node_id] = now
        items = self.writer.node_items(self.workspace_id, event)
        if not items:
            return
        self._pending += items
        if len(self._pending) >= NODE_EVENT_BATCH:
            self._full.set()
        if self._flusher is None and not self._taken:
            self._flusher = asyncio.create_task(self._flush_later(), name=f"node-events:{self.run_id}")

    async def _flush_later(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._full.wait(), NODE_EVENT_DELAY_SECONDS)
        self._writing = True
        try:
            while self._pending and not self._taken:
                self._full.clear()
                batch, self._pending = self._pending[:NODE_EVENT_BATCH], self._pending[NODE_EVENT_BATCH:]
                try:
                    async with self.writer.runtime.db.session() as session:
                        await self.writer.log.append(session, batch)
                except Exception:
                    # The run goes on; its terminal event still carries every output.
                    log.exception("writing %d node events of run %s failed", len(batch), self.run_id)
        finally:
            self._writing = False
            self._flusher = None

    async def take(self) -> list[NewEvent]:
        """Stop writing in the background (waiting for a write in progress) and return the events
        not written yet (at most ``NODE_EVENT_BATCH``: older ones are written here first), for the
        caller to write in its own transaction."""
        self._taken = True
        flusher = self._flusher
        if flusher is not None:
            if not self._writing:
                flusher.cancel()
            await asyncio.wait([flusher])  # (its cancellation is not ours: nothing is raised here)
        while len(self._pending) > NODE_EVENT_BATCH:
            batch, self._pending = self._pending[:NODE_EVENT_BATCH], self._pending[NODE_EVENT_BATCH:]
            async with self.writer.runtime.db.session() as session:
                await self.writer.log.append(session, batch)
        pending, self._pending = self._pending, []
        return pending

    async def write_rest(self) -> None:
        """Write what :meth:`take` returns in a transaction of its own (a run that ends without a
        terminal transition here: handed back, or taken over)."""
        pending = await self.take()
        if pending:
            async with self.writer.runtime.db.session() as session:
                await self.writer.log.append(session, pending)


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
            entry = public_entry(
                output,
                run_id=record.run_id,
                node_id=str(data.get("node_id")),
                secret=settings.secret,
                ttl=settings.signed_url_ttl_seconds,
                base_url=base_url,
            )
            return {**data, "output": entry}
    elif record.name in ("run_complete", "run_failed", "run_cancelled"):
        outputs = data.get("outputs")
        if isinstance(outputs, dict) and outputs:
            public = {
                node_id: public_entry(
                    output,
                    run_id=record.run_id,
                    node_id=node_id,
                    secret=settings.secret,
                    ttl=settings.signed_url_ttl_seconds,
                    base_url=base_url,
                )
                for node_id, output in outputs.items()
                if isinstance(output, dict)
            }
            return {**data, "outputs": public}
    return data
