"""The error catalogue: every error a client can see, with its code, HTTP status and message.

    PixelmillError            raised anywhere below the HTTP edge; carries an ErrorSpec + extras
      └── GraphValidationError  (engine) one graph problem, naming node_id and field

Services and the engine raise ``PixelmillError(NOT_FOUND, "Run not found")``; only the API layer
turns it into ``{"error": {"code", "message", ...extra}, "detail": message}`` with the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One catalogue entry: a stable machine code, its HTTP status and a default message."""

    code: str
    status: int
    message: str


_CATALOGUE: dict[str, ErrorSpec] = {}


def _spec(code: str, status: int, message: str) -> ErrorSpec:
    spec = ErrorSpec(code, status, message)
    _CATALOGUE[code] = spec
    return spec


# Request shape
BAD_REQUEST = _spec("BAD_REQUEST", 400, "The request is malformed")
VALIDATION_ERROR = _spec("VALIDATION_ERROR", 422, "The request body is invalid")
PAYLOAD_TOO_LARGE = _spec("PAYLOAD_TOO_LARGE", 413, "The request body is too large")
UNSUPPORTED_MEDIA_TYPE = _spec("UNSUPPORTED_MEDIA_TYPE", 415, "This content type is not supported")
METHOD_NOT_ALLOWED = _spec(
    "METHOD_NOT_ALLOWED", 405, "This method is not allowed here; the Allow header lists those that are"
)
JSON_TOO_DEEP = _spec("JSON_TOO_DEEP", 422, "The JSON is nested too deeply")
JSON_TOO_LARGE = _spec("JSON_TOO_LARGE", 413, "A free-form JSON field is larger than allowed")

# Authentication and authorisation
UNAUTHENTICATED = _spec("UNAUTHENTICATED", 401, "Missing or invalid API key or access token")
INVALID_CREDENTIALS = _spec("INVALID_CREDENTIALS", 401, "Incorrect email or password")
TOKEN_EXPIRED = _spec("TOKEN_EXPIRED", 401, "The access token has expired")
FORBIDDEN = _spec("FORBIDDEN", 403, "You are not allowed to do this")
INSUFFICIENT_ROLE = _spec("INSUFFICIENT_ROLE", 403, "Your role in this workspace does not allow this")
INSUFFICIENT_SCOPE = _spec("INSUFFICIENT_SCOPE", 403, "This API key lacks the scope for this operation")
PLAN_FORBIDS = _spec("PLAN_FORBIDS", 403, "Your plan does not include this feature")
RESET_TOKEN_INVALID = _spec("RESET_TOKEN_INVALID", 400, "The reset token is invalid, used or expired")
INVITATION_INVALID = _spec("INVITATION_INVALID", 400, "The invitation is invalid, used or expired")
SIGN_IN_LINK_INVALID = _spec("SIGN_IN_LINK_INVALID", 400, "The sign-in link is invalid, used or expired")
CSRF_FAILED = _spec("CSRF_FAILED", 403, "A request made with the session cookie must carry its X-CSRF-Token header")

# Resources
NOT_FOUND = _spec("NOT_FOUND", 404, "Not found")
EMAIL_TAKEN = _spec("EMAIL_TAKEN", 409, "An account with this email already exists")
CONFLICT = _spec("CONFLICT", 409, "The request conflicts with the current state")
VERSION_CONFLICT = _spec("VERSION_CONFLICT", 409, "The resource was changed by someone else")
PRECONDITION_REQUIRED = _spec(
    "PRECONDITION_REQUIRED", 428, "This update needs an If-Match header with the version you last read"
)
IDEMPOTENCY_KEY_REUSED = _spec("IDEMPOTENCY_KEY_REUSED", 409, "This Idempotency-Key was used with a different request")
IDEMPOTENCY_KEY_IN_USE = _spec(
    "IDEMPOTENCY_KEY_IN_USE", 409, "A request with this Idempotency-Key is still in progress"
)
RUN_NOT_CANCELLABLE = _spec("RUN_NOT_CANCELLABLE", 409, "The run has already finished")
RUN_NOT_FINISHED = _spec("RUN_NOT_FINISHED", 409, "The run has not finished; cancel it or wait for it first")
RUN_NOT_DELETED = _spec("RUN_NOT_DELETED", 409, "The run is not deleted, so there is nothing to restore")
KEY_REVOKED = _spec("KEY_REVOKED", 409, "The API key was revoked or has expired; it can no longer be changed")
KEY_ALREADY_ROTATED = _spec(
    "KEY_ALREADY_ROTATED", 409, "The API key was already rotated; rotate its replacement (replaced_by) instead"
)

# Money and limits
INSUFFICIENT_CREDITS = _spec("INSUFFICIENT_CREDITS", 402, "Insufficient credits")
RATE_LIMITED = _spec("RATE_LIMITED", 429, "Too many requests; slow down")
LOGIN_THROTTLED = _spec("LOGIN_THROTTLED", 429, "Too many failed logins; try again later")
TOO_MANY_JOBS = _spec("TOO_MANY_JOBS", 429, "Too many queued runs in this workspace")
SANDBOX_ONLY = _spec("SANDBOX_ONLY", 403, "Test keys may use sandbox models and local CPU nodes only")

# Media
INVALID_IMAGE = _spec("INVALID_IMAGE", 422, "The image could not be decoded")
IMAGE_TOO_LARGE = _spec("IMAGE_TOO_LARGE", 422, "The image has too many pixels")
MEMORY_BUDGET_EXCEEDED = _spec(
    "MEMORY_BUDGET_EXCEEDED", 422, "The work needs more memory than this server's memory budget allows"
)
UNSUPPORTED_IMAGE_FORMAT = _spec("UNSUPPORTED_IMAGE_FORMAT", 415, "This image format is not supported")
URL_NOT_ALLOWED = _spec("URL_NOT_ALLOWED", 422, "This URL points to an address that is not allowed")
FETCH_FAILED = _spec("FETCH_FAILED", 422, "The URL could not be fetched")

# Graphs (each names node_id and, where it applies, field)
UNKNOWN_NODE_TYPE = _spec("UNKNOWN_NODE_TYPE", 422, "Unknown node type")
DUPLICATE_NODE_ID = _spec("DUPLICATE_NODE_ID", 422, "Two nodes share one id")
MISSING_INPUT = _spec("MISSING_INPUT", 422, "A required input has no value and no edge")
UNKNOWN_FIELD = _spec("UNKNOWN_FIELD", 422, "The node type has no such input")
INVALID_INPUT = _spec("INVALID_INPUT", 422, "An input value is invalid or out of range")
EDGE_UNKNOWN_NODE = _spec("EDGE_UNKNOWN_NODE", 422, "An edge refers to a node that is not in the graph")
EDGE_UNKNOWN_FIELD = _spec("EDGE_UNKNOWN_FIELD", 422, "An edge refers to a field the node does not have")
EDGE_TYPE_MISMATCH = _spec("EDGE_TYPE_MISMATCH", 422, "An edge connects fields of incompatible types")
DUPLICATE_INPUT_EDGE = _spec("DUPLICATE_INPUT_EDGE", 422, "Two edges feed one input")
GRAPH_CYCLE = _spec("GRAPH_CYCLE", 422, "The graph has a cycle")
GRAPH_TOO_LARGE = _spec("GRAPH_TOO_LARGE", 422, "The graph exceeds the configured limits")

# Execution
NODE_FAILED = _spec("NODE_FAILED", 500, "A node failed")
PROVIDER_ERROR = _spec("PROVIDER_ERROR", 502, "The upstream provider failed")
# Upstream providers (an upstream's own error code and parameter ride along as upstream_code, param)
UPSTREAM_RATE_LIMITED = _spec(
    "UPSTREAM_RATE_LIMITED", 429, "The upstream provider kept rate-limiting the call beyond its retry budget"
)
UPSTREAM_AUTH_FAILED = _spec("UPSTREAM_AUTH_FAILED", 502, "The upstream provider refused the configured key")
UPSTREAM_BAD_REQUEST = _spec("UPSTREAM_BAD_REQUEST", 422, "The upstream provider refused the request")
SAFETY_REFUSAL = _spec("SAFETY_REFUSAL", 422, "The upstream provider's safety system refused the request")
UPSTREAM_TIMEOUT = _spec("UPSTREAM_TIMEOUT", 504, "The upstream provider did not answer in time")
UPSTREAM_UNAVAILABLE = _spec("UPSTREAM_UNAVAILABLE", 502, "The upstream provider failed or could not be reached")
# Upstream keys set through the API (each names the provider)
PROVIDER_KEY_REJECTED = _spec("PROVIDER_KEY_REJECTED", 422, "The upstream provider refused the key; it was not saved")
ENV_KEY_IMMUTABLE = _spec(
    "ENV_KEY_IMMUTABLE", 409, "This provider's key comes from the server's environment and cannot be changed here"
)
DEPENDENCY_MISSING = _spec("DEPENDENCY_MISSING", 503, "A required program or package is not installed")
SERVICE_UNAVAILABLE = _spec("SERVICE_UNAVAILABLE", 503, "The service is not ready")
SSE_CAPACITY = _spec("SSE_CAPACITY", 503, "Too many event streams are open; retry later")
INTERNAL_ERROR = _spec("INTERNAL_ERROR", 500, "Internal error; safe to retry with the same Idempotency-Key")


def catalogue() -> list[ErrorSpec]:
    """Every error a client can receive, for documentation and tests."""
    return list(_CATALOGUE.values())


def spec_for(code: str) -> ErrorSpec | None:
    """The catalogue entry with this code (a validator raising a catalogue code gets its status)."""
    return _CATALOGUE.get(code)


class PixelmillError(Exception):
    """A client-visible error: a catalogue entry, an optional specific message and extra fields.

    ``extra`` lands inside the error body next to code and message (``balance``, ``required``,
    ``node_id``, ``field``, ``current_version`` …); ``headers`` go on the HTTP response
    (``Retry-After``).
    """

    def __init__(
        self,
        spec: ErrorSpec,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.spec = spec
        self.message = message or spec.message
        self.headers = headers or {}
        self.extra = extra
        super().__init__(f"{spec.code}: {self.message}")

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def status(self) -> int:
        return self.spec.status

    def body(self) -> dict[str, Any]:
        """The JSON body the API sends for this error."""
        return {"error": {"code": self.code, "message": self.message, **self.extra}, "detail": self.message}
