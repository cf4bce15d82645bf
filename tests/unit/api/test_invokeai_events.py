"""Pixelmill run events as InvokeAI socket.io payloads: the pure translation, field by field."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from pixelmill.api.dialects.invokeai import events
from pixelmill.api.dialects.invokeai.events import QueueItem
from pixelmill.api.dialects.invokeai.graphs import result_of
from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.events.types import EventName, EventRecord

AT = datetime(2026, 8, 19, 12, 30, 45, 123456, tzinfo=UTC)
IDENTITY = QueueIdentity(
    queue_id="default",
    batch_id="batch-1",
    session_id="session-1",
    origin="external-client",
    destination="gallery",
    priority=3,
    source_prepared_mapping={"add-node": ["n_prepared"]},
    prepared_source_mapping={"n_prepared": "add-node"},
    node_types={"n_prepared": "add"},
)


def item(status: str = "running", **changes: Any) -> QueueItem:
    values: dict[str, Any] = {
        "item_id": 7,
        "identity": IDENTITY,
        "status": status,
        "created_at": AT,
        "started_at": AT,
    }
    return QueueItem(**{**values, **changes})


def record(name: EventName, record_id: int = 41, **data: Any) -> EventRecord:
    return EventRecord(record_id, "ws_1", "run_1", name, {"event": name, "run_id": "run_1", **data}, AT)


def test_a_node_start_is_invocation_started_with_the_prepared_and_the_source_id() -> None:
    translated = events.invocation_event(record("node_start", node_id="n_prepared", node_type="math.add"), item())
    assert translated is not None
    name, payload = translated
    assert name == "invocation_started"
    assert payload == {
        "timestamp": int(AT.timestamp()),
        "queue_id": "default",
        "item_id": 7,
        "batch_id": "batch-1",
        "origin": "external-client",
        "destination": "gallery",
        "user_id": "system",
        "session_id": "session-1",
        "invocation": {"id": "n_prepared", "type": "add"},
        "invocation_source_id": "add-node",
    }


def test_a_node_complete_carries_the_result_in_invokeais_shape() -> None:
    event = record(
        "node_complete",
        node_id="n_prepared",
        node_type="math.add",
        output={"type": "json", "value": 5},
        outputs={"value": 5},
    )
    name, payload = events.invocation_event(event, item()) or ("", {})
    assert name == "invocation_complete"
    assert payload["result"] == {"type": "integer_output", "value": 5, "output_meta": None}


def test_a_node_result_is_what_session_results_show_with_output_meta() -> None:
    """The socket's result is graphs.result_of, the same as ``session.results`` over HTTP."""
    ref = {
        "kind": "image",
        "file_id": "file_01J9ZZZZZZZZZZZZZZZZZZZZZZ",
        "mime": "image/png",
        "width": 64,
        "height": 32,
    }
    identity = QueueIdentity(queue_id="default", batch_id="b", session_id="s", node_types={"n": "img_resize"})
    event = record("node_complete", node_id="n", node_type="image.resize", outputs={"image": ref})
    _name, payload = events.invocation_event(event, item(identity=identity)) or ("", {})
    assert payload["result"] == {**result_of("img_resize", {"image": ref}), "output_meta": None}
    assert payload["result"]["image"] == {"image_name": "file_01J9ZZZZZZZZZZZZZZZZZZZZZZ.png"}
    assert (payload["result"]["width"], payload["result"]["height"]) == (64, 32)
    div = record("node_complete", node_id="n", node_type="math.divide", outputs={"value": -2.5})
    divided = item(identity=QueueIdentity(queue_id="q", batch_id="b", session_id="s", node_types={"n": "div"}))
    _name, payload = events.invocation_event(div, divided) or ("", {})
    assert payload["result"] == {"value": -2, "type": "integer_output", "output_meta": None}  # int(a / b)


def test_progress_has_a_fraction_a_message_and_the_preview_with_its_size() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), "red").save(buffer, "PNG")
    preview = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    event = record("node_progress", node_id="n_prepared", node_type="math.add", progress=0.25, message="step 1")
    _name, payload = events.invocation_event(event, item()) or ("", {})
    assert (payload["percentage"], payload["message"], payload["image"], payload["device"]) == (
        0.25,
        "step 1",
        None,
        None,
    )
    with_preview = record("node_progress", node_id="n_prepared", node_type="x", progress=0.5, preview=preview)
    _name, payload = events.invocation_event(with_preview, item()) or ("", {})
    assert payload["image"] == {"width": 24, "height": 16, "dataURL": preview}
    assert events.progress_image("data:image/png;base64,not-base64!") is None


def test_a_node_failure_is_invocation_error_with_the_code_and_message() -> None:
    event = record(
        "node_failed", node_id="n_prepared", node_type="math.add", error={"code": "NODE_FAILED", "message": "boom"}
    )
    name, payload = events.invocation_event(event, item()) or ("", {})
    assert name == "invocation_error"
    assert (payload["error_type"], payload["error_message"], payload["error_traceback"]) == (
        "NODE_FAILED",
        "boom",
        None,
    )


def test_run_events_that_are_not_node_events_are_no_invocation_event() -> None:
    assert events.invocation_event(record("run_started", status="running"), item()) is None
    assert events.invocation_event(record("node_cached", node_id="n_prepared"), item()) is None


def test_a_status_transition_is_queue_item_status_changed_with_both_statuses() -> None:
    batch = {"queue_id": "default", "batch_id": "batch-1", "total": 8}
    queue = {"queue_id": "default", "item_id": 7, "total": 8}
    translated = events.queue_item_status_changed(record("run_started", status="running"), item(), batch, queue)
    name, payload = translated or ("", {})
    assert name == "queue_item_status_changed"
    assert payload["status"] == "in_progress"
    assert payload["status_sequence"] == 1  # as GET /i/{item_id} counts it
    assert payload["created_at"] == "2026-08-19 12:30:45.123"
    assert payload["completed_at"] is None
    assert payload["error_type"] is None
    assert payload["batch_status"] is batch
    assert payload["queue_status"] is queue
    done = record("run_complete", status="completed")
    _name, payload = events.queue_item_status_changed(done, item("completed", completed_at=AT), batch, queue) or (
        "",
        {},
    )
    assert payload["status_sequence"] == 2


def test_a_failure_carries_its_error_and_a_cancellation_says_canceled() -> None:
    failed = record("run_failed", status="failed", error={"code": "NODE_FAILED", "message": "division by zero"})
    _name, payload = events.queue_item_status_changed(failed, item("failed", completed_at=AT), {}, {}) or ("", {})
    assert (payload["status"], payload["error_type"], payload["error_message"]) == (
        "failed",
        "NODE_FAILED",
        "division by zero",
    )
    assert payload["completed_at"] == "2026-08-19 12:30:45.123"
    cancelled = record("run_cancelled", status="cancelled")
    _name, payload = events.queue_item_status_changed(cancelled, item("cancelled"), {}, {}) or ("", {})
    assert payload["status"] == "canceled"
    assert events.queue_item_status_changed(record("node_start", node_id="x"), item(), {}, {}) is None


def test_batch_and_cancellation_summaries() -> None:
    other_user = replace(IDENTITY, user_id="user_b")
    items = [item(item_id=1), item(item_id=2), item(item_id=3, identity=other_user)]
    enqueued = events.batch_enqueued(items[:2], AT)
    assert enqueued == {
        "timestamp": int(AT.timestamp()),
        "queue_id": "default",
        "batch_id": "batch-1",
        "enqueued": 2,
        "requested": 2,
        "priority": 3,
        "origin": "external-client",
        "user_id": "system",
    }
    # A batch that asked for more sessions than the queue had room for says so.
    cut = [item(identity=replace(IDENTITY, requested=5)), item(item_id=2, identity=replace(IDENTITY, requested=5))]
    assert (events.batch_enqueued(cut, AT)["enqueued"], events.batch_enqueued(cut, AT)["requested"]) == (2, 5)
    canceled = events.queue_items_canceled("default", items, AT)
    assert canceled["canceled_item_ids"] == [1, 2, 3]
    assert canceled["user_ids"] == ["system", "user_b"]
    assert canceled["canceled_item_ids_by_user"] == {"system": [1, 2], "user_b": [3]}


def test_records_delivered_together_become_invokeais_events_in_order() -> None:
    first = item("queued", item_id=1)
    second = item("queued", item_id=2)
    items = {"run_1": first, "run_2": second}

    def of(run_id: str, name: EventName, record_id: int, **data: Any) -> EventRecord:
        return EventRecord(record_id, "ws_1", run_id, name, {"event": name, "run_id": run_id, **data}, AT)

    records = [
        of("run_1", "run_queued", 1, status="queued"),
        of("run_2", "run_queued", 2, status="queued"),
        of("run_1", "run_started", 3, status="running"),
        of("run_1", "node_cached", 4, node_id="n_prepared", output={"type": "json", "value": 5}),
        of("run_1", "node_complete", 5, node_id="n_prepared", output={"type": "json", "value": 5}, outputs={}),
        of("run_1", "run_complete", 6, status="completed"),
        of("run_2", "run_cancelled", 7, status="cancelled"),
    ]
    statuses = events.QueueStatuses(
        batches={("default", "batch-1"): {"batch_id": "batch-1", "total": 2}},
        queues={"default": {"queue_id": "default", "item_id": None}},
    )
    out = events.socket_events(records, items, statuses)
    names = [name if name != "queue_item_status_changed" else f"status:{payload['status']}" for name, payload in out]
    assert names == [
        "batch_enqueued",
        "status:in_progress",
        "invocation_complete",  # a cache hit is one invocation_complete, as InvokeAI sends
        "status:completed",
        "status:canceled",
        "queue_items_canceled",
    ]
    assert out[0][1]["enqueued"] == 2
    assert out[3][1]["batch_status"]["total"] == 2
    assert out[3][1]["queue_status"]["item_id"] is None
    assert out[-1][1]["canceled_item_ids"] == [2]
    assert events.socket_events([], {}, statuses) == []


def test_deletions_that_empty_a_queue_are_one_queue_cleared() -> None:
    items = {"run_1": item("completed", item_id=1), "run_2": item("completed", item_id=2)}

    def deleted(run_id: str, record_id: int) -> EventRecord:
        return EventRecord(
            record_id, "ws_1", run_id, "run_deleted", {"event": "run_deleted", "status": "completed"}, AT
        )

    records = [deleted("run_1", 8), deleted("run_2", 9)]
    emptied = events.QueueStatuses(batches={}, queues={}, emptied=frozenset({"default"}))
    assert events.socket_events(records, items, emptied) == [
        ("queue_cleared", {"timestamp": int(AT.timestamp()), "queue_id": "default"})
    ]
    # A deletion that leaves items in the queue (one item deleted, a prune) clears nothing.
    assert events.socket_events(records[:1], items, events.QueueStatuses(batches={}, queues={})) == []
