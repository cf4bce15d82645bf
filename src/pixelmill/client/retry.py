"""When and how long to wait before trying a request again.

Retried: connection failures, 429, 500/502/503/504 and 409 ``IDEMPOTENCY_KEY_IN_USE`` (the first
attempt of this very request is still being processed). A POST is only retried after a connection
failure when it carries an ``Idempotency-Key`` (the client adds one to every authenticated POST), so
the server replays its first answer instead of doing the work twice. ``Retry-After`` wins over the
computed backoff; a wait longer than ``max_retry_after`` is not worth blocking on and is raised.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import httpx

from pixelmill.client.errors import parse_retry_after

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENCY_HEADER = "Idempotency-Key"


def new_idempotency_key() -> str:
    return f"pm-sdk-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits about ``base * 2**n`` seconds, at most ``cap``."""

    max_retries: int = 3
    base: float = 0.25
    cap: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = parse_retry_after(response.headers.get("retry-after"))
            if after is not None:
                return after
        backoff: float = min(self.cap, self.base * (2**attempt))
        return backoff * (0.5 + random.random() / 2)

    def retry_response(self, response: httpx.Response, attempt: int) -> bool:
        """Whether an error response (its body read) deserves another attempt."""
        if attempt >= self.max_retries:
            return False
        after = parse_retry_after(response.headers.get("retry-after"))
        if after is not None and after > self.max_retry_after:
            return False
        if response.status_code in RETRY_STATUSES:
            return True
        return response.status_code == 409 and _error_code(response) == "IDEMPOTENCY_KEY_IN_USE"

    def retry_failure(self, exc: httpx.TransportError, request: httpx.Request, attempt: int) -> bool:
        """Whether a connection failure may be retried: always if the request never left, else only
        for requests that are safe to repeat."""
        if attempt >= self.max_retries:
            return False
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        return request.method in ("GET", "HEAD", "DELETE", "PUT") or IDEMPOTENCY_HEADER in request.headers


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code")) if isinstance(error, dict) else None
