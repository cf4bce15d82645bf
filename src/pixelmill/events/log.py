"""The event log: append run events inside the caller's transaction, publish them once it commits.

- ``EventLog.append`` inserts the rows, then calls every ``EventSubscriber`` (webhook outbox) with
  the records in the same session, so events and what depends on them commit or roll back together.
- The records are handed to the live bus by a SQLAlchemy ``after_commit`` hook on that session:
  nothing reaches a stream before it is durable, and nothing of a rolled-back transaction ever does.
- Ids must reach readers in increasing order, or a client resuming from ``Last-Event-ID`` would
  skip an event committed late with a smaller id. SQLite has one writer at a time, so its ids are
  allocated in commit order. On PostgreSQL concurrent transactions can commit out of id order, so
  an append first takes a transaction-scoped advisory lock per workspace: event-writing
  transactions of one workspace commit one after the other, in id order.
- ``purge`` drops events older than the retention period; a stream resuming from a purged cursor
  gets a ``replay-gap`` event (see :mod:`pixelmill.events.sse`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from pixelmill.db.base import utcnow
from pixelmill.db.models.events import RunEvent
from pixelmill.db.session import Database
from pixelmill.events.bus import EventBus
from pixelmill.events.metrics import EVENTS_APPENDED
from pixelmill.events.types import EventName, EventRecord, EventSubscriber

if TYPE_CHECKING:
    from pixelmill.db.models import Run

log = logging.getLogger("pixelmill.events")

_PENDING = "pixelmill.events.pending"  # session.info key: [(bus, records), ...] awaiting commit

# Core statements on the table, built once: the ORM's bulk insert path costs more than the insert.
_TABLE: Table = RunEvent.__table__  # type: ignore[assignment]
_INSERT = insert(_TABLE).returning(_TABLE.c.id)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; ``data`` gets ``event`` and ``run_id`` added."""

    workspace_id: str
    run_id: str
    name: EventName
    data: dict[str, Any]


def workspace_lock_key(workspace_id: str) -> int:
    """A signed 64-bit advisory lock key for ``workspace_id`` (stable across processes)."""
    return int.from_bytes(
        hashlib.blake2b(f"run_events:{workspace_id}".encode(), digest_size=8).digest(), "big", signed=True
    )


class EventLog:
    """Appends events for one process: its subscribers and its live bus."""

    def __init__(self, bus: EventBus | None, subscribers: Sequence[EventSubscriber]) -> None:
        self.bus = bus
        # The caller's list itself, so subscribers registered later (webhooks) are seen.
        self.subscribers = subscribers

    async def append(
        self, session: AsyncSession, events: Sequence[NewEvent], runs: Mapping[str, Run] | None = None
    ) -> list[EventRecord]:
        """Insert ``events`` in the session's transaction, call the subscribers, and publish them to
        the bus after the transaction commits. The caller commits. ``runs``: rows of the events' runs
        the caller holds as they are in this transaction, handed to the subscribers."""
        if not events:
            return []
        if session.bind is not None and session.get_bind().dialect.name == "postgresql":
            for key in sorted({workspace_lock_key(item.workspace_id) for item in events}):
                await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {
                "workspace_id": item.workspace_id,
                "run_id": item.run_id,
                "name": item.name,
                "data": {"event": item.name, "run_id": item.run_id, **item.data},
                "created_at": now,
            }
            for item in events
        ]
        # One statement for the whole batch: a multi-row INSERT … RETURNING. Both databases number the
        # rows of one statement in row order, but neither promises to return them in that order.
        if len(rows) == 1:
            ids = [(await session.execute(_INSERT, rows[0])).scalar_one()]
        else:
            ids = sorted((await session.execute(_INSERT, rows)).scalars())
        records = [
            EventRecord(event_id, row["workspace_id"], row["run_id"], row["name"], row["data"], now)
            for event_id, row in zip(ids, rows, strict=True)
        ]
        for subscriber in self.subscribers:
            await subscriber(session, records, runs or {})
        for record in records:
            EVENTS_APPENDED.labels(record.name).inc()
        if self.bus is not None:
            session.info.setdefault(_PENDING, []).append((self.bus, records))
        return records


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    pending: list[tuple[EventBus, list[EventRecord]]] | None = session.info.pop(_PENDING, None)
    for bus, records in pending or ():
        try:
            bus.publish(records)
        except Exception:
            # The transaction is committed: a failing bus must not make the commit look failed
            # (streams recover what they missed from the table on reconnect).
            log.exception("publishing %d committed events failed", len(records))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def to_record(row: RunEvent) -> EventRecord:
    return EventRecord(row.id, row.workspace_id, row.run_id, row.name, row.data, row.created_at)  # type: ignore[arg-type]


async def purge(db: Database, retention_days: float, *, now: datetime | None = None, batch: int = 5000) -> int:
    """Delete events older than ``retention_days``, in batches (short transactions); how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    removed = 0
    while True:
        async with db.session() as session:
            ids = list(
                await session.scalars(
                    select(RunEvent.id).where(RunEvent.created_at < cutoff).order_by(RunEvent.id).limit(batch)
                )
            )
            if not ids:
                return removed
            await session.execute(delete(RunEvent).where(RunEvent.id.in_(ids)))
            removed += len(ids)
