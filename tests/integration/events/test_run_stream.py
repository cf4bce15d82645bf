"""GET /v1/runs/{run_id}/events over a real socket: order, close, resume, replay, access."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

import tests.support.event_nodes  # noqa: F401 - registers test.fail and test.text
from tests.support.accounts import SeededAccount
from tests.support.run_nodes import GATES
from tests.support.runs import edge, node, wait_for
from tests.support.sse import Frame, parse_frames

FULL = ["run_queued", "run_started", "node_start", "node_complete", "node_start", "node_complete", "run_complete"]


def gated_run(api: httpx.Client, account: SeededAccount) -> tuple[str, str]:
    gate = f"g-{uuid.uuid4().hex[:8]}"
    graph = {
        "nodes": [node("a", "test.gate", name=gate, value=2), node("b", "math.multiply", b=3)],
        "edges": [edge("a", "b", "a")],
    }
    response = api.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()["run_id"], gate


def events(frames: list[Frame]) -> list[Frame]:
    return [frame for frame in frames if frame.event is not None]


def read_stream(api: httpx.Client, url: str, headers: dict[str, str], until: Any = None) -> list[Frame]:
    """Frames until the server closes the stream (or ``until(frame)`` says stop, which disconnects)."""
    frames: list[Frame] = []
    with api.stream("GET", url, headers=headers, timeout=httpx.Timeout(10.0)) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for frame in parse_frames(response.iter_lines()):
            frames.append(frame)
            if until is not None and until(frame):
                break
    return frames


def test_stream_shows_the_exact_event_sequence_of_a_multi_node_run_live_and_closes(
    api: httpx.Client, account: SeededAccount
) -> None:
    run_id, gate = gated_run(api, account)
    frames: list[Frame] = []
    with api.stream("GET", f"/v1/runs/{run_id}/events", headers=account.headers, timeout=10.0) as response:
        assert response.status_code == 200
        for frame in parse_frames(response.iter_lines()):
            frames.append(frame)
            if frame.event == "node_start" and frame.data and frame.data["node_id"] == "a":
                GATES.open(gate)  # the rest can only arrive live
    seen = events(frames)
    assert [frame.event for frame in seen] == FULL
    assert [frame.data["node_id"] for frame in seen[2:6] if frame.data] == ["a", "a", "b", "b"]
    ids = [frame.id for frame in seen]
    assert all(i is not None for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(frame.data and frame.data["run_id"] == run_id and frame.data["event"] == frame.event for frame in seen)
    complete_b = seen[5].data
    assert complete_b is not None
    assert complete_b["output"] == {"type": "json", "value": 6.0}
    assert complete_b["node_type"] == "math.multiply"
    assert complete_b["cached"] is False
    terminal = seen[-1].data
    assert terminal is not None
    assert terminal["status"] == "completed"
    assert terminal["outputs"] == {"a": {"type": "json", "value": 2.0}, "b": {"type": "json", "value": 6.0}}
    assert terminal["credits_used"] == 0


def test_reconnect_with_last_event_id_yields_each_missed_event_once(api: httpx.Client, account: SeededAccount) -> None:
    run_id, gate = gated_run(api, account)
    url = f"/v1/runs/{run_id}/events"
    first = events(read_stream(api, url, account.headers, until=lambda f: f.event == "node_start"))
    assert [frame.event for frame in first] == FULL[:3]
    GATES.open(gate)
    wait_for(api, account.headers, run_id, until={"completed"})
    cursor = first[-1].id
    rest = events(read_stream(api, url, {**account.headers, "Last-Event-ID": str(cursor)}))
    assert [frame.event for frame in first + rest] == FULL
    assert all(frame.id is not None and cursor is not None and frame.id > cursor for frame in rest)
    by_query = events(read_stream(api, f"{url}?lastEventId={cursor}", account.headers))
    assert [frame.id for frame in by_query] == [frame.id for frame in rest]
    whole = events(read_stream(api, url, account.headers))
    assert [frame.id for frame in whole] == [frame.id for frame in first + rest]


def test_a_finished_run_replays_its_events_and_closes(api: httpx.Client, account: SeededAccount) -> None:
    graph = {
        "nodes": [node("a", "math.add", a=1, b=2), node("b", "math.multiply", b=2)],
        "edges": [edge("a", "b", "a")],
    }
    response = api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=10"})
    assert response.json()["status"] == "completed"
    run_id = response.json()["run_id"]
    seen = events(read_stream(api, f"/v1/runs/{run_id}/events", account.headers))
    assert [frame.event for frame in seen] == FULL
    last = seen[-1].id
    assert events(read_stream(api, f"/v1/runs/{run_id}/events", {**account.headers, "Last-Event-ID": str(last)})) == []


def test_a_failed_run_ends_with_run_failed_and_its_error(api: httpx.Client, account: SeededAccount) -> None:
    graph = {"nodes": [node("a", "test.fail", message="boom")], "edges": []}
    response = api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=10"})
    run_id = response.json()["run_id"]
    assert response.json()["status"] == "failed", response.text
    seen = events(read_stream(api, f"/v1/runs/{run_id}/events", account.headers))
    assert [frame.event for frame in seen] == ["run_queued", "run_started", "node_start", "node_failed", "run_failed"]
    assert seen[3].data is not None
    assert seen[3].data["error"]["node_id"] == "a"
    assert seen[-1].data is not None
    assert seen[-1].data["status"] == "failed"
    assert seen[-1].data["error"]["code"]


def test_other_workspaces_and_unknown_runs_are_refused_like_the_runs_api(
    api: httpx.Client, account: SeededAccount, other: SeededAccount
) -> None:
    graph = {"nodes": [node("a", "math.add", a=1, b=2)], "edges": []}
    run_id = api.post("/v1/runs", json={"graph": graph}, headers=account.headers).json()["run_id"]
    foreign = api.get(f"/v1/runs/{run_id}/events", headers=other.headers)
    missing = api.get("/v1/runs/run_doesnotexist/events", headers=account.headers)
    assert (foreign.status_code, missing.status_code) == (404, 404)
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert foreign.text.replace(run_id, "<id>") == missing.text.replace("run_doesnotexist", "<id>")
    bad = api.get(f"/v1/runs/{run_id}/events", headers={**account.headers, "Last-Event-ID": "abc"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert api.get(f"/v1/runs/{run_id}/events").status_code == 401
