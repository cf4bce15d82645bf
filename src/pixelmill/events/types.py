"""The shape of a run event, shared by the event log, the live streams and the webhook outbox.

The event log writes rows and then calls every ``EventSubscriber`` with the records it just wrote,
inside the same transaction, so what subscribers write (webhook deliveries) commits or rolls back
with the events themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from pixelmill.db.models import Run

EventName = Literal[
    "run_queued",
    "run_started",
    "node_start",
    "node_progress",
    "node_complete",
    "node_cached",
    "node_failed",
    "run_complete",
    "run_failed",
    "run_cancelled",
    "run_deleted",
]

TERMINAL_EVENTS: frozenset[str] = frozenset({"run_complete", "run_failed", "run_cancelled"})


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event; ``id`` is increasing and is the SSE ``id:`` field."""

    id: int
    workspace_id: str
    run_id: str
    name: EventName
    data: dict[str, Any]  # the JSON body clients see: {"event": name, "run_id": ..., "node_id": ..., ...}
    created_at: datetime


class EventSubscriber(Protocol):
    """Called with the records just written, inside their transaction. ``runs`` holds the rows of
    the records' runs that the writer already has in hand, as they are in this transaction (a status
    transition's run), so a subscriber need not read them again; runs missing from it are not."""

    async def __call__(
        self, session: AsyncSession, records: Sequence[EventRecord], runs: Mapping[str, Run], /
    ) -> None: ...
