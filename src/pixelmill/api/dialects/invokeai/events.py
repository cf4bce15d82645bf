"""Pixelmill's run events as InvokeAI's socket.io events (services/events/events_common.py): pure
functions from one event record and the queue item it belongs to, to (event name, payload).

- ``run_queued`` -> ``batch_enqueued`` (the runs of one batch committed together arrive together and
  give one event, :func:`batch_enqueued`); ``run_started`` and the terminal events ->
  ``queue_item_status_changed``; a cancellation also -> ``queue_items_canceled``.
- ``node_start`` / ``node_progress`` / ``node_complete`` / ``node_failed`` -> ``invocation_started`` /
  ``invocation_progress`` / ``invocation_complete`` / ``invocation_error``, with the prepared node id
  in ``invocation.id`` and the graph's own id in ``invocation_source_id``.

``queue_cleared`` is not among them: deleting runs writes no event for it to come from.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError

from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.names import image_name_of_ref
from pixelmill.api.dialects.invokeai.timestamps import sqlite_timestamp, unix_seconds
from pixelmill.events.types import EventRecord

Payload = dict[str, Any]

# Pixelmill's run statuses in InvokeAI's words.
STATUS_WORDS: dict[str, str] = {
    "queued": "pending",
    "running": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "canceled",
}
COUNTED = ("pending", "in_progress", "completed", "failed", "canceled")
STATUS_EVENTS = frozenset({"run_started", "run_complete", "run_failed", "run_cancelled"})
_INVOCATION_EVENTS: dict[str, str] = {
    "node_start": "invocation_started",
    "node_progress": "invocation_progress",
    "node_complete": "invocation_complete",
    "node_failed": "invocation_error",
}
_MEDIA = frozenset({"image", "images"})
# InvokeAI's output type of its scalar-valued node types (invocations/math.py, primitives.py,
# strings.py), where a value's Python type alone would say otherwise (pixelmill's math is float).
_SCALAR_OUTPUTS: dict[str, str] = {
    **dict.fromkeys(("add", "sub", "mul", "div", "integer_math", "rand_int", "float_to_int", "integer"), "integer"),
    **dict.fromkeys(("float_math", "rand_float", "round_float", "float"), "float"),
    **dict.fromkeys(("string", "string_join", "string_join_three", "string_replace"), "string"),
    "boolean": "boolean",
}


@dataclass(frozen=True, slots=True)
class QueueItem:
    """What the events of one run need to know about it as a queue item."""

    item_id: int
    identity: QueueIdentity
    user_id: str
    status: str  # pixelmill's
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: Mapping[str, Any] | None = None


def _ts(moment: datetime | None) -> str | None:
    return sqlite_timestamp(moment) if moment is not None else None


def status_counts(statuses: Mapping[str, int]) -> dict[str, int]:
    """``{pending, in_progress, completed, failed, canceled, total}`` from counts by pixelmill status."""
    counts = dict.fromkeys(COUNTED, 0)
    for status, number in statuses.items():
        word = STATUS_WORDS.get(status)
        if word is not None:
            counts[word] += number
    return {**counts, "total": sum(counts.values())}


def batch_status(item: QueueItem, statuses: Mapping[str, int]) -> Payload:
    """BatchStatus of the item's batch, from the batch's runs counted by pixelmill status."""
    identity = item.identity
    return {
        "queue_id": identity.queue_id,
        "batch_id": identity.batch_id,
        "origin": identity.origin,
        "destination": identity.destination,
        **status_counts(statuses),
    }


def queue_status(item: QueueItem, statuses: Mapping[str, int], current: QueueItem | None) -> Payload:
    """SessionQueueStatus of the item's queue: counts, and the in-progress item when there is one."""
    counts = status_counts(statuses)
    return {
        "queue_id": item.identity.queue_id,
        "item_id": current.item_id if current is not None else None,
        "batch_id": current.identity.batch_id if current is not None else None,
        "session_id": current.identity.session_id if current is not None else None,
        **counts,
        "user_pending": counts["pending"],
        "user_in_progress": counts["in_progress"],
    }


def _error_fields(error: Mapping[str, Any] | None) -> Payload:
    if not error:
        return {"error_type": None, "error_message": None, "error_traceback": None}
    return {
        "error_type": str(error.get("code") or "Error"),
        "error_message": str(error.get("message") or ""),
        "error_traceback": None,  # pixelmill never sends a server traceback to a client
    }


def queue_item_status_changed(
    record: EventRecord, item: QueueItem, batch: Payload, queue: Payload
) -> tuple[str, Payload] | None:
    """The status change a run's status event is, in InvokeAI's payload; None for other events."""
    if record.name not in STATUS_EVENTS:
        return None
    identity = item.identity
    status = STATUS_WORDS[str(record.data.get("status", item.status))]
    error = (record.data.get("error") or item.error) if status == "failed" else None
    return "queue_item_status_changed", {
        "timestamp": unix_seconds(record.created_at),
        "queue_id": identity.queue_id,
        "item_id": item.item_id,
        "batch_id": identity.batch_id,
        "origin": identity.origin,
        "destination": identity.destination,
        "user_id": item.user_id,
        "session_id": identity.session_id,
        "status": status,
        # Event ids only grow, so they order one item's transitions as InvokeAI's counter does.
        "status_sequence": record.id,
        **_error_fields(error if isinstance(error, Mapping) else None),
        "created_at": sqlite_timestamp(item.created_at),
        "updated_at": sqlite_timestamp(record.created_at),
        "started_at": _ts(item.started_at),
        "completed_at": _ts(item.completed_at) if status in ("completed", "failed", "canceled") else None,
        "batch_status": batch,
        "queue_status": queue,
    }


def batch_enqueued(items: Sequence[QueueItem], at: datetime) -> Payload:
    """One ``batch_enqueued`` for the items of one batch queued together (all share its identity)."""
    identity = items[0].identity
    return {
        "timestamp": unix_seconds(at),
        "queue_id": identity.queue_id,
        "batch_id": identity.batch_id,
        "enqueued": len(items),
        "requested": len(items),
        "priority": identity.priority,
        "origin": identity.origin,
        "user_id": items[0].user_id,
    }


def queue_items_canceled(queue_id: str, items: Sequence[QueueItem], at: datetime) -> Payload:
    """One ``queue_items_canceled`` for items of one queue cancelled together."""
    by_user: dict[str, list[int]] = {}
    for item in items:
        by_user.setdefault(item.user_id, []).append(item.item_id)
    return {
        "timestamp": unix_seconds(at),
        "queue_id": queue_id,
        "canceled_item_ids": [item.item_id for item in items],
        "user_ids": sorted(by_user),
        "canceled_item_ids_by_user": by_user,
    }


def _image_field(ref: Any) -> Payload | None:
    name = image_name_of_ref(ref)
    return {"image_name": name} if name is not None else None


def _collection_type(values: list[Any]) -> str:
    if values and all(isinstance(v, dict) for v in values):
        return "image_collection_output"
    if all(isinstance(v, bool) for v in values) and values:
        return "boolean_collection_output"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer_collection_output"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float_collection_output"
    if all(isinstance(v, str) for v in values):
        return "string_collection_output"
    return "collect_output"


def _as(kind: str, value: int | float | str | bool) -> Any:
    """``value`` as the Python type of InvokeAI's ``<kind>_output``: a float truncated to an int, as
    InvokeAI's ``div`` computes ``int(a / b)``."""
    if kind == "integer" and isinstance(value, float) and math.isfinite(value):
        return int(value)
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def invocation_result(invokeai_type: str | None, output: Mapping[str, Any], outputs: Mapping[str, Any]) -> Payload:
    """A node's output in InvokeAI's shape (``integer_output{value}``, ``image_output{image, width,
    height}``, ``*_collection_output{collection}``), with ``output_meta: null`` as events send it.
    ``output`` is the primary ``{type, value}``, ``outputs`` every field of the node."""
    kind, value = output.get("type"), output.get("value")
    result: Payload
    if kind in _MEDIA and isinstance(value, dict):
        result = {
            "type": "image_output",
            "image": _image_field(value),
            "width": value.get("width"),
            "height": value.get("height"),
        }
    elif kind in _MEDIA and isinstance(value, list):
        result = {"type": "image_collection_output", "collection": [_image_field(v) for v in value]}
    elif invokeai_type == "iterate" and {"item", "index", "total"} <= set(outputs):
        result = {"type": "iterate_output", **{name: outputs[name] for name in ("item", "index", "total")}}
    elif isinstance(value, list):
        collection = [(_image_field(v) if isinstance(v, dict) else v) for v in value]
        kind_name = "collect_output" if invokeai_type == "collect" else _collection_type(value)
        result = {"type": kind_name, "collection": collection}
    elif invokeai_type in _SCALAR_OUTPUTS and isinstance(value, int | float | str | bool):
        result = {
            "type": f"{_SCALAR_OUTPUTS[invokeai_type]}_output",
            "value": _as(_SCALAR_OUTPUTS[invokeai_type], value),
        }
    elif isinstance(value, bool):
        result = {"type": "boolean_output", "value": value}
    elif isinstance(value, int):
        result = {"type": "integer_output", "value": value}
    elif isinstance(value, float):
        result = {"type": "float_output", "value": value}
    elif isinstance(value, str):
        result = {"type": "string_output", "value": value}
    else:
        result = {"type": f"{invokeai_type or 'json'}_output", "value": value}
    return {**result, "output_meta": None}


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
        "timestamp": unix_seconds(record.created_at),
        "queue_id": identity.queue_id,
        "item_id": item.item_id,
        "batch_id": identity.batch_id,
        "origin": identity.origin,
        "destination": identity.destination,
        "user_id": item.user_id,
        "session_id": identity.session_id,
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
        output = data.get("output")
        outputs = data.get("outputs")
        payload["result"] = invocation_result(
            invokeai_type,
            output if isinstance(output, dict) else {},
            outputs if isinstance(outputs, dict) else {},
        )
    elif record.name == "node_failed":
        error = data.get("error")
        payload |= _error_fields(error if isinstance(error, Mapping) else {"message": "The node failed"})
    return name, payload


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """What status events carry, read once per batch of records: runs by pixelmill status per
    (queue_id, batch_id) and per queue, and each queue's in-progress item."""

    batches: Mapping[tuple[str, str], Mapping[str, int]]
    queues: Mapping[str, Mapping[str, int]]
    current: Mapping[str, QueueItem | None]


def socket_events(
    records: Sequence[EventRecord], items: Mapping[str, QueueItem], counts: QueueCounts
) -> list[tuple[str, Payload]]:
    """The InvokeAI events of records delivered together (every record's run is in ``items``), in
    their order: one ``batch_enqueued`` per batch at its first ``run_queued``, then after them all one
    ``queue_items_canceled`` per queue whose items were cancelled among them."""
    queued: dict[str, list[QueueItem]] = {}
    cancelled: dict[str, list[QueueItem]] = {}
    for record in records:
        item = items[record.run_id]
        if record.name == "run_queued":
            queued.setdefault(item.identity.batch_id, []).append(item)
        elif record.name == "run_cancelled":
            cancelled.setdefault(item.identity.queue_id, []).append(item)
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
        batch = batch_status(item, counts.batches.get((identity.queue_id, identity.batch_id), {}))
        queue = queue_status(item, counts.queues.get(identity.queue_id, {}), counts.current.get(identity.queue_id))
        changed = queue_item_status_changed(record, item, batch, queue)
        if changed is not None:
            out.append(changed)
    if records:
        at = records[-1].created_at
        out += [("queue_items_canceled", queue_items_canceled(q, group, at)) for q, group in cancelled.items()]
    return out
