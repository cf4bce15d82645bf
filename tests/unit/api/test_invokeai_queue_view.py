"""A run read back as InvokeAI's SessionQueueItem: status words, timestamps, null keys, and the
session's results and errors keyed by prepared id with both mappings. Pure: runs built in memory."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.queue import count_words, item_view, timestamp
from pixelmill.db.models import Run

CREATED = datetime(2026, 12, 7, 7, 30, 1, 123456, tzinfo=UTC)
STARTED = datetime(2026, 12, 7, 7, 30, 2, tzinfo=UTC)
DONE = datetime(2026, 12, 7, 7, 30, 3, 500000, tzinfo=UTC)

IDENTITY = QueueIdentity(
    queue_id="default",
    batch_id="b1",
    session_id="s1",
    origin="external-client",
    source_prepared_mapping={"add-node": ["p1"], "other": ["p2"]},
    prepared_source_mapping={"p1": "add-node", "p2": "other"},
    node_types={"p1": "add", "p2": "img_resize"},
    graph={
        "id": "g",
        "nodes": {
            "add-node": {"id": "add-node", "type": "add", "a": 2},
            "other": {"id": "other", "type": "img_resize"},
        },
        "edges": [
            {"source": {"node_id": "add-node", "field": "value"}, "destination": {"node_id": "other", "field": "width"}}
        ],
    },
)


def run(status: str, **fields: Any) -> Run:
    return Run(
        id="run_1",
        workspace_id="ws_1",
        status=status,
        graph={"nodes": [], "edges": []},
        run_metadata=IDENTITY.to_metadata(),
        created_at=CREATED,
        started_at=fields.pop("started_at", None),
        completed_at=fields.pop("completed_at", None),
        error=fields.pop("error", None),
    )


def execution(node_id: str, status: str, outputs: Any = None, error: Any = None) -> Any:
    return SimpleNamespace(node_id=node_id, node_type="math.add", status=status, outputs=outputs, error=error)


@pytest.mark.parametrize(
    ("status", "word"),
    [
        ("queued", "pending"),
        ("running", "in_progress"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("cancelled", "canceled"),
    ],
)
def test_status_words(status: str, word: str) -> None:
    assert item_view(run(status), IDENTITY, 7, [], exclude_none=True)["status"] == word


def test_a_pending_item_leaves_its_null_keys_out_only_when_asked() -> None:
    shown = item_view(run("queued"), IDENTITY, 7, [], exclude_none=True)
    assert shown["item_id"] == 7
    assert shown["created_at"] == shown["updated_at"] == "2026-12-07 07:30:01.123"
    for key in ("started_at", "completed_at", "error_type", "destination", "workflow", "field_values"):
        assert key not in shown
    full = item_view(run("queued"), IDENTITY, 7, [], exclude_none=False)
    assert full["started_at"] is None
    assert full["destination"] is None


def test_a_completed_item_shows_results_by_prepared_id() -> None:
    executions = [execution("p1", "completed", {"value": 5.0})]
    shown = item_view(
        run("completed", started_at=STARTED, completed_at=DONE), IDENTITY, 7, executions, exclude_none=True
    )
    session = shown["session"]
    assert session["results"] == {"p1": {"value": 5, "type": "integer_output"}}
    assert session["results"][session["source_prepared_mapping"]["add-node"][0]]["value"] == 5
    assert session["prepared_source_mapping"] == {"p1": "add-node", "p2": "other"}
    assert session["executed"] == ["p1", "add-node"]
    assert session["executed_history"] == ["add-node"]
    assert session["execution_graph"]["nodes"]["p1"] == {"id": "p1", "type": "add", "a": 2}
    assert session["execution_graph"]["edges"][0]["destination"] == {"node_id": "p2", "field": "width"}
    assert session["id"] == shown["session_id"] == "s1"
    assert (shown["started_at"], shown["completed_at"], shown["updated_at"]) == (
        "2026-12-07 07:30:02.000",
        "2026-12-07 07:30:03.500",
        "2026-12-07 07:30:03.500",
    )
    assert shown["status_sequence"] == 2


def test_a_failed_item_carries_the_error_fields_and_the_session_error() -> None:
    error = {"code": "INVALID_INPUT", "message": "The rectangle lies outside the image", "node_id": "p2"}
    executions = [execution("p1", "completed", {"value": 5}), execution("p2", "failed", error=error)]
    shown = item_view(
        run("failed", started_at=STARTED, completed_at=DONE, error=error), IDENTITY, 7, executions, exclude_none=True
    )
    assert shown["error_type"] == "INVALID_INPUT"
    assert shown["error_message"] == "The rectangle lies outside the image"
    assert "error_traceback" not in shown  # pixelmill sends no server traceback
    assert shown["session"]["errors"] == {"p2": "INVALID_INPUT: The rectangle lies outside the image"}


def test_counts_use_invokeai_words() -> None:
    assert count_words({"queued": 2, "running": 1, "cancelled": 3}) == {
        "pending": 2,
        "in_progress": 1,
        "completed": 0,
        "failed": 0,
        "canceled": 3,
        "total": 6,
    }
    assert timestamp(None) is None
