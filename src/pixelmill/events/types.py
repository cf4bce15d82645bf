"""The shape of a run event, shared by the event log, the live streams and the webhook outbox.

The event log writes rows and then calls every ``EventSubscriber`` with the records it just wrote,
inside the same transaction, so what subscribers write (webhook deliveries) commits or rolls back
with the events themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

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


EventSubscriber = Callable[[AsyncSession, Sequence[EventRecord]], Awaitable[None]]
