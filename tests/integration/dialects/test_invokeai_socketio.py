"""InvokeAI's socket.io events against pixelmill on loopback (SQLite and PostgreSQL), read with the
``python-socketio`` client as InvokeAI's clients read them.

The whole flow goes through the HTTP routes (enqueue_batch, item and status reads, image download,
clear) while a socket listens. Other tests create runs the way enqueue creates them (RunService with
the queue identity in their metadata) from a second process-like runtime, so their ``run_queued``
reaches the server over the Redis bus that SSE uses, while the server executes them and publishes
the rest the same way.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import engineio
import httpx
import pytest
import redis
import socketio
from PIL import Image

from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.socketio import SOCKET_PATH
from pixelmill.config import Settings
from pixelmill.runtime import Runtime
from pixelmill.services.auth import Authenticator
from pixelmill.services.numeric_ids import NumericIds
from pixelmill.services.runs import RunService
from tests.support.accounts import SeededAccount, seed_account
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant
from tests.support.server import LiveServer, start_server
from tests.support.services import REDIS_URL, require_service

pytestmark = pytest.mark.redis

REDIS_DB = urlsplit(REDIS_URL)._replace(path="/4").geturl()
EVENTS = (
    "queue_item_status_changed",
    "batch_enqueued",
    "invocation_started",
    "invocation_progress",
    "invocation_complete",
    "invocation_error",
    "queue_cleared",
    "queue_items_canceled",
)


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    require_service("Redis", "127.0.0.1", 6379)
    channel = f"pixelmill-test:{uuid.uuid4().hex[:10]}"
    yield settings.model_copy(
        update={
            "plans": unthrottled_plans(),
            "dispatch_poll_seconds": 0.2,
            "redis_url": REDIS_DB,
            "events_channel": channel,
            "sse_heartbeat_seconds": 0.3,
        }
    )
    client = redis.Redis.from_url(REDIS_DB)
    try:
        client.flushdb()
    finally:
        client.close()


class _InOrderEngineIO(engineio.Client):  # type: ignore[misc]
    """engine.io's client hands each message to a new thread, so two events sent in order may be
    handled out of it; here messages are handled on the reading thread, in the order they came."""

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class _InOrderClient(socketio.Client):  # type: ignore[misc]
    def _engineio_client_class(self) -> type[engineio.Client]:
        return _InOrderEngineIO


class Received:
    """A socket.io client that keeps every InvokeAI event it receives, in the order it arrived."""

    def __init__(self) -> None:
        self.client = _InOrderClient(reconnection=False)
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        for name in EVENTS:
            self.client.on(name, self._keep(name))

    def _keep(self, name: str) -> Any:
        def handler(payload: dict[str, Any]) -> None:
            with self._lock:
                self.events.append((name, payload))

        return handler

    def connect(self, url: str, auth: dict[str, str] | None) -> None:
        self.client.connect(url, socketio_path=SOCKET_PATH, auth=auth, wait_timeout=10)

    def subscribe(self, queue_id: str) -> None:
        self.client.call("subscribe_queue", {"queue_id": queue_id}, timeout=10)

    def wait_for(self, done: Any, seconds: float = 30) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                if done(self.events):
                    return list(self.events)
            time.sleep(0.05)
        raise AssertionError(f"timed out; received {self.events}")


def enqueue(
    settings: Settings,
    account: SeededAccount,
    batch_id: str,
    graphs: list[dict[str, Any]],
    *,
    cancel: bool = False,
) -> list[int]:
    """Create one run per graph in one transaction, as InvokeAI's enqueue_batch does; their item ids.
    ``cancel``: cancel them all in that transaction too (they are never executed)."""

    async def work() -> list[int]:
        runtime = Runtime.create(settings)
        try:
            principal = await Authenticator(runtime.db, runtime.settings.secret, runtime.auth_cache).authenticate(
                account.key
            )
            async with runtime.db.session() as session:
                numbers = []
                for graph in graphs:
                    identity = QueueIdentity(
                        queue_id="default",
                        batch_id=batch_id,
                        session_id=str(uuid.uuid4()),
                        origin="external-client",
                        source_prepared_mapping={"add-node": ["add"]},
                        prepared_source_mapping={"add": "add-node"},
                        node_types={"add": "add"},
                    )
                    runs = RunService(session, runtime)
                    run = await runs.create(principal, graph, metadata=identity.to_metadata())
                    numbers.append(await NumericIds(session, "run").number(run.id))
                    if cancel:
                        await runs.cancel(principal, run.id)
            return numbers
        finally:
            await runtime.close()

    return asyncio.run(work())


def add_graph(a: int, b: int) -> dict[str, Any]:
    return {"nodes": [{"id": "add", "type": "math.add", "inputs": {"a": a, "b": b}}], "edges": []}


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = start_server(settings)
    try:
        yield live
    finally:
        live.stop()


def test_a_subscribed_socket_receives_a_batchs_events_in_order_and_another_workspace_none(
    server: LiveServer, settings: Settings, account: SeededAccount
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    other = seed_account(settings.resolved_database_url)
    mine, theirs, unsubscribed = Received(), Received(), Received()
    mine.connect(server.url, {"token": account.key})
    theirs.connect(server.url, {"token": other.key})
    unsubscribed.connect(server.url, {"token": account.key})
    try:
        mine.subscribe("default")
        theirs.subscribe("default")
        items = enqueue(settings, account, "batch-1", [add_graph(2, 3), add_graph(10, 20)])

        def finished(events: list[tuple[str, dict[str, Any]]]) -> bool:
            done = {p["item_id"] for n, p in events if n == "queue_item_status_changed" and p["status"] == "completed"}
            return done == set(items)

        events = mine.wait_for(finished)
        assert events[0][0] == "batch_enqueued"
        assert events[0][1]["batch_id"] == "batch-1"
        assert (events[0][1]["enqueued"], events[0][1]["origin"], events[0][1]["queue_id"]) == (
            2,
            "external-client",
            "default",
        )
        for item_id, total in zip(items, (5, 30), strict=True):
            own = [(n, p) for n, p in events if p.get("item_id") == item_id]
            names = [n if n != "queue_item_status_changed" else f"status:{p['status']}" for n, p in own]
            assert names == ["status:in_progress", "invocation_started", "invocation_complete", "status:completed"]
            started, complete = own[1][1], own[2][1]
            assert started["invocation"] == {"id": "add", "type": "add"}
            assert started["invocation_source_id"] == "add-node"
            assert started["batch_id"] == "batch-1"
            assert complete["result"] == {"type": "integer_output", "value": total, "output_meta": None}
            status = own[-1][1]
            assert status["batch_status"]["total"] == 2
            assert status["queue_status"]["queue_id"] == "default"
            assert status["completed_at"] is not None
            assert status["error_type"] is None
            assert own[0][1]["status_sequence"] < status["status_sequence"]
        time.sleep(0.5)  # anything misrouted would have arrived by now
        assert theirs.events == []  # another workspace's socket, subscribed to the same queue id
        assert unsubscribed.events == []  # a socket of this workspace that follows no queue

        mine.client.call("unsubscribe_queue", {"queue_id": "default"}, timeout=10)
        count = len(mine.events)
        enqueue(settings, account, "batch-2", [add_graph(1, 1)])
        time.sleep(1.5)
        assert len(mine.events) == count
    finally:
        for received in (mine, theirs, unsubscribed):
            received.client.disconnect()


def test_a_socket_without_a_valid_credential_is_refused(server: LiveServer, account: SeededAccount) -> None:
    for auth in (None, {"token": "not-a-token"}):
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.url, socketio_path=SOCKET_PATH, auth=auth, wait_timeout=10)
    bearer = socketio.Client(reconnection=False)
    bearer.connect(server.url, socketio_path=SOCKET_PATH, headers=account.headers, wait_timeout=10)
    assert bearer.connected
    bearer.disconnect()


def test_single_user_mode_accepts_a_socket_without_credentials(settings: Settings) -> None:
    operator = seed_account(settings.resolved_database_url, plan="operator", operator=True)
    grant(settings.resolved_database_url, operator.workspace_id, 100)
    live = start_server(settings.model_copy(update={"anonymous_loopback": True}))
    received = Received()
    try:
        received.connect(live.url, None)
        received.subscribe("default")
        (item,) = enqueue(settings, operator, "solo", [add_graph(4, 4)])
        events = received.wait_for(
            lambda evs: any(n == "queue_item_status_changed" and p["status"] == "completed" for n, p in evs)
        )
        complete = next(p for n, p in events if n == "invocation_complete")
        assert (complete["item_id"], complete["result"]["value"]) == (item, 8)
    finally:
        received.client.disconnect()
        live.stop()


def test_a_failing_node_and_cancelled_items_reach_the_socket_as_invokeai_says_them(
    server: LiveServer, settings: Settings, account: SeededAccount
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    received = Received()
    received.connect(server.url, {"token": account.key})
    try:
        received.subscribe("default")
        missing = {"file_id": "file_01J9ZZZZZZZZZZZZZZZZZZZZZZ"}  # a file no workspace has
        broken = {"nodes": [{"id": "add", "type": "image.resize", "inputs": {"image": missing, "width": 8}}]}
        (failed,) = enqueue(settings, account, "broken", [{**broken, "edges": []}])
        events = received.wait_for(
            lambda evs: any(n == "queue_item_status_changed" and p["status"] == "failed" for n, p in evs)
        )
        error = next(p for n, p in events if n == "invocation_error")
        assert (error["item_id"], error["invocation_source_id"]) == (failed, "add-node")
        assert error["error_type"]
        assert error["error_message"]
        status = next(p for n, p in events if n == "queue_item_status_changed" and p["status"] == "failed")
        assert status["error_type"] == error["error_type"]
        assert status["batch_status"]["failed"] == 1

        cancelled = enqueue(settings, account, "dropped", [add_graph(1, 2), add_graph(3, 4)], cancel=True)
        events = received.wait_for(lambda evs: any(n == "queue_items_canceled" for n, _ in evs))
        canceled = next(p for n, p in events if n == "queue_items_canceled")
        assert (canceled["queue_id"], sorted(canceled["canceled_item_ids"])) == ("default", sorted(cancelled))
        statuses = {p["item_id"]: p["status"] for n, p in events if n == "queue_item_status_changed"}
        assert all(statuses[item] == "canceled" for item in cancelled)
        assert not any(n == "invocation_started" and p["item_id"] in cancelled for n, p in events)
    finally:
        received.client.disconnect()


def statuses_of(events: list[tuple[str, dict[str, Any]]], item_id: int) -> list[str]:
    """The item's events in order, a status change as ``status:<word>``."""
    return [
        n if n != "queue_item_status_changed" else f"status:{p['status']}"
        for n, p in events
        if p.get("item_id") == item_id
    ]


def test_enqueue_batch_over_http_reaches_a_socket_as_invokeai_sends_it_and_clear_is_queue_cleared(
    settings: Settings, account: SeededAccount
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 1000)  # image nodes cost credits
    plans = unthrottled_plans()
    plans["pro"] = plans["pro"].model_copy(update={"max_queued_runs": 2})
    live = start_server(settings.model_copy(update={"plans": plans}))
    received = Received()
    try:
        received.connect(live.url, {"token": account.key})
        received.subscribe("default")
        with httpx.Client(base_url=live.url, headers=account.headers, timeout=30) as client:
            graph = {"id": "g", "nodes": {"sum": {"id": "sum", "type": "add", "a": 2, "b": 3}}, "edges": []}
            answer = client.post("/api/v1/queue/default/enqueue_batch", json={"batch": {"graph": graph, "runs": 3}})
            assert answer.status_code == 200, answer.text
            enqueued = answer.json()
            # The plan has room for 2 queued runs: the third session is dropped, as InvokeAI drops it.
            assert (enqueued["requested"], enqueued["enqueued"]) == (3, 2)
            items, batch_id = sorted(enqueued["item_ids"]), enqueued["batch"]["batch_id"]

            def finished(evs: list[tuple[str, dict[str, Any]]]) -> bool:
                done = {p["item_id"] for n, p in evs if n == "queue_item_status_changed" and p["status"] == "completed"}
                return done == set(items)

            events = received.wait_for(finished)
            name, announced = events[0]
            assert name == "batch_enqueued"
            assert (announced["batch_id"], announced["enqueued"], announced["requested"]) == (batch_id, 2, 3)
            assert announced["priority"] == enqueued["priority"]
            for item_id in items:
                assert statuses_of(events, item_id) == [
                    "status:in_progress",
                    "invocation_started",
                    "invocation_complete",
                    "status:completed",
                ], events
                own = [p for _n, p in events if p.get("item_id") == item_id]
                assert own[1]["invocation_source_id"] == own[2]["invocation_source_id"] == "sum"
                item = client.get(f"/api/v1/queue/default/i/{item_id}").json()
                prepared = item["session"]["source_prepared_mapping"]["sum"][0]
                assert own[1]["invocation"] == {"id": prepared, "type": "add"}
                # The socket and the HTTP routes say the same item, result and counts.
                assert own[2]["result"] == {**item["session"]["results"][prepared], "output_meta": None}
                assert own[2]["result"]["value"] == 5
                assert own[0]["status_sequence"] < own[3]["status_sequence"] == item["status_sequence"]
                assert (own[3]["session_id"], own[3]["completed_at"]) == (item["session_id"], item["completed_at"])
            last = next(p for n, p in reversed(events) if n == "queue_item_status_changed")
            assert last["batch_status"] == client.get(f"/api/v1/queue/default/b/{batch_id}/status").json()
            assert last["queue_status"] == client.get("/api/v1/queue/default/status").json()["queue"]
            assert (last["batch_status"]["completed"], last["queue_status"]["in_progress"]) == (2, 0)

            # An image graph: the image named in session.results is served at /images/i/{name}/full.
            canvas = {
                "id": "canvas",
                "nodes": {
                    "blank": {
                        "id": "blank",
                        "type": "blank_image",
                        "width": 40,
                        "height": 30,
                        "color": {"r": 20, "g": 180, "b": 60, "a": 255},
                    },
                    "small": {"id": "small", "type": "img_resize", "width": 20, "height": 10},
                },
                "edges": [
                    {
                        "source": {"node_id": "blank", "field": "image"},
                        "destination": {"node_id": "small", "field": "image"},
                    }
                ],
            }
            answer = client.post("/api/v1/queue/default/enqueue_batch", json={"batch": {"graph": canvas}})
            assert answer.status_code == 200, answer.text
            (picture,) = answer.json()["item_ids"]
            events = received.wait_for(
                lambda evs: any(
                    n == "queue_item_status_changed" and p["item_id"] == picture and p["status"] == "completed"
                    for n, p in evs
                )
            )
            item = client.get(f"/api/v1/queue/default/i/{picture}").json()
            resized = item["session"]["results"][item["session"]["source_prepared_mapping"]["small"][0]]
            complete = next(
                p
                for n, p in events
                if n == "invocation_complete" and p["item_id"] == picture and p["invocation_source_id"] == "small"
            )
            assert complete["result"] == {**resized, "output_meta": None}
            image_name = resized["image"]["image_name"]
            full = client.get(f"/api/v1/images/i/{image_name}/full")
            assert full.status_code == 200
            decoded = Image.open(io.BytesIO(full.content))
            assert (decoded.format, decoded.size) == ("PNG", (20, 10))
            assert decoded.convert("RGB").getpixel((10, 5)) == (20, 180, 60)

            # Deleting one item leaves the queue with items: no queue_cleared. Clearing it is one.
            assert client.delete(f"/api/v1/queue/default/i/{items[0]}").status_code == 200
            assert client.put("/api/v1/queue/default/clear").json() == {"deleted": 2}
            events = received.wait_for(lambda evs: any(n == "queue_cleared" for n, _ in evs))
            cleared = [p for n, p in events if n == "queue_cleared"]
            assert [p["queue_id"] for p in cleared] == ["default"]
            assert isinstance(cleared[0]["timestamp"], int)
            time.sleep(0.5)
            assert len([n for n, _ in received.events if n == "queue_cleared"]) == 1
    finally:
        received.client.disconnect()
        live.stop()
