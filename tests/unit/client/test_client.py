"""The sync client against the SDK's own test transport."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pixelmill.client import (
    AuthenticationError,
    Conflict,
    ConnectionFailed,
    InsufficientCredits,
    NotFound,
    RateLimited,
    RetryPolicy,
    RunFailed,
    ServerError,
    ValidationFailed,
)
from pixelmill.client.testing import MockServer, error_response, run_body, sse_body

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a2dd3f6f0000000049454e44ae426082"
)


def test_create_run_sends_the_key_and_an_idempotency_key() -> None:
    server = MockServer()
    server.add("POST", "/v1/runs", json={"run_id": "run_1", "status": "queued"}, status=201)
    with server.client() as client:
        created = client.runs.create({"nodes": [], "edges": []}, metadata={"who": "test"})
    assert created.run_id == "run_1"
    request = server.requests[0]
    assert request.headers["Authorization"] == "Bearer pm_test_mockserver"
    assert request.headers["Idempotency-Key"].startswith("pm-sdk-")
    assert b'"metadata":{"who":"test"}' in request.content


def test_a_retried_create_resends_the_same_idempotency_key_and_body() -> None:
    server = MockServer()
    server.add(
        "POST",
        "/v1/runs",
        responses=[
            error_response(503, "SERVICE_UNAVAILABLE", "busy"),
            error_response(409, "IDEMPOTENCY_KEY_IN_USE", "still going"),
            httpx.Response(201, json={"run_id": "run_1", "status": "queued"}),
        ],
    )
    with server.client() as client:
        assert client.runs.create({"nodes": []}).run_id == "run_1"
    attempts = server.calls("POST", "/v1/runs")
    assert len(attempts) == 3
    assert len({r.headers["Idempotency-Key"] for r in attempts}) == 1
    assert len({r.content for r in attempts}) == 1


def test_retry_after_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("pixelmill.client._sync.time.sleep", slept.append)
    server = MockServer()
    limited = error_response(429, "RATE_LIMITED", "slow down")
    limited.headers["Retry-After"] = "7"
    server.add("GET", "/v1/credits/wallet", responses=[limited, httpx.Response(200, json=_wallet())])
    with server.client() as client:
        assert client.credits.wallet().available == 90
    assert slept == [7.0]


def test_rate_limited_after_the_retry_budget_carries_retry_after() -> None:
    server = MockServer()
    limited = error_response(429, "RATE_LIMITED", "slow down")
    limited.headers["Retry-After"] = "0"
    server.add("GET", "/v1/credits/wallet", responses=[limited])
    with server.client(retry=RetryPolicy(max_retries=2, base=0.001)) as client, pytest.raises(RateLimited) as caught:
        client.credits.wallet()
    assert caught.value.retry_after == 0.0
    assert len(server.requests) == 3


def test_a_long_retry_after_is_raised_instead_of_waited_for() -> None:
    server = MockServer()
    limited = error_response(429, "TOO_MANY_JOBS", "queue full")
    limited.headers["Retry-After"] = "3600"
    server.add("POST", "/v1/runs", responses=[limited])
    with server.client() as client, pytest.raises(RateLimited) as caught:
        client.runs.create({"nodes": []})
    assert (caught.value.code, caught.value.retry_after, len(server.requests)) == ("TOO_MANY_JOBS", 3600.0, 1)


def test_backoff_grows_and_has_jitter() -> None:
    policy = RetryPolicy(base=1.0, cap=5.0)
    delays = [policy.delay(n, None) for n in range(5)]
    assert 0.5 <= delays[0] <= 1.0
    assert 1.0 <= delays[1] <= 2.0
    assert all(d <= 5.0 for d in delays)
    assert len({policy.delay(3, None) for _ in range(20)}) > 1


def test_402_is_insufficient_credits_with_balance_and_required() -> None:
    server = MockServer()
    server.add(
        "POST",
        "/v1/generations",
        responses=[error_response(402, "INSUFFICIENT_CREDITS", "need 10", balance=8, available=3, required=10)],
    )
    with server.client() as client, pytest.raises(InsufficientCredits) as caught:
        client.generations.create("image", "a cat")
    error = caught.value
    assert (error.status, error.code, error.balance, error.available, error.required) == (
        402,
        "INSUFFICIENT_CREDITS",
        8,
        3,
        10,
    )
    assert error.body["error"]["required"] == 10
    assert len(server.requests) == 1  # a 402 is not retried


@pytest.mark.parametrize(
    ("status", "code", "exception"),
    [
        (401, "UNAUTHENTICATED", AuthenticationError),
        (404, "NOT_FOUND", NotFound),
        (409, "VERSION_CONFLICT", Conflict),
        (422, "INVALID_INPUT", ValidationFailed),
        (500, "INTERNAL_ERROR", ServerError),
    ],
)
def test_error_statuses_map_to_typed_exceptions(status: int, code: str, exception: type[Exception]) -> None:
    server = MockServer()
    server.add("GET", "/v1/runs/{run_id}", responses=[error_response(status, code, "nope", field="graph.nodes")])
    with server.client(retry=RetryPolicy(max_retries=0)) as client, pytest.raises(exception) as caught:
        client.runs.get("run_x")
    assert caught.value.code == code  # type: ignore[attr-defined]


def test_validation_failed_names_the_field() -> None:
    server = MockServer()
    server.add("POST", "/v1/runs", responses=[error_response(422, "MISSING_INPUT", "x", field="nodes.a.prompt")])
    with server.client() as client, pytest.raises(ValidationFailed) as caught:
        client.runs.create({"nodes": []})
    assert caught.value.field == "nodes.a.prompt"


def test_connection_failures_are_retried_then_raised() -> None:
    attempts: list[httpx.Request] = []

    def refuse(request: httpx.Request, _params: dict[str, str]) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("refused", request=request)

    server = MockServer()
    server.add("GET", "/v1/models", handler=refuse)
    with server.client(retry=RetryPolicy(max_retries=2, base=0.001)) as client, pytest.raises(ConnectionFailed):
        client.models.list()
    assert len(attempts) == 3


def test_a_post_without_idempotency_key_is_not_repeated_after_a_read_error() -> None:
    attempts: list[httpx.Request] = []

    def drop(request: httpx.Request, _params: dict[str, str]) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadError("reset", request=request)

    server = MockServer()
    server.add("POST", "/v1/auth/login", handler=drop)
    with server.client(api_key="") as client, pytest.raises(ConnectionFailed):
        client.auth.login("a@example.com", "pw")
    assert len(attempts) == 1
    assert "Idempotency-Key" not in attempts[0].headers


def test_wait_polls_until_the_run_finished() -> None:
    server = MockServer()
    server.add(
        "GET",
        "/v1/runs/{run_id}",
        responses=[
            httpx.Response(200, json=run_body("run_1", status="queued")),
            httpx.Response(200, json=run_body("run_1", status="running")),
            httpx.Response(200, json=run_body("run_1", status="completed")),
        ],
    )
    with server.client() as client:
        run = client.runs.wait("run_1", poll_interval=0.001)
    assert run.status == "completed"
    assert len(server.requests) == 3


def test_wait_raises_run_failed_when_asked() -> None:
    server = MockServer()
    failed = run_body("run_1", status="failed", error={"code": "NODE_FAILED", "message": "boom", "node_id": "a"})
    server.add("GET", "/v1/runs/{run_id}", json=failed)
    with server.client() as client, pytest.raises(RunFailed, match="NODE_FAILED: boom") as caught:
        client.runs.wait("run_1", raise_on_failure=True)
    assert caught.value.run.error is not None
    assert caught.value.run.error.node_id == "a"


def test_create_and_wait_asks_the_server_to_wait_then_polls() -> None:
    server = MockServer()
    server.add("POST", "/v1/runs", json=run_body("run_1", status="running"), status=201)
    server.add("GET", "/v1/runs/{run_id}", json=run_body("run_1", status="completed"))
    with server.client() as client:
        run = client.runs.create_and_wait({"nodes": []}, timeout=5)
    assert run.status == "completed"
    assert server.requests[0].headers["Prefer"] == "wait=5"


def test_events_are_decoded_until_the_terminal_event() -> None:
    body = sse_body(
        [
            ("run_started", {"run_id": "run_1"}),
            ("node_start", {"run_id": "run_1", "node_id": "a"}),
            ("node_complete", {"run_id": "run_1", "node_id": "a"}),
            ("run_complete", {"run_id": "run_1"}),
            ("node_start", {"run_id": "run_1", "node_id": "never"}),
        ]
    )
    server = MockServer()
    server.add("GET", "/v1/runs/{run_id}/events", content=body, headers={"content-type": "text/event-stream"})
    with server.client() as client:
        events = list(client.runs.events("run_1"))
    assert [e.event for e in events] == ["run_started", "node_start", "node_complete", "run_complete"]
    assert events[1].node_id == "a"
    assert events[-1].terminal
    assert events[-1].id == "4"


def test_events_resume_with_last_event_id_after_a_dropped_stream() -> None:
    first = b'id: 1\nevent: run_started\ndata: {}\n\nid: 2\nevent: node_start\ndata: {"node_id": "a"}\n\n'
    rest = b"id: 3\nevent: run_complete\ndata: {}\n\n"

    class Dropping(httpx.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield first
            raise httpx.ReadError("connection reset")

    def answer(request: httpx.Request, _params: dict[str, str]) -> httpx.Response:
        if request.headers.get("Last-Event-ID") == "2":
            return httpx.Response(200, content=rest)
        return httpx.Response(200, stream=Dropping())

    server = MockServer()
    server.add("GET", "/v1/runs/{run_id}/events", handler=answer)
    with server.client() as client:
        names = [e.event for e in client.runs.events("run_1")]
    assert names == ["run_started", "node_start", "run_complete"]
    assert server.requests[1].headers["Last-Event-ID"] == "2"


def test_update_workflow_sends_if_match_with_the_version_read() -> None:
    server = MockServer()
    server.add("PATCH", "/v1/workflows/{wid}", json=_workflow(version=4))
    with server.client() as client:
        updated = client.workflows.update("wf_1", version=3, name="renamed")
    assert updated.version == 4
    assert server.requests[0].headers["If-Match"] == '"3"'


def test_download_outputs_writes_media_and_values(tmp_path: Path) -> None:
    server = MockServer()
    server.add("GET", "/v1/outputs/runs/{rid}/{name}", content=PNG_1PX, headers={"content-type": "image/png"})
    outputs = {
        "picture": {"type": "image", "value": "http://pixelmill.test/v1/outputs/runs/run_1/picture?sig=x"},
        "caption": {"type": "text", "value": "hello"},
        "stats": {"type": "json", "value": {"n": 1}},
    }
    run = run_body("run_1", status="completed", outputs=outputs)
    server.add("GET", "/v1/runs/{run_id}", json=run)
    with server.client() as client:
        paths = client.runs.download_outputs(client.runs.get("run_1"), tmp_path / "out")
    assert sorted(p.name for p in paths) == ["caption.txt", "picture.png", "stats.json"]
    assert (tmp_path / "out" / "picture.png").read_bytes() == PNG_1PX
    assert not list((tmp_path / "out").glob(".*part"))


def test_download_to_another_host_does_not_send_the_key(tmp_path: Path) -> None:
    server = MockServer()
    server.add("GET", "/bucket/blob", content=b"data", headers={"content-type": "application/octet-stream"})
    with server.client() as client:
        client.files.download("http://storage.test/bucket/blob", tmp_path / "blob.bin")
    assert "Authorization" not in server.requests[0].headers
    assert (tmp_path / "blob.bin").read_bytes() == b"data"


def _wallet() -> dict[str, object]:
    return {"workspace_id": "ws_1", "balance": 100, "reserved": 10, "available": 90}


def _workflow(version: int) -> dict[str, object]:
    now = "2025-01-01T00:00:00+00:00"
    return {
        "id": "wf_1",
        "name": "renamed",
        "description": "",
        "version": version,
        "published_version": None,
        "node_count": 0,
        "created_at": now,
        "updated_at": now,
        "graph": {"nodes": [], "edges": []},
    }
