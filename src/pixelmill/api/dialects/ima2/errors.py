"""ima2's two error bodies, and the error codes ima2 documents that pixelmill's catalogue lacks.

ima2 does not answer errors uniformly, and both of its clients accept either form:

- ``FLAT`` ``{"error": "message", "code": "X", …}``: the generation pipeline, in-flight (409/429), refs;
- ``NESTED`` ``{"error": {"code": "X", "message": "…"}, …}``: validation of prompts and counts,
  sessions, the node routes, the global 404/500, ``SSE_CAPACITY`` and ``LAN_TOKEN_REQUIRED``.

A route module picks the envelope its ima2 counterpart uses (``router = APIRouter(route_class=
NESTED.route_class())``). The error's extra fields (``requestId``, ``currentVersion``, ``parentNodeId``,
``status`` …) go at the top level in both, beside ``error``, as ima2 sends them. ima2's own codes are
``ErrorSpec`` values kept here rather than in the global catalogue: they are this dialect's words
(``SESSION_NOT_FOUND``, ``REQUEST_ID_IN_USE``), and the canonical API never answers with them.
"""

from __future__ import annotations

from typing import Any

from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.errors import ErrorSpec, PixelmillError

# pixelmill's catalogue code -> the code ima2 uses for the same failure.
_CODE_NAMES: dict[str, str] = {
    "VALIDATION_ERROR": "INVALID_REQUEST",
    "BAD_REQUEST": "INVALID_REQUEST",
    "JSON_TOO_DEEP": "INVALID_REQUEST",
}
# ima2 answers a malformed request with 400 where pixelmill says 422.
_STATUSES: dict[int, int] = {422: 400}


def ima2_code(exc: PixelmillError) -> str:
    """The code ima2's clients see for ``exc``."""
    return _CODE_NAMES.get(exc.code, exc.code)


def flat_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    return {"error": message, "code": ima2_code(exc), **exc.extra}


def nested_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    return {"error": {"code": ima2_code(exc), "message": message}, **exc.extra}


FLAT = ErrorEnvelope(statuses=_STATUSES, body=flat_body)
NESTED = ErrorEnvelope(statuses=_STATUSES, body=nested_body)


# ima2's codes (statuses as ima2 answers them) -----------------------------------------------------

INVALID_REQUEST = ErrorSpec("INVALID_REQUEST", 400, "The request is invalid")
LAN_TOKEN_REQUIRED = ErrorSpec(
    "LAN_TOKEN_REQUIRED", 401, "Send a pixelmill API key as X-Ima2-Token or Authorization: Bearer"
)
ROUTE_NOT_FOUND = ErrorSpec("NOT_FOUND", 404, "Route not found")
GENERATION_CANCELED = ErrorSpec("GENERATION_CANCELED", 499, "Generation canceled")

# In-flight jobs
REQUEST_ID_IN_USE = ErrorSpec("REQUEST_ID_IN_USE", 409, "A job with this requestId is still running")
TOO_MANY_JOBS = ErrorSpec("TOO_MANY_JOBS", 429, "Too many concurrent generation jobs")
JOB_NOT_FOUND = ErrorSpec("JOB_NOT_FOUND", 404, "No job with this requestId")

# Sessions and their graphs
SESSION_NOT_FOUND = ErrorSpec("SESSION_NOT_FOUND", 404, "Session not found")
INVALID_SESSION = ErrorSpec("INVALID_SESSION", 400, "The session is invalid")
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
