"""How an ima2 job's run reads on ima2's wire: in-flight entries and the events of /api/events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pixelmill.api.dialects.ima2 import events_stream, inflight
from pixelmill.api.dialects.ima2.inflight import JobRun
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.db.base import utcnow
from pixelmill.db.models import Run


def _run(status: str, **fields: Any) -> Run:
    created = utcnow()
    values: dict[str, Any] = {
        "id": "run_1",
        "workspace_id": "ws_1",
        "status": status,
        "graph": {},
        "created_at": created,
        "started_at": created + timedelta(seconds=1),
    }
    return Run(**{**values, **fields})


def _job(**fields: Any) -> Ima2Job:
    values: dict[str, Any] = {"requestId": "freq_1", "kind": "classic", "prompt": "p" * 600, "provider": "oauth"}
    return Ima2Job(**{**values, **fields})


def test_an_active_job() -> None:
    run = _run("running")
    entry = inflight.active_job(JobRun(run, _job(kind="edit", extra={"refsCount": 2, "big": {"x": 1}})))
    assert entry["kind"] == "classic"  # ima2 lists /api/edit jobs as classic
    assert entry["prompt"] == "p" * 500
    assert entry["phase"] == "streaming"
    assert entry["phaseAt"] - entry["startedAt"] == 1000
    assert entry["meta"]["refsCount"] == 2
    assert "big" not in entry["meta"]
    assert inflight.active_job(JobRun(_run("queued", started_at=None), _job()))["phase"] == "queued"


def test_terminal_jobs() -> None:
    outputs = {"gen": {"type": "images", "value": [{"sha256": "a"}, {"sha256": "b"}]}, "t": {"type": "json"}}
    finished = _run("completed", outputs=outputs)
    finished.completed_at = finished.created_at + timedelta(seconds=3)
    entry = inflight.terminal_job(JobRun(finished, _job()), ["1_ab_0.png", "1_ab_1.png"])
    assert (entry["status"], entry["httpStatus"], entry["errorCode"], entry["durationMs"]) == (
        "completed",
        200,
        None,
        3000,
    )
    assert entry["meta"]["imageCount"] == 2
    assert entry["meta"]["filenames"] == ["1_ab_0.png", "1_ab_1.png"]
    assert "prompt" not in entry

    failed = _run("failed", error={"code": "VALIDATION_ERROR", "message": "bad"}, completed_at=utcnow())
    entry = inflight.terminal_job(JobRun(failed, _job()))
    assert (entry["status"], entry["httpStatus"], entry["errorCode"]) == ("error", 400, "INVALID_REQUEST")
    assert "filenames" not in entry["meta"]
    cancelled = inflight.terminal_job(JobRun(_run("cancelled", completed_at=utcnow()), _job()))
    assert (cancelled["status"], cancelled["httpStatus"], cancelled["errorCode"]) == (
        "canceled",
        499,
        "GENERATION_CANCELED",
    )


def test_filters() -> None:
    job = _job(kind="edit", sessionId="s_1")
    assert inflight.matches(job, kind="classic", session_id=None)
    assert inflight.matches(job, kind="edit", session_id="s_1")
    assert not inflight.matches(job, kind="node", session_id=None)
    assert not inflight.matches(job, kind=None, session_id="s_2")


def test_replayed_events_lose_large_images_only() -> None:
    small = "data:image/png;base64,AAAA"
    large = "data:image/png;base64," + "A" * 1000
    data = {"image": large, "images": [{"image": large, "filename": "a.png"}, {"image": small}], "requestId": "r"}
    assert events_stream.omit_large_images(data) == {
        "_imageOmitted": True,
        "images": [{"_imageOmitted": True, "filename": "a.png"}, {"image": small}],
        "requestId": "r",
    }
    assert data["image"] == large  # the live frame's data is left as it was


def test_event_frames() -> None:
    job = _job()
    assert events_stream.started_frames(job) == [("phase", {"requestId": "freq_1", "phase": "streaming"})]
    assert events_stream.started_frames(_job(kind="video")) == [("planning", {"requestId": "freq_1"})]
    partial = events_stream.progress_frames(job, {"progress": 0.5, "preview": "data:image/png;base64,AA"}, 2)
    assert partial == [("partial", {"requestId": "freq_1", "image": "data:image/png;base64,AA", "index": 2})]
    assert events_stream.progress_frames(job, {"progress": 0.5}, 0) == []
    assert events_stream.progress_frames(_job(kind="video"), {"progress": 0.25}, 0) == [
        ("progress", {"requestId": "freq_1", "progress": 0.25, "stalled": False})
    ]
    assert events_stream.ended_frames(job, "failed", {"code": "SAFETY_REFUSAL", "message": "no"}) == [
        ("error", {"error": "no", "code": "SAFETY_REFUSAL", "status": 422, "requestId": "freq_1"})
    ]
    assert events_stream.ended_frames(job, "failed", None)[0][1]["status"] == 500
    (cancelled,) = events_stream.ended_frames(_job(kind="node"), "cancelled", None)
    assert cancelled == (
        "error",
        {"error": "Generation canceled", "code": "GENERATION_CANCELED", "status": 499, "requestId": "freq_1"},
    )
    (node_failed,) = events_stream.ended_frames(_job(kind="node"), "failed", {"code": "UPSTREAM_TIMEOUT"})
    assert node_failed[1]["error"]["code"] == "OAUTH_IMAGE_TIMEOUT"
    assert node_failed[1]["status"] == 504
