"""One mapping from an upstream's failed answer to the error catalogue.

Each adapter reads its own error body into an :class:`UpstreamFailure` (status, the upstream's
code, parameter, message and whether it is a safety refusal); :func:`to_error` then picks the
catalogue entry the same way for every upstream. Keys never reach a message: an auth failure gets
our own wording, and every upstream message has the key cut out before it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pixelmill import errors
from pixelmill.errors import PixelmillError

MAX_MESSAGE = 500  # an upstream message is kept for the client, but not an unbounded one


@dataclass(frozen=True, slots=True)
class UpstreamFailure:
    """An upstream's failed answer, in the upstream's own terms."""

    status: int
    code: str | None = None
    param: str | None = None
    message: str = ""
    safety: bool = False  # the upstream's safety system refused the request
    auth: bool = False  # the upstream refused the key, whatever its status (xAI answers a bad key with 400)
    request_id: str | None = None
    retry_after: float | None = None  # a wait the body asks for (Google's RetryInfo) when no header names one


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (and any 8-character stretch of it) replaced, and bounded."""
    if secret:
        text = text.replace(secret, "[redacted]")
        # Upstreams echo a masked key ("sk-ab***yz"): the visible ends would still leak a part.
        for start in range(0, max(0, len(secret) - 7)):
            piece = secret[start : start + 8]
            if piece in text:
                text = text.replace(piece, "[redacted]")
    return text[:MAX_MESSAGE]


def to_error(provider: str, failure: UpstreamFailure, *, secret: str | None = None) -> PixelmillError:
    """The catalogue error for ``failure``; the upstream's code and parameter ride along."""
    extra: dict[str, Any] = {"provider": provider, "upstream_status": failure.status}
    if failure.code:
        extra["upstream_code"] = failure.code
    if failure.param:
        extra["param"] = failure.param
    if failure.request_id:
        extra["upstream_request_id"] = failure.request_id
    message = redact(failure.message, secret)
    if failure.status in (401, 403) or failure.auth:
        return PixelmillError(
            errors.UPSTREAM_AUTH_FAILED,
            f"{provider} refused the configured key (HTTP {failure.status}); the operator must set a valid key",
            **extra,
        )
    if failure.safety:
        refusal = message or "refused by its safety system"
        return PixelmillError(errors.SAFETY_REFUSAL, f"{provider}: {refusal}", **extra)
    if failure.status == 429:
        return PixelmillError(errors.UPSTREAM_RATE_LIMITED, f"{provider}: {message or 'rate limited'}", **extra)
    if failure.status in (408, 504):
        return PixelmillError(errors.UPSTREAM_TIMEOUT, f"{provider} timed out (HTTP {failure.status})", **extra)
    if 400 <= failure.status < 500:
        return PixelmillError(errors.UPSTREAM_BAD_REQUEST, f"{provider}: {message or 'bad request'}", **extra)
    detail = f": {message}" if message else ""
    return PixelmillError(errors.UPSTREAM_UNAVAILABLE, f"{provider} failed (HTTP {failure.status}){detail}", **extra)
