"""A test double for code that uses the SDK: canned routes served by ``httpx.MockTransport``.

::

    from pixelmill.client.testing import MockServer, run_body

    server = MockServer()
    server.add("POST", "/v1/runs", json={"run_id": "run_1", "status": "queued"}, status=201)
    server.add("GET", "/v1/runs/{run_id}", json=run_body("run_1", status="completed"))
    with server.client() as client:
        assert client.runs.wait("run_1").status == "completed"
    assert server.requests[0].headers["Idempotency-Key"]

A route may answer a sequence (``responses=[...]``, the last one repeats), e.g. a 503 then a 201 to
test retries, or call a handler ``(request, path_params) -> httpx.Response``. An unmatched request is
a 404 ``NOT_FOUND`` in the server's error shape. ``async_client()`` gives an ``AsyncClient`` over the
same routes.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from pixelmill.client._async import AsyncClient
from pixelmill.client._sync import Client
from pixelmill.client.retry import RetryPolicy

Handler = Callable[[httpx.Request, dict[str, str]], httpx.Response]

BASE_URL = "http://pixelmill.test"
API_KEY = "pm_test_mockserver"


def error_response(status: int, code: str, message: str, **extra: Any) -> httpx.Response:
    """A response in the server's error shape, e.g. ``error_response(402, "INSUFFICIENT_CREDITS", …,
    balance=3, required=10)``."""
    body = {"error": {"code": code, "message": message, **extra}, "detail": message}
    return httpx.Response(status, json=body)


def run_body(
    run_id: str,
    *,
    status: str = "queued",
    outputs: Mapping[str, Any] | None = None,
    nodes: Sequence[Mapping[str, Any]] = (),
    error: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``GET /v1/runs/{id}`` body with sensible defaults for the fields a test does not care about."""
    now = datetime.now(UTC).isoformat()
    finished = status in ("completed", "failed", "cancelled")
    return {
        "run_id": run_id,
        "object": "run",
        "kind": "graph",
        "status": status,
        "mode": "test",
        "workflow_id": None,
        "workflow_version": None,
        "outputs": dict(outputs or {}),
        "nodes": [dict(n) for n in nodes],
        "credits_reserved": 0,
        "credits_used": 0,
        "error": dict(error) if error else None,
        "queue_position": None,
        "priority": 0,
        "attempt": 1,
        "metadata": None,
        "created_at": now,
        "started_at": now if status != "queued" else None,
        "completed_at": now if finished else None,
    }


def sse_body(events: Sequence[tuple[str, Mapping[str, Any]]]) -> bytes:
    """A ``text/event-stream`` body with numbered events, as the server sends them."""
    lines = [
        f"id: {number}\nevent: {name}\ndata: {jsonlib.dumps(dict(data))}\n\n"
        for number, (name, data) in enumerate(events, start=1)
    ]
    return (": stream opened\n\n" + "".join(lines)).encode()


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    responses: list[httpx.Response | Handler]
    calls: int = 0

    def answer(self, request: httpx.Request, params: dict[str, str]) -> httpx.Response:
        item = self.responses[min(self.calls, len(self.responses) - 1)]
        self.calls += 1
        if isinstance(item, httpx.Response):
            # A fresh copy each time: a response's stream can be read once.
            return httpx.Response(item.status_code, headers=item.headers, content=item.content)
        return item(request, params)


@dataclass
class MockServer:
    """Canned routes and a record of every request the client sent (``requests``)."""

    requests: list[httpx.Request] = field(default_factory=list)
    _routes: list[_Route] = field(default_factory=list)

    def add(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        responses: Sequence[httpx.Response | Handler] | None = None,
        handler: Handler | None = None,
    ) -> None:
        """Answer ``method path`` (``{name}`` matches one path segment); later routes win over earlier."""
        if responses is None:
            if handler is not None:
                responses = [handler]
            elif content is not None:
                responses = [httpx.Response(status, headers=headers, content=content)]
            else:
                responses = [httpx.Response(status, headers=headers, json=json)]
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self._routes.insert(0, _Route(method.upper(), re.compile(f"^{regex}$"), list(responses)))

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method.upper() and r.url.path == path]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for route in self._routes:
            match = route.pattern.match(request.url.path)
            if route.method == request.method and match is not None:
                return route.answer(request, match.groupdict())
        return error_response(404, "NOT_FOUND", f"no canned route for {request.method} {request.url.path}")

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self, *, api_key: str = API_KEY, retry: RetryPolicy | None = None) -> Client:
        """A ``Client`` on this server; retries wait only milliseconds so tests stay fast."""
        return Client(api_key, BASE_URL, transport=self.transport, retry=retry or RetryPolicy(base=0.001, cap=0.01))

    def async_client(self, *, api_key: str = API_KEY, retry: RetryPolicy | None = None) -> AsyncClient:

        async def handle(request: httpx.Request) -> httpx.Response:
            await request.aread()
            return self.handle(request)

        return AsyncClient(
            api_key, BASE_URL, transport=httpx.MockTransport(handle), retry=retry or RetryPolicy(base=0.001, cap=0.01)
        )
