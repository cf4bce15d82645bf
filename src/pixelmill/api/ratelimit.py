"""Puts the ``RateLimit`` and ``RateLimit-Policy`` fields on every rate-limited response.

The authenticated dependency counts the request and leaves its RateLimitState in the request's
scope state; this pure ASGI middleware copies the fields onto the response start, whatever the
route returned (a model, a streamed body, or an error), without wrapping the body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixelmill.services.ratelimit import RateLimitState

RATE_LIMIT_STATE_KEY = "rate_limit"


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state") or {}
                limit = state.get(RATE_LIMIT_STATE_KEY)
                if isinstance(limit, RateLimitState):
                    headers = list(message.get("headers", []))
                    present = {name.lower() for name, _ in headers}
                    for name, value in limit.headers().items():
                        if name.lower().encode() not in present:
                            headers.append((name.lower().encode(), value.encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_limits)
