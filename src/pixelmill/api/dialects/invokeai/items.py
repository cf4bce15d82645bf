"""What the InvokeAI dialect keeps on each run it enqueues: the queue item's identity.

An item's integer ``item_id`` is the run's numeric alias (:mod:`pixelmill.services.numeric_ids`,
kind ``"run"``); everything else InvokeAI shows about the item and its session lives in the run's
metadata under ``"invokeai"``, so the queue routes and the socket.io events read the same record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pixelmill.db.models import Run

METADATA_KEY = "invokeai"


@dataclass(frozen=True, slots=True)
class QueueIdentity:
    """A run as an InvokeAI queue item: its queue, batch and session, and the node id mappings."""

    queue_id: str
    batch_id: str
    session_id: str
    origin: str | None = None
    destination: str | None = None
    priority: int = 0
    field_values: list[dict[str, Any]] | None = None
    # InvokeAI's graph node id -> the prepared (pixelmill) node ids it became, and back.
    source_prepared_mapping: dict[str, list[str]] = field(default_factory=dict)
    prepared_source_mapping: dict[str, str] = field(default_factory=dict)
    # Each prepared node's InvokeAI type, to show its output in InvokeAI's shape.
    node_types: dict[str, str] = field(default_factory=dict)
    # The session's graph as the client sent it, after the batch's values were written in
    # (``session.graph``), and the batch's ``workflow``, stored as-is on each item.
    graph: dict[str, Any] | None = None
    workflow: dict[str, Any] | None = None
    # The item this one retries (``retry_items_by_id``), and who enqueued it ("system" when unknown).
    retried_from_item_id: int | None = None
    user_id: str = "system"
    # How many sessions the batch asked for (``batch_enqueued.requested``): more than the batch's
    # items when the queue had room for fewer. None for a retried item.
    requested: int | None = None

    def to_metadata(self) -> dict[str, Any]:
        return {METADATA_KEY: asdict(self)}

    @classmethod
    def of(cls, run: Run) -> QueueIdentity | None:
        """The item identity behind ``run``, or None for a run not enqueued through InvokeAI."""
        record = (run.run_metadata or {}).get(METADATA_KEY)
        if not isinstance(record, dict):
            return None
        return cls(**{name: record[name] for name in cls.__dataclass_fields__ if name in record})
