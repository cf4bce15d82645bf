"""GET /v1/events over real sockets: a workspace's runs on one stream, resume, gaps, pings, fan-out, stalls."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from prometheus_client import REGISTRY

import tests.support.event_nodes  # noqa: F401 - registers test.text
from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.session import Database
from pixelmill.events.log import purge
from tests.support.accounts import SeededAccount
from tests.support.runs import node, with_db
from tests.support.server import LiveServer
from tests.support.sse import Frame, parse_frames


def finished_run(api: httpx.Client, account: SeededAccount, value: float = 1) -> str:
    graph = {"nodes": [node("a", "math.add", a=value, b=1)], "edges": []}
    response = api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=10"})
    assert response.json()["status"] == "completed", response.text
    return str(response.json()["run_id"])


def read_until(response: httpx.Response | Iterator[Frame], stop: str, run_id: str) -> list[Frame]:
    frames: list[Frame] = []
    source = parse_frames(response.iter_lines()) if isinstance(response, httpx.Response) else response
    for frame in source:
        frames.append(frame)
        if frame.event == stop and frame.data is not None and frame.data["run_id"] == run_id:
            break
    return frames


def test_workspace_stream_carries_every_run_live_and_pings_while_idle(
    api: httpx.Client, account: SeededAccount, other: SeededAccount
) -> None:
    with api.stream("GET", "/v1/events", headers=account.headers, timeout=10.0) as response:
        assert response.status_code == 200
        finished_run(api, other)  # another workspace's run is not on this stream
        first = finished_run(api, account, 1)
        second = finished_run(api, account, 2)
        stream = parse_frames(response.iter_lines())
        frames = read_until(stream, "run_complete", second)
        pings = [frame for frame in frames if frame.comment == "ping"]
        if not pings:  # both runs were quicker than one heartbeat: wait for one
            pings = [next(frame for frame in stream if frame.comment is not None)]
    seen = [frame for frame in frames if frame.event is not None]
    assert {frame.data["run_id"] for frame in seen if frame.data} == {first, second}
    assert [frame.event for frame in seen if frame.data and frame.data["run_id"] == first] == [
        "run_queued",
        "run_started",
        "node_start",
        "node_complete",
        "run_complete",
    ]
    ids = [frame.id for frame in seen]
    assert ids == sorted(ids)
    assert pings[0].comment == "ping"


def test_workspace_stream_resumes_from_last_event_id_and_reports_a_replay_gap(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    old = finished_run(api, account, 1)
    with api.stream("GET", f"/v1/runs/{old}/events", headers=account.headers) as response:
        old_ids = [frame.id for frame in parse_frames(response.iter_lines()) if frame.id is not None]

    async def purge_all(db: Database) -> int:
        return await purge(db, 1, now=utcnow() + timedelta(days=2))

    assert with_db(settings.resolved_database_url, purge_all) >= len(old_ids)
    newer = finished_run(api, account, 2)
    with api.stream("GET", "/v1/events", headers={**account.headers, "Last-Event-ID": str(old_ids[0])}) as response:
        frames = read_until(response, "run_complete", newer)
    assert frames[0].event == "replay-gap"
    assert frames[0].id is None
    assert frames[0].data is not None
    assert frames[0].data["lastEventId"] == old_ids[0]
    replayed = [frame for frame in frames[1:] if frame.event is not None]
    assert frames[0].data["oldestAvailableId"] == replayed[0].id
    assert {frame.data["run_id"] for frame in replayed if frame.data} == {newer}
    assert len(replayed) == 5
    # Resuming from an id the log still holds: exactly what came after it, no gap.
    cursor = replayed[1].id
    with api.stream("GET", f"/v1/events?lastEventId={cursor}", headers=account.headers) as response:
        again = read_until(response, "run_complete", newer)
    assert [frame.id for frame in again if frame.event is not None] == [frame.id for frame in replayed[2:]]


def test_five_hundred_listeners_all_receive_a_burst(
    api: httpx.Client, account: SeededAccount, live_server: LiveServer
) -> None:
    count = 500

    async def main() -> list[list[str]]:
        limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=live_server.url, limits=limits, timeout=30) as client:
            connected = 0
            ready = asyncio.Event()
            runs: list[str] = []
            done_for: asyncio.Future[str] = asyncio.get_running_loop().create_future()

            async def listen() -> list[str]:
                nonlocal connected
                async with client.stream("GET", "/v1/events", headers=account.headers) as response:
                    assert response.status_code == 200
                    connected += 1
                    if connected == count:
                        ready.set()
                    names: list[str] = []
                    buffer: list[str] = []
                    async for line in response.aiter_lines():
                        buffer.append(line)
                        if line.startswith("event: "):
                            names.append(line[7:])
                        if line.startswith("data: ") and '"run_complete"' in line:
                            last = await done_for
                            if last in line:
                                return names
                    return names

            async def burst() -> None:
                await asyncio.wait_for(ready.wait(), 60)
                for value in range(3):
                    graph = {"nodes": [node("a", "math.add", a=value, b=1)], "edges": []}
                    response = await client.post("/v1/runs", json={"graph": graph}, headers=account.headers)
                    runs.append(response.json()["run_id"])
                done_for.set_result(runs[-1])

            listeners = [asyncio.create_task(listen()) for _ in range(count)]
            await burst()
            return await asyncio.wait_for(asyncio.gather(*listeners), 60)

    started = time.monotonic()
    results = asyncio.run(main())
    assert len(results) == 500
    for names in results:
        assert names.count("run_complete") == 3
        assert names.count("node_complete") == 3
    assert time.monotonic() - started < 60


def _stalled_connection(url: str, headers: dict[str, str]) -> socket.socket:
    """A raw client with a tiny receive window that sends the request and never reads."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname, parts.port))
    lines = ["GET /v1/events HTTP/1.1", f"Host: {parts.netloc}"] + [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def test_a_stalled_listener_does_not_hold_back_the_others_and_is_dropped(
    api: httpx.Client, account: SeededAccount, live_server: LiveServer
) -> None:
    dropped_before = REGISTRY.get_sample_value("pixelmill_event_listeners_dropped_total") or 0.0
    stalled = _stalled_connection(live_server.url, account.headers)
    try:
        time.sleep(0.3)  # its stream is open
        graph = {"nodes": [node(f"t{i}", "test.text", size=100_000) for i in range(40)], "edges": []}
        with api.stream("GET", "/v1/events", headers=account.headers, timeout=20.0) as response:
            started = time.monotonic()
            run_id = api.post("/v1/runs", json={"graph": graph}, headers=account.headers).json()["run_id"]
            frames = read_until(response, "run_complete", run_id)
            elapsed = time.monotonic() - started
        names = [frame.event for frame in frames if frame.event is not None]
        assert names.count("node_complete") == 40
        assert names[-1] == "run_complete"
        assert elapsed < 15
        assert (REGISTRY.get_sample_value("pixelmill_event_listeners_dropped_total") or 0.0) == dropped_before + 1
        # The stalled client, reading at last, finds its stream cut short before the end of the run.
        stalled.settimeout(10)
        received = b""
        while chunk := stalled.recv(65536):
            received += chunk
        body = received.partition(b"\r\n\r\n")[2]
        assert b"node_start" in body
        assert b"run_complete" not in body
    finally:
        stalled.close()
