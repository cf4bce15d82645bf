"""Exceptions the SDK raises; each carries the server's error code, the HTTP status and the body.

::

    ClientError
    ├── ConnectionFailed         the server could not be reached (after retries)
    ├── ConfigurationError       no API key or base URL could be found
    ├── RunFailed                a waited-for run ended failed or cancelled
    └── PixelmillAPIError        the server answered with an error body
        ├── AuthenticationError  401
        ├── PermissionDenied     403
        ├── NotFound             404
        ├── Conflict             409 (version conflicts, reused idempotency keys, finished runs)
        ├── InsufficientCredits  402, with ``balance``, ``available`` and ``required``
        ├── ValidationFailed     400 / 422, with ``field``
        ├── RateLimited          429, with ``retry_after``
        └── ServerError          5xx
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from pixelmill.client.models import Run


class ClientError(Exception):
    """Base of everything the SDK raises."""


class ConnectionFailed(ClientError):
    """The server did not answer: refused, reset, timed out or not resolvable."""


class ConfigurationError(ClientError):
    """The client could not find what it needs (an API key, a base URL)."""


class RunFailed(ClientError):
    """A run the caller waited for ended ``failed`` or ``cancelled``; ``run`` is its final state."""

    def __init__(self, run: Run) -> None:
        self.run = run
        reason = f": {run.error.code}: {run.error.message}" if run.error is not None else ""
        super().__init__(f"run {run.run_id} {run.status}{reason}")


class PixelmillAPIError(ClientError):
    """The server answered with an error: ``code`` from the catalogue, ``status``, the parsed ``body``."""

    def __init__(self, message: str, *, code: str, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.message = message
        self.code = code
        self.status = status
        self.body = body
        self.headers = headers or {}

    @property
    def details(self) -> dict[str, Any]:
        """The ``error`` object of the body (code, message and extras such as ``field``)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return dict(self.body["error"])
        return {}


class AuthenticationError(PixelmillAPIError):
    """401: the key or token is missing, wrong, revoked or expired."""


class PermissionDenied(PixelmillAPIError):
    """403: a missing scope or role, or a plan restriction (another workspace's resource is a 404)."""


class NotFound(PixelmillAPIError):
    """404: no such resource in the caller's workspace (another workspace's answers the same)."""


class Conflict(PixelmillAPIError):
    """409: the resource changed, the run already finished, or an idempotency key was reused."""


class InsufficientCredits(PixelmillAPIError):
    """402: the workspace cannot cover the request's estimated cost."""

    @property
    def balance(self) -> int | None:
        value = self.details.get("balance")
        return value if isinstance(value, int) else None

    @property
    def available(self) -> int | None:
        """The part of the balance not held by unfinished runs: what a new request can spend."""
        value = self.details.get("available")
        return value if isinstance(value, int) else None

    @property
    def required(self) -> int | None:
        value = self.details.get("required")
        return value if isinstance(value, int) else None


class ValidationFailed(PixelmillAPIError):
    """400 / 422: the request is invalid; ``field`` names the first offending input when known."""

    @property
    def field(self) -> str | None:
        value = self.details.get("field")
        return value if isinstance(value, str) else None


class RateLimited(PixelmillAPIError):
    """429: too many requests (or queued runs); ``retry_after`` seconds when the server said."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


class ServerError(PixelmillAPIError):
    """5xx: the server or an upstream provider failed."""


_BY_STATUS: dict[int, type[PixelmillAPIError]] = {
    400: ValidationFailed,
    401: AuthenticationError,
    402: InsufficientCredits,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: Conflict,
    422: ValidationFailed,
    428: ValidationFailed,
    429: RateLimited,
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(response: httpx.Response) -> PixelmillAPIError:
    """The typed exception for an error response (the body is read already)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    code = f"HTTP_{response.status_code}"
    message = response.reason_phrase or "error"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = str(error.get("code", code))
            message = str(error.get("message", message))
        elif isinstance(body.get("detail"), str):
            message = body["detail"]
    elif isinstance(body, str) and body:
        message = body[:500]
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else PixelmillAPIError)
    headers = {k.lower(): v for k, v in response.headers.items()}
    return cls(message, code=code, status=status, body=body, headers=headers)
