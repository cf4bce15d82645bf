"""Live events across processes through Redis pub/sub: two servers on one database, one Redis channel.

Server A is an API process (dispatch=celery, so it never executes a run itself); server B executes
runs with its in-process dispatcher. An SSE client on A must see every event of a run B executes.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from prometheus_client import REGISTRY

from pixelmill.config import Settings
from pixelmill.events.log import EventLog, NewEvent
from pixelmill.events.redis_bus import RedisEventBus
from pixelmill.events.types import EventRecord
from pixelmill.runtime import Runtime
from tests.integration.events.test_run_stream import FULL, events, gated_run
from tests.support.accounts import SeededAccount
from tests.support.run_nodes import GATES, use_run_nodes
from tests.support.server import LiveServer, start_server
from tests.support.services import REDIS_URL, port_open, require_service
from tests.support.sse import Frame, parse_frames

pytestmark = pytest.mark.redis

REDIS_DB = urlsplit(REDIS_URL)._replace(path="/3").geturl()  # this suite's own database number
DEAD_REDIS = "redis://127.0.0.1:1/3"


@pytest.fixture
def channel() -> Iterator[str]:
    require_service("Redis", "127.0.0.1", 6379)
    yield f"pixelmill-test:{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(REDIS_DB)
    try:
        client.flushdb()  # the Celery messages server A published, which no worker takes here
    finally:
        client.close()


def _servers(settings: Settings, channel: str, *, b_redis: str) -> tuple[LiveServer, LiveServer]:
    a = start_server(
        settings.model_copy(
            update={"redis_url": REDIS_DB, "events_channel": channel, "dispatch": "celery", "broker_url": REDIS_DB}
        )
    )
    b = start_server(settings.model_copy(update={"redis_url": b_redis, "events_channel": channel}))
    for server in (a, b):
        use_run_nodes(server.app.state.runtime)
    assert a.app.state.runtime.dispatcher is None  # A cannot execute runs: whatever it streams came from B
    assert b.app.state.runtime.dispatcher is not None
    return a, b


def _stream_gated_run(
    api: httpx.Client, account: SeededAccount, when_started: Callable[[], None] = lambda: None
) -> tuple[str, list[Frame]]:
    """Create a gated run, stream it to the end, and once its node ``a`` started call
    ``when_started`` and open the gate (everything after that can only arrive live)."""
    frames: list[Frame] = []
    run_id, gate = gated_run(api, account)
    with api.stream("GET", f"/v1/runs/{run_id}/events", headers=account.headers, timeout=15.0) as response:
        assert response.status_code == 200
        for frame in parse_frames(response.iter_lines()):
            frames.append(frame)
            if frame.event == "node_start" and frame.data and frame.data["node_id"] == "a":
                when_started()
                GATES.open(gate)
    return run_id, frames


def _watch_run(server: LiveServer, account: SeededAccount) -> list[Frame]:
    """Create a gated run on ``server``, stream it there, open the gate once it started, read to the end."""
    with httpx.Client(base_url=server.url, timeout=30) as api:
        run_id, frames = _stream_gated_run(api, account)  # what follows the gate comes live, from B
        run = api.get(f"/v1/runs/{run_id}", headers=account.headers).json()
    assert run["status"] == "completed"
    return events(frames)


def _dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("pixelmill_event_publish_dropped_total", {"reason": reason}) or 0.0


def test_a_stream_on_one_server_sees_every_event_of_a_run_another_server_executes(
    settings: Settings, account: SeededAccount, channel: str
) -> None:
    a, b = _servers(settings, channel, b_redis=REDIS_DB)
    try:
        seen = _watch_run(a, account)
    finally:
        GATES.reset()
        a.stop()
        b.stop()
    assert [frame.event for frame in seen] == FULL
    ids = [frame.id for frame in seen]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert seen[-1].data is not None
    assert seen[-1].data["outputs"]["b"] == {"type": "json", "value": 6.0}


def test_redis_down_when_the_executor_publishes_fails_nothing_and_streams_catch_up_from_the_log(
    settings: Settings, account: SeededAccount, channel: str
) -> None:
    before = _dropped("redis_error")
    a, b = _servers(settings, channel, b_redis=DEAD_REDIS)
    try:
        seen = _watch_run(a, account)  # the run completes although none of B's events reach Redis
    finally:
        GATES.reset()
        a.stop()
        b.stop()
    # A got B's events from the event log, within a catch-up interval (the SSE heartbeat, 0.3 s here).
    assert [frame.event for frame in seen] == FULL
    assert _dropped("redis_error") > before


@pytest.mark.anyio
async def test_out_of_order_and_lost_messages_are_resequenced_from_the_log(
    settings: Settings, account: SeededAccount, channel: str
) -> None:
    """Another process's messages arrive late or never: the subscriber still delivers in id order, once."""
    runtime = Runtime.create(settings.model_copy(update={"redis_url": REDIS_DB, "events_channel": channel}))
    other = RedisEventBus(REDIS_DB, runtime.db, channel=channel, catch_up_seconds=60)  # "another process"
    log = EventLog(None, [])  # writes rows without publishing them: the test publishes by hand
    recovered = REGISTRY.get_sample_value("pixelmill_events_recovered_total") or 0.0
    try:
        await runtime.event_bus.start()
        listener = runtime.event_bus.subscribe(account.workspace_id)

        async def append(count: int) -> list[EventRecord]:
            items = [NewEvent(account.workspace_id, "run_x", "node_progress", {"n": n}) for n in range(count)]
            async with runtime.db.session() as session:
                return await log.append(session, items)

        async def received(expected: int) -> list[EventRecord]:
            got: list[EventRecord] = []
            async with asyncio.timeout(10):
                while len(got) < expected:
                    got += await listener.next(1.0) or []
            return got

        first = await append(3)
        other.publish(first[2:])  # the newest arrives; the two before it were lost or are late
        assert [record.id for record in await received(3)] == [record.id for record in first]
        more = await append(1)
        other.publish(first[:2])  # the late ones finally arrive: already delivered, dropped
        other.publish(more)
        got = await received(1)
        assert [record.id for record in got] == [more[0].id]
        assert await listener.next(0.3) == []  # nothing more: no duplicates
        assert (REGISTRY.get_sample_value("pixelmill_events_recovered_total") or 0.0) - recovered == 2
    finally:
        await other.close()
        await runtime.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of this test's own (so the test may kill it), on a free loopback port."""
    program = shutil.which("redis-server")
    if program is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    process = subprocess.Popen([program, *options], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_a_stream_outlives_redis_dying_mid_run(
    settings: Settings, account: SeededAccount, channel: str, own_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, redis_server = own_redis
    a = start_server(
        settings.model_copy(
            update={"redis_url": url, "events_channel": channel, "dispatch": "celery", "broker_url": REDIS_DB}
        )
    )
    b = start_server(settings.model_copy(update={"redis_url": url, "events_channel": channel}))
    try:
        for server in (a, b):
            use_run_nodes(server.app.state.runtime)

        def lose_redis() -> None:  # both servers lose Redis while the run executes on B
            redis_server.kill()
            redis_server.wait()

        with httpx.Client(base_url=a.url, timeout=30) as api:
            _, frames = _stream_gated_run(api, account, lose_redis)
    finally:
        GATES.reset()
        a.stop()
        b.stop()
    assert [frame.event for frame in events(frames)] == FULL
