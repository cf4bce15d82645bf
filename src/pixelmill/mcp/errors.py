"""Failures as messages an assistant can act on: what went wrong, with the field or the numbers.

Tool failures are results with ``isError`` (not protocol errors), so the model sees the message and
can correct its call: a bad argument names the argument, 402 gives balance and required credits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pixelmill.client import (
    AuthenticationError,
    ClientError,
    ConfigurationError,
    ConnectionFailed,
    InsufficientCredits,
    NotFound,
    PermissionDenied,
    PixelmillAPIError,
    RateLimited,
    RunFailed,
    ValidationFailed,
)

# Maps a field the server named (``settings.size``, ``prompt``) to the tool argument it came from.
FieldMapper = Callable[[str], str]


class ToolError(Exception):
    """A tool call that cannot be done; the message is shown to the assistant as it is."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def same_field(field: str) -> str:
    return field


def aliased(aliases: Mapping[str, str]) -> FieldMapper:
    """A mapper that renames the server's top-level field names (``model_name`` -> ``model``)."""

    def mapper(field: str) -> str:
        head, dot, rest = field.partition(".")
        return aliases.get(head, head) + dot + rest

    return mapper


def describe(exc: ClientError, field_of: FieldMapper = same_field) -> ToolError:
    """The SDK's exception as a ToolError whose message says what to do about it."""
    if isinstance(exc, InsufficientCredits):
        available = exc.balance if exc.available is None else exc.available  # servers before `available`
        return ToolError(
            f"Insufficient credits: the workspace has {available} credits available and this needs "
            f"{exc.required}. Add credits or make a cheaper request (check_credits shows the wallet).",
            code=exc.code,
            balance=exc.balance,
            available=available,
            required=exc.required,
        )
    if isinstance(exc, ValidationFailed):
        if exc.field:
            argument = field_of(exc.field)
            return ToolError(f"Invalid argument `{argument}`: {exc.message}", code=exc.code, field=argument)
        return ToolError(f"Invalid request: {exc.message}", code=exc.code)
    if isinstance(exc, AuthenticationError):
        return ToolError(
            f"The pixelmill server refused the credentials ({exc.message}). Set PIXELMILL_API_KEY to a valid "
            "API key (pm_live_… or pm_test_…).",
            code=exc.code,
        )
    if isinstance(exc, PermissionDenied):
        return ToolError(f"Not allowed: {exc.message}", code=exc.code)
    if isinstance(exc, NotFound):
        return ToolError(f"Not found: {exc.message}", code=exc.code)
    if isinstance(exc, RateLimited):
        wait = f" Retry in {exc.retry_after:.0f} s." if exc.retry_after is not None else ""
        return ToolError(f"Rate limited: {exc.message}.{wait}", code=exc.code)
    if isinstance(exc, PixelmillAPIError):
        return ToolError(f"The server answered {exc.status} {exc.code}: {exc.message}", code=exc.code)
    if isinstance(exc, RunFailed):
        error = exc.run.error
        reason = f"{error.code}: {error.message}" if error is not None else "no reason given"
        return ToolError(f"Run {exc.run.run_id} {exc.run.status}: {reason}", run_id=exc.run.run_id)
    if isinstance(exc, ConnectionFailed):
        return ToolError(
            f"{exc} Is the server running (pixelmill serve)? PIXELMILL_BASE_URL names where it listens.",
            code="CONNECTION_FAILED",
        )
    if isinstance(exc, ConfigurationError):
        return ToolError(str(exc), code="CONFIGURATION_ERROR")
    return ToolError(str(exc))
