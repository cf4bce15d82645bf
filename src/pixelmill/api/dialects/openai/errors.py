"""OpenAI's error envelope ``{"error": {"message", "type", "param", "code"}}`` and its statuses.

The SDKs raise one exception class per status (400 BadRequestError, 401 AuthenticationError, 403
PermissionDeniedError, 404 NotFoundError, 409 ConflictError, 422 UnprocessableEntityError, 429
RateLimitError, 5xx InternalServerError), so the statuses are OpenAI's: a request pixelmill finds
invalid (422) is 400 naming ``param``, and running out of credits (402, which OpenAI never sends) is
429 with ``code: "insufficient_quota"``, as OpenAI answers an account without quota.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.errors import PixelmillError

# pixelmill catalogue code -> OpenAI's ``code``; others are the catalogue code in lower case.
CODES: dict[str, str] = {
    "UNAUTHENTICATED": "invalid_api_key",
    "TOKEN_EXPIRED": "invalid_api_key",
    "INSUFFICIENT_CREDITS": "insufficient_quota",
    "RATE_LIMITED": "rate_limit_exceeded",
    "TOO_MANY_JOBS": "rate_limit_exceeded",
    "VALIDATION_ERROR": "invalid_value",
    "INVALID_INPUT": "invalid_value",
    "INVALID_IMAGE": "invalid_image",
    "UNSUPPORTED_IMAGE_FORMAT": "invalid_image_format",
    "SAFETY_REFUSAL": "moderation_blocked",
}
# pixelmill catalogue code -> OpenAI's ``type`` where the status alone does not say it.
TYPES: dict[str, str] = {
    "INSUFFICIENT_CREDITS": "insufficient_quota",
    "RATE_LIMITED": "requests",
    "TOO_MANY_JOBS": "requests",
}
STATUS_TYPES: dict[int, str] = {
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
}


def error_type(exc: PixelmillError, status: int) -> str:
    if exc.code in TYPES:
        return TYPES[exc.code]
    if status >= 500:
        return "server_error"
    return STATUS_TYPES.get(status, "invalid_request_error")


def param_of(extra: Mapping[str, Any]) -> str | None:
    """The request parameter an error is about: ``field`` as the routes left it (already renamed to
    OpenAI's parameter where a graph input stood for one), else None."""
    field = extra.get("field")
    return field if isinstance(field, str) and field else None


def error_code(exc: PixelmillError, param: str | None) -> str:
    if exc.code == "NOT_FOUND" and param == "model":
        return "model_not_found"
    return CODES.get(exc.code, exc.code.lower())


def openai_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    status = ENVELOPE.status(exc)
    param = param_of(exc.extra)
    return {
        "error": {
            "message": message,
            "type": error_type(exc, status),
            "param": param,
            "code": error_code(exc, param),
        }
    }


ENVELOPE = ErrorEnvelope(
    statuses={413: 400, 415: 400, 422: 400, 428: 400},
    codes={"INSUFFICIENT_CREDITS": 429},
    body=openai_body,
)
