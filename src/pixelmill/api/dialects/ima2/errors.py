"""ima2's two error bodies, and the error codes ima2 documents that pixelmill's catalogue lacks.

ima2 does not answer errors uniformly, and both of its clients accept either form:

- ``FLAT`` ``{"error": "message", "code": "X", …}``: the generation pipeline, in-flight (409/429), refs;
- ``NESTED`` ``{"error": {"code": "X", "message": "…"}, …}``: validation of prompts and counts,
  sessions, the node routes, the global 404/500, ``SSE_CAPACITY`` and ``LAN_TOKEN_REQUIRED``;
- ``KEYS``, the flat one with ``"ok": false``, for the key management routes.

A route module picks the envelope its ima2 counterpart uses (``router = APIRouter(route_class=
NESTED.route_class())``). The error's extra fields (``requestId``, ``currentVersion``, ``parentNodeId``,
``status`` …) go at the top level in both, beside ``error``, as ima2 sends them. ima2's own codes are
``ErrorSpec`` values kept here rather than in the global catalogue: they are this dialect's words
(``SESSION_NOT_FOUND``, ``REQUEST_ID_IN_USE``), and the canonical API never answers with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.errors import ErrorSpec, PixelmillError, spec_for

# pixelmill's catalogue code -> the code ima2 uses for the same failure.
_CODE_NAMES: dict[str, str] = {
    "VALIDATION_ERROR": "INVALID_REQUEST",
    "BAD_REQUEST": "INVALID_REQUEST",
    "JSON_TOO_DEEP": "INVALID_REQUEST",
    # ima2 answers a missing or wrong token so, on loopback and off it.
    "UNAUTHENTICATED": "LAN_TOKEN_REQUIRED",
}
# ima2 answers a malformed request with 400 where pixelmill says 422; ima2's own 422s (a refusal by
# the upstream's safety system or moderation, a provider that returned nothing) stay 422.
_STATUSES: dict[int, int] = {422: 400}
_CODE_STATUSES: dict[str, int] = {"SAFETY_REFUSAL": 422, "MODERATION_REFUSED": 422, "EMPTY_RESPONSE": 422}
# A failed run's stored code (pixelmill's) -> the code and status ima2's pipeline answers for it.
_RUN_FAILURES: dict[str, tuple[str, int]] = {
    "SAFETY_REFUSAL": ("SAFETY_REFUSAL", 422),
    "UPSTREAM_AUTH_FAILED": ("AUTH_API_KEY_INVALID", 401),
    "UPSTREAM_RATE_LIMITED": ("RATE_LIMITED", 429),
    "UPSTREAM_BAD_REQUEST": ("INVALID_REQUEST", 400),
    "UPSTREAM_TIMEOUT": ("OAUTH_IMAGE_TIMEOUT", 504),
    "UPSTREAM_UNAVAILABLE": ("UPSTREAM_5XX", 502),
    "PROVIDER_ERROR": ("UPSTREAM_5XX", 502),
    "INVALID_INPUT": ("INVALID_REQUEST", 400),
}


def code_name(code: str) -> str:
    """The code ima2's clients see for pixelmill's ``code``."""
    return _CODE_NAMES.get(code, code)


def wire_status(spec: ErrorSpec) -> int:
    """The HTTP status ima2 answers for a catalogue entry (and reports in its SSE ``error`` events)."""
    return _CODE_STATUSES.get(spec.code, _STATUSES.get(spec.status, spec.status))


def ima2_code(exc: PixelmillError) -> str:
    return code_name(exc.code)


def run_failure(status: str, error: Mapping[str, Any] | None) -> PixelmillError | None:
    """What a finished run of ``status`` with the stored ``error`` (``{code, message}``) answers in
    ima2's code and status, or None for a completed run: the one translation the request's answer,
    ``/api/events`` and ``/api/inflight`` all report."""
    if status == "cancelled":
        return PixelmillError(GENERATION_CANCELED)
    if status != "failed":
        return None
    error = error or {}
    stored = str(error.get("code"))
    spec = spec_for(stored)
    if stored in _RUN_FAILURES:
        code, wire = _RUN_FAILURES[stored]
    elif spec is not None:
        code, wire = code_name(stored), wire_status(spec)
    else:
        code, wire = "GENERATION_FAILED", 500
    message = str(error.get("message") or (spec.message if spec is not None else "Generation failed"))
    return PixelmillError(ErrorSpec(code, wire, message), message)


def failure_payload(exc: PixelmillError, request_id: str) -> dict[str, Any]:
    """A failed job as ima2's flat ``error`` event: the message, code and the status its request
    would have been answered with (the per-request streams and ``/api/events`` alike)."""
    return {"error": exc.message, "code": ima2_code(exc), "status": FLAT.status(exc), "requestId": request_id}


def flat_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    return {"error": message, "code": ima2_code(exc), **exc.extra}


def nested_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    return {"error": {"code": ima2_code(exc), "message": message}, **exc.extra}


def keys_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    return {"ok": False, **flat_body(exc, message)}


FLAT = ErrorEnvelope(statuses=_STATUSES, codes=_CODE_STATUSES, body=flat_body)
NESTED = ErrorEnvelope(statuses=_STATUSES, codes=_CODE_STATUSES, body=nested_body)
# ``/api/keys/*`` answers ``{ok: false, error, code}``.
KEYS = ErrorEnvelope(statuses=_STATUSES, codes=_CODE_STATUSES, body=keys_body)


# ima2's codes (statuses as ima2 answers them) -----------------------------------------------------

INVALID_REQUEST = ErrorSpec("INVALID_REQUEST", 400, "The request is invalid")
GENERATION_CANCELED = ErrorSpec("GENERATION_CANCELED", 499, "Generation canceled")

# In-flight jobs
REQUEST_ID_IN_USE = ErrorSpec("REQUEST_ID_IN_USE", 409, "A job with this requestId is still running")
TOO_MANY_JOBS = ErrorSpec("TOO_MANY_JOBS", 429, "Too many concurrent generation jobs")

# Sessions and their graphs
SESSION_NOT_FOUND = ErrorSpec("SESSION_NOT_FOUND", 404, "Session not found")
INVALID_GRAPH = ErrorSpec("INVALID_GRAPH", 400, "The graph is invalid")
INVALID_GRAPH_VERSION = ErrorSpec("INVALID_GRAPH_VERSION", 400, "If-Match must be a graph version (an integer)")
GRAPH_VERSION_REQUIRED = ErrorSpec(
    "GRAPH_VERSION_REQUIRED", 428, 'Send If-Match with the graph version you last read, e.g. If-Match: "3"'
)
GRAPH_VERSION_CONFLICT = ErrorSpec("GRAPH_VERSION_CONFLICT", 409, "The graph was saved by someone else meanwhile")
GRAPH_TOO_LARGE = ErrorSpec("GRAPH_TOO_LARGE", 413, "The graph has too many nodes or edges")
GRAPH_PARENT_CONFLICT = ErrorSpec("GRAPH_PARENT_CONFLICT", 409, "Two nodes of the graph claim one server node")

# Provider keys
INVALID_PROVIDER = ErrorSpec("INVALID_PROVIDER", 400, "Unknown provider")
INVALID_API_KEY = ErrorSpec("INVALID_API_KEY", 400, "apiKey must be a non-empty string")
INVALID_AUTH_MODE = ErrorSpec("INVALID_AUTH_MODE", 400, 'mode must be "apikey" or "vertex"')
