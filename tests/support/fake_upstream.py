"""What the fake fal and Replicate APIs share: they record every request they receive, answer with
queued whole answers when a test scripts a failure, and put their outputs on a separate fake CDN.

Only this bookkeeping lives here; each fake keeps its own protocol (routes, auth scheme, bodies)."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from tests.support.fake_cdn import FakeCdn


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class RecordingUpstream:
    """A fake upstream's recorded requests and scripted answers, guarded by one lock: the fakes are
    served from a thread while the test reads them."""

    def __init__(self, key: str, cdn: FakeCdn) -> None:
        self.key = key
        self.cdn = cdn
        self.origin = ""
        self.received: list[Received] = []
        self.scripted: list[Scripted] = []
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def fail_next(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """Answer the next request that takes a scripted answer with this, whatever it asked."""
        with self.lock:
            self.scripted.append(Scripted(status, body, headers or {}))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if (method is None or r.method == method) and (path in (None, r.path))]

    async def _record(self, request: Request, *, take_scripted: bool = False) -> tuple[Scripted | None, Any]:
        """Record ``request``; the next scripted answer when asked for (taken under the same lock, so
        concurrent requests take them in the order they were received), and the parsed JSON body."""
        body = await request.body()
        parsed = json.loads(body) if body else None
        with self.lock:
            self.received.append(Received(request.method, request.url.path, dict(request.headers), parsed))
            scripted = self.scripted.pop(0) if take_scripted and self.scripted else None
        return scripted, parsed

    def _take_scripted(self) -> Scripted | None:
        with self.lock:
            return self.scripted.pop(0) if self.scripted else None
