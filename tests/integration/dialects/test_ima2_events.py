"""ima2's ``GET /api/events`` on real runs (SQLite and PostgreSQL): the events of ima2 jobs live with
``jobId``, replay from ``Last-Event-ID`` and ``?lastEventId`` with large images omitted, the
``replay-gap`` frame, ``: ping``, failures and cancels as ima2 errors, the listener cap's 503, and
one workspace never seeing another's jobs."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import delete

from pixelmill.config import Settings
from pixelmill.db.models import RunEvent
from pixelmill.db.session import Database
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.ima2_jobs import create_job, image_graph, job, sleep_graph
from tests.support.run_nodes import GATES, use_run_nodes
from tests.support.runs import grant, run_row, with_db
from tests.support.server import LiveServer, start_server
from tests.support.sse import Frame, parse_frames

FAILING = {"nodes": [{"id": "big", "type": "math.multiply", "inputs": {"a": 1e308, "b": 10}}]}


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, sse_heartbeat_seconds=0.5)


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[httpx.Client]:
    use_run_nodes(live_server.app.state.runtime)
    grant(settings.resolved_database_url, account.workspace_id, 100)
    with httpx.Client(base_url=live_server.url, headers=account.headers, timeout=30) as client:
        yield client
    GATES.reset()


def read_until(
    client: httpx.Client,
    stop: Callable[[Frame], bool],
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    then: Callable[[], object] | None = None,
) -> list[Frame]:
    """Frames of one ``/api/events`` connection until ``stop`` says so; ``then`` runs once it is open."""
    frames: list[Frame] = []
    with client.stream("GET", "/api/events", headers=headers, params=params, timeout=15.0) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache, no-transform"
        assert response.headers["x-accel-buffering"] == "no"
        if then is not None:
            then()
        for frame in parse_frames(response.iter_lines()):
            frames.append(frame)
            if stop(frame):
                break
    return frames


def named(frames: list[Frame]) -> list[Frame]:
    return [frame for frame in frames if frame.event is not None]


def decoded(data_url: str) -> Image.Image:
    head, _, body = data_url.partition(",")
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(body)))


def is_done(request_id: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.event in ("done", "error") and (frame.data or {}).get("jobId") == request_id


def test_live_events_then_replay_with_images_omitted(
    client: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    plain: list[str] = []

    def start() -> None:
        plain.append(create_job(settings, account, None, image_graph("not an ima2 job")))
        create_job(settings, account, job("freq_live"), image_graph(size="96x64"))

    frames = read_until(client, is_done("freq_live"), then=start)
    seen = named(frames)
    assert [frame.event for frame in seen] == ["phase", "done"], seen
    phase, done = (frame.data or {} for frame in seen)
    assert phase == {"requestId": "freq_live", "phase": "streaming", "jobId": "freq_live"}
    assert done["requestId"] == done["jobId"] == "freq_live"
    assert decoded(done["image"]).size == (96, 64)
    assert done["quality"] == "low"
    assert isinstance(done["elapsed"], float)
    ids = [frame.id for frame in seen]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids)

    # Resuming after the phase replays the done, its large image dropped as ima2's ring buffer does.
    resumed = named(read_until(client, is_done("freq_live"), headers={"Last-Event-ID": str(ids[0])}))
    assert [frame.event for frame in resumed] == ["done"]
    assert resumed[0].id == ids[1]
    replayed = resumed[0].data or {}
    assert "image" not in replayed
    assert replayed["_imageOmitted"] is True
    assert replayed["requestId"] == "freq_live"

    # The query form, from the start: the whole job again; the other run never shows.
    everything = named(read_until(client, is_done("freq_live"), params={"lastEventId": "0"}))
    assert [(frame.event, (frame.data or {}).get("jobId")) for frame in everything] == [
        ("phase", "freq_live"),
        ("done", "freq_live"),
    ]


def test_failure_cancel_and_ping(client: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    long_run: list[str] = []

    def start() -> None:
        create_job(settings, account, job("freq_fail"), FAILING)
        long_run.append(create_job(settings, account, job("vreq_cancel", "video"), sleep_graph(20)))

    def cancel_when_planning(frame: Frame) -> bool:
        if frame.event == "planning" and long_run:
            assert client.delete("/api/inflight/vreq_cancel").json()["aborted"] is True
        return is_done("vreq_cancel")(frame)

    frames = read_until(client, cancel_when_planning, then=start)
    by_job: dict[str, list[Frame]] = {}
    for frame in named(frames):
        by_job.setdefault((frame.data or {})["jobId"], []).append(frame)
    failed = by_job["freq_fail"][-1]
    assert failed.event == "error"
    assert failed.data is not None
    # ima2's code for the failure, as the request's own answer says it, with its status.
    assert failed.data["code"] == "INVALID_REQUEST"
    assert failed.data["status"] == 400
    assert failed.data["requestId"] == "freq_fail"
    assert isinstance(failed.data["error"], str)
    assert failed.data["error"]
    video = [frame.event for frame in by_job["vreq_cancel"]]
    assert video == ["planning", "error"]
    assert by_job["vreq_cancel"][-1].data == {
        "error": "Generation canceled",
        "code": "GENERATION_CANCELED",
        "status": 499,
        "requestId": "vreq_cancel",
        "jobId": "vreq_cancel",
    }
    # Idle, the stream pings (every sse_heartbeat_seconds here).
    pings = read_until(client, lambda frame: frame.comment == "ping")
    assert pings[-1].comment == "ping"


def test_a_cursor_older_than_the_log_gets_a_replay_gap(
    client: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    first = named(
        read_until(client, is_done("freq_1"), then=lambda: create_job(settings, account, job("freq_1"), image_graph()))
    )
    named(
        read_until(client, is_done("freq_2"), then=lambda: create_job(settings, account, job("freq_2"), image_graph()))
    )
    cutoff = max(frame.id or 0 for frame in first)

    async def purge(db: Database) -> None:
        async with db.session() as session:
            await session.execute(delete(RunEvent).where(RunEvent.id <= cutoff))

    with_db(settings.resolved_database_url, purge)
    frames = named(read_until(client, is_done("freq_2"), headers={"Last-Event-ID": str(cutoff - 1)}))
    assert frames[0].event == "replay-gap"
    assert frames[0].id is None
    gap = frames[0].data or {}
    assert gap["lastEventId"] == cutoff - 1
    assert gap["oldestAvailableId"] > cutoff
    assert [frame.event for frame in frames[1:]] == ["phase", "done"]
    assert all((frame.data or {})["jobId"] == "freq_2" for frame in frames[1:])


def test_another_workspace_sees_none_of_my_jobs(
    client: httpx.Client, account: SeededAccount, settings: Settings, live_server: LiveServer
) -> None:
    other = seed_account(settings.resolved_database_url)
    grant(settings.resolved_database_url, other.workspace_id, 100)
    mine = named(
        read_until(
            client, is_done("freq_mine"), then=lambda: create_job(settings, account, job("freq_mine"), image_graph())
        )
    )
    assert mine
    with httpx.Client(base_url=live_server.url, headers=other.headers, timeout=30) as theirs:
        frames = named(
            read_until(
                theirs,
                is_done("freq_theirs"),
                params={"lastEventId": "0"},
                then=lambda: create_job(settings, other, job("freq_theirs"), image_graph()),
            )
        )
    assert {(frame.data or {})["jobId"] for frame in frames} == {"freq_theirs"}


def test_the_listener_cap_answers_503_sse_capacity(settings: Settings, account: SeededAccount) -> None:
    server = start_server(settings.model_copy(update={"sse_max_listeners": 1}))
    try:
        with httpx.Client(base_url=server.url, headers=account.headers, timeout=15) as client:
            with client.stream("GET", "/api/events") as first:
                assert first.status_code == 200
                refused = client.get("/api/events")
                assert refused.status_code == 503
                assert refused.json()["error"]["code"] == "SSE_CAPACITY"
                assert isinstance(refused.json()["error"]["message"], str)
            deadline = time.monotonic() + 10
            while True:  # the slot comes back once the first stream is closed
                with client.stream("GET", "/api/events") as again:
                    if again.status_code == 200:
                        break
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        server.stop()


def test_a_result_that_cannot_be_read_is_an_error_not_a_dead_stream(
    client: httpx.Client, account: SeededAccount, settings: Settings, live_server: LiveServer
) -> None:
    run_id: list[str] = []
    read_until(
        client,
        is_done("freq_gone"),
        then=lambda: run_id.append(create_job(settings, account, job("freq_gone"), image_graph())),
    )
    (output,) = (run_row(settings.resolved_database_url, run_id[0]).outputs or {}).values()
    (ref,) = output["value"]
    asyncio.run(live_server.app.state.runtime.blobs.delete(ref["sha256"]))
    frames = named(read_until(client, is_done("freq_gone"), params={"lastEventId": "0"}))
    assert [frame.event for frame in frames] == ["phase", "error"]
    assert (frames[-1].data or {})["code"] == "INTERNAL_ERROR"
