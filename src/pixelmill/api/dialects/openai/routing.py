"""What every OpenAI route shares: errors in OpenAI's envelope, OpenAI's ``x-ratelimit-*`` headers
(from the same counter as the ``RateLimit`` fields), and server-sent events framed as its SDKs read them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pydantic_core
from fastapi import Request, Response

from pixelmill.api.dialects.openai.errors import ENVELOPE
from pixelmill.api.ratelimit import RATE_LIMIT_STATE_KEY
from pixelmill.errors import PixelmillError
from pixelmill.services.ratelimit import RateLimitState

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def ratelimit_headers(limit: RateLimitState) -> dict[str, str]:
    """OpenAI's request-quota headers: limit, remaining, and when the window resets (``"12s"``)."""
    return {
        "x-ratelimit-limit-requests": str(limit.quota),
        "x-ratelimit-remaining-requests": str(max(0, limit.remaining)),
        "x-ratelimit-reset-requests": f"{limit.reset_seconds}s",
    }


class OpenAIRoute(ENVELOPE.route_class()):  # type: ignore[misc]
    """A route answering failures in OpenAI's envelope, with ``x-ratelimit-*`` on every response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            response: Response = await handler(request)
            limit = request.scope.get("state", {}).get(RATE_LIMIT_STATE_KEY)
            if isinstance(limit, RateLimitState):
                response.headers.update(ratelimit_headers(limit))
            return response

        return handle


def sse_data(payload: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One event: ``event:`` (when named) and one ``data:`` line of compact JSON (or a literal).
    pydantic-core writes the JSON as bytes: an image's ``b64_json`` is megabytes of one string."""
    data = payload.encode() if isinstance(payload, str) else pydantic_core.to_json(payload)
    head = f"event: {event}\n".encode() if event else b""
    return b"".join((head, b"data: ", data, b"\n\n"))


def sse_error(exc: PixelmillError) -> bytes:
    """A failure after the stream began (its status is already sent): OpenAI's ``error`` event,
    which the SDKs raise as an APIError."""
    body = ENVELOPE.body(exc, ENVELOPE.message(exc))
    return sse_data({"type": "error", **body}, event="error")
