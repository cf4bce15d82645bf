"""Pixelmill's run events as InvokeAI's socket.io events (services/events/events_common.py): pure
functions from one event record and the queue item it belongs to, to (event name, payload).

- ``run_queued`` -> ``batch_enqueued`` (the runs of one batch committed together arrive together and
  give one event, :func:`batch_enqueued`); ``run_started`` and the terminal events ->
  ``queue_item_status_changed``; a cancellation also -> ``queue_items_canceled``.
- ``node_start`` / ``node_progress`` / ``node_complete`` / ``node_failed`` -> ``invocation_started`` /
  ``invocation_progress`` / ``invocation_complete`` / ``invocation_error``, with the prepared node id
  in ``invocation.id`` and the graph's own id in ``invocation_source_id``.
- ``run_deleted`` of items that leave their queue empty -> one ``queue_cleared`` for the queue.

An item is said as the queue routes say it (:mod:`.queue`: status words, sequence, error fields,
timestamps, batch and queue status) and a node's output as ``session.results`` shows it
(:func:`.graphs.result_of`), so a socket and ``GET /i/{item_id}`` never disagree.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError

from pixelmill.api.dialects.invokeai.graphs import result_of
from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.queue import STATUS_WORDS, error_fields, status_sequence, timestamp
from pixelmill.api.dialects.invokeai.timestamps import sqlite_timestamp, unix_seconds
from pixelmill.events.types import EventRecord

Payload = dict[str, Any]

STATUS_EVENTS = frozenset({"run_started", "run_complete", "run_failed", "run_cancelled"})
_INVOCATION_EVENTS: dict[str, str] = {
    "node_start": "invocation_started",
    "node_progress": "invocation_progress",
    "node_complete": "invocation_complete",
    "node_failed": "invocation_error",
}


@dataclass(frozen=True, slots=True)
class QueueItem:
    """What the events of one run need to know about it as a queue item."""

    item_id: int
    identity: QueueIdentity
    status: str  # pixelmill's
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: Mapping[str, Any] | None = None


def _about(record: EventRecord, item: QueueItem) -> Payload:
    """What every event about one item carries: when, and which item of which queue, batch and session."""
    identity = item.identity
    return {
        "timestamp": unix_seconds(record.created_at),
        "queue_id": identity.queue_id,
        "item_id": item.item_id,
        "batch_id": identity.batch_id,
        "origin": identity.origin,
        "destination": identity.destination,
        "user_id": identity.user_id,
        "session_id": identity.session_id,
    }


def queue_item_status_changed(
    record: EventRecord, item: QueueItem, batch: Payload, queue: Payload
) -> tuple[str, Payload] | None:
    """The status change a run's status event is, in InvokeAI's payload; None for other events."""
    if record.name not in STATUS_EVENTS:
        return None
    pixelmill_status = str(record.data.get("status", item.status))
    status = STATUS_WORDS[pixelmill_status]
    error = (record.data.get("error") or item.error) if status == "failed" else None
    return "queue_item_status_changed", {
        **_about(record, item),
        "status": status,
        "status_sequence": status_sequence(pixelmill_status, item.started_at is not None),
        **error_fields(error if isinstance(error, Mapping) else None),
        "created_at": sqlite_timestamp(item.created_at),
        "updated_at": sqlite_timestamp(record.created_at),
        "started_at": timestamp(item.started_at),
        "completed_at": timestamp(item.completed_at) if status in ("completed", "failed", "canceled") else None,
        "batch_status": batch,
        "queue_status": queue,
    }


def batch_enqueued(items: Sequence[QueueItem], at: datetime) -> Payload:
    """One ``batch_enqueued`` for the items of one batch queued together (all share its identity);
    ``requested`` is what the batch asked for, more than ``enqueued`` when the queue had no room."""
    identity = items[0].identity
    return {
        "timestamp": unix_seconds(at),
        "queue_id": identity.queue_id,
        "batch_id": identity.batch_id,
        "enqueued": len(items),
        "requested": max(identity.requested or 0, len(items)),
        "priority": identity.priority,
        "origin": identity.origin,
        "user_id": identity.user_id,
    }


def queue_items_canceled(queue_id: str, items: Sequence[QueueItem], at: datetime) -> Payload:
    """One ``queue_items_canceled`` for items of one queue cancelled together."""
    by_user: dict[str, list[int]] = {}
    for item in items:
        by_user.setdefault(item.identity.user_id, []).append(item.item_id)
    return {
        "timestamp": unix_seconds(at),
        "queue_id": queue_id,
        "canceled_item_ids": [item.item_id for item in items],
        "user_ids": sorted(by_user),
        "canceled_item_ids_by_user": by_user,
    }


def progress_image(preview: Any) -> Payload | None:
    """``{width, height, dataURL}`` of a node's ``data:`` URI preview; None when there is none or it
    does not decode."""
    if not isinstance(preview, str) or not preview.startswith("data:image/"):
        return None
    _head, _, encoded = preview.partition(",")
    try:
        with Image.open(io.BytesIO(base64.b64decode(encoded, validate=True))) as image:
            width, height = image.size
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        return None
    return {"width": width, "height": height, "dataURL": preview}


def invocation_event(record: EventRecord, item: QueueItem) -> tuple[str, Payload] | None:
    """The ``invocation_*`` event of one node event; None for other events and cache-hit markers."""
    name = _INVOCATION_EVENTS.get(record.name)
    if name is None:
        return None
    data = record.data
    identity = item.identity
    prepared_id = str(data.get("node_id"))
    invokeai_type = identity.node_types.get(prepared_id)
    payload: Payload = {
        **_about(record, item),
        "invocation": {"id": prepared_id, "type": invokeai_type or str(data.get("node_type"))},
        "invocation_source_id": identity.prepared_source_mapping.get(prepared_id, prepared_id),
    }
    if record.name == "node_progress":
        progress = data.get("progress")
        payload |= {
            "message": str(data.get("message") or ""),
            "percentage": float(progress) if isinstance(progress, int | float) else None,
            "image": progress_image(data.get("preview")),
            "device": None,
        }
    elif record.name == "node_complete":
        outputs = data.get("outputs")
        shown = result_of(invokeai_type or str(data.get("node_type")), outputs if isinstance(outputs, dict) else {})
        payload["result"] = {**shown, "output_meta": None}
    elif record.name == "node_failed":
        error = data.get("error")
        payload |= error_fields(error if isinstance(error, Mapping) else {"message": "The node failed"})
    return name, payload


def queue_cleared(queue_id: str, at: datetime) -> Payload:
    """``queue_cleared``: every item of the queue is gone."""
    return {"timestamp": unix_seconds(at), "queue_id": queue_id}


@dataclass(frozen=True, slots=True)
class QueueStatuses:
    """What the events of records delivered together carry, read once for them all, as the HTTP
    routes answer it: the BatchStatus of each (queue_id, batch_id) and the SessionQueueStatus of each
    queue with a status change, and the queues a deletion among them left empty."""

    batches: Mapping[tuple[str, str], Payload]
    queues: Mapping[str, Payload]
    emptied: frozenset[str] = frozenset()


def socket_events(
    records: Sequence[EventRecord], items: Mapping[str, QueueItem], statuses: QueueStatuses
) -> list[tuple[str, Payload]]:
    """The InvokeAI events of records delivered together (every record's run is in ``items``), in
    their order: one ``batch_enqueued`` per batch at its first ``run_queued``, then after them all one
    ``queue_items_canceled`` per queue whose items were cancelled among them and one
    ``queue_cleared`` per queue that their deletions left empty."""
    queued: dict[str, list[QueueItem]] = {}
    cancelled: dict[str, list[QueueItem]] = {}
    deleted: dict[str, None] = {}
    for record in records:
        item = items[record.run_id]
        if record.name == "run_queued":
            queued.setdefault(item.identity.batch_id, []).append(item)
        elif record.name == "run_cancelled":
            cancelled.setdefault(item.identity.queue_id, []).append(item)
        elif record.name == "run_deleted":
            deleted[item.identity.queue_id] = None
    out: list[tuple[str, Payload]] = []
    for record in records:
        item = items[record.run_id]
        identity = item.identity
        if record.name == "run_queued":
            group = queued.pop(identity.batch_id, None)
            if group is not None:
                out.append(("batch_enqueued", batch_enqueued(group, record.created_at)))
            continue
        invocation = invocation_event(record, item)
        if invocation is not None:
            out.append(invocation)
        if record.name not in STATUS_EVENTS:
            continue
        batch = statuses.batches.get((identity.queue_id, identity.batch_id), {})
        changed = queue_item_status_changed(record, item, batch, statuses.queues.get(identity.queue_id, {}))
        if changed is not None:
            out.append(changed)
    if records:
        at = records[-1].created_at
        out += [("queue_items_canceled", queue_items_canceled(q, group, at)) for q, group in cancelled.items()]
        out += [("queue_cleared", queue_cleared(q, at)) for q in deleted if q in statuses.emptied]
    return out
