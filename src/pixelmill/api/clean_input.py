"""The input edge: text and JSON that cannot be stored or sent back are refused here, once, for
every route (canonical, dialects and any added later), before a route or a transaction sees them.

- A JSON body (``application/json``, ``application/*+json`` or no content type, as FastAPI reads
  them) with a lone surrogate or NUL in any string or key, a NaN or Infinity, or nesting deeper
  than ``max_json_depth`` is answered 422 naming the field (``metadata.note``); see
  :mod:`pixelmill.json_bounds` for why each one breaks later reads.
- A NUL (``%00``) in the path, a query parameter or a URL-encoded form is 422 too: PostgreSQL
  cannot compare or store it, so it would otherwise surface as a 500.
- The free-form field limits are made current for the request, so ``FreeJsonObject`` fields
  validate against the configured ones.

A body is read whole only when it is JSON or a form (others, uploads included, stream on untouched);
``BodyLimitMiddleware`` runs first, so what is read here is already bounded.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixelmill import errors
from pixelmill.api.errors import send_error
from pixelmill.errors import PixelmillError
from pixelmill.json_bounds import JsonLimits, JsonProblem, check_json_body, limits_in_use

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM = b"application/x-www-form-urlencoded"


class CleanInputMiddleware:
    def __init__(self, app: ASGIApp, limits: JsonLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with limits_in_use(self.limits):
            refusal = _refuse_nul_in_url(scope)
            if refusal is not None:
                await send_error(send, refusal, scope)
                return
            kind = _body_kind(scope) if scope["method"] in _BODY_METHODS else None
            if kind is None:
                await self.app(scope, receive, send)
                return
            body, ended = await _read_body(receive)
            if not ended:  # the client went away mid-body: nothing to answer
                await self.app(scope, _replaying(body, ended, receive), send)
                return
            if kind == "json":
                problem = check_json_body(body, self.limits.max_depth)
                refusal = _json_refusal(problem) if problem is not None else None
            else:
                refusal = _form_refusal(body)
            if refusal is not None:
                await send_error(send, refusal, scope)
                return
            await self.app(scope, _replaying(body, ended, receive), send)


def _body_kind(scope: Scope) -> str | None:
    content_type = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
            break
    if content_type is None:
        return "json"  # FastAPI reads a body without a content type as JSON
    media = content_type.split(b";", 1)[0].strip().lower()
    if media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json")):
        return "json"
    if media == _FORM:
        return "form"
    return None


def _json_refusal(problem: JsonProblem) -> PixelmillError:
    return PixelmillError(
        problem.spec,
        problem.message,
        field=problem.field,
        errors=[{"field": problem.field, "message": problem.message, "type": problem.error_type}],
    )


def _nul_refusal(field: str) -> PixelmillError:
    message = f"{field}: text must not contain NUL (%00)"
    problem = {"field": field, "message": message, "type": "invalid_text"}
    return PixelmillError(errors.VALIDATION_ERROR, message, field=field, errors=[problem])


def _refuse_nul_in_url(scope: Scope) -> PixelmillError | None:
    if "\x00" in scope["path"]:
        return _nul_refusal("path")
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query:
        return _nul_refusal(_first_nul_parameter(query.decode("latin-1")))
    return None


def _form_refusal(body: bytes) -> PixelmillError | None:
    if b"%00" not in body:
        return None
    return _nul_refusal(_first_nul_parameter(body.decode("latin-1")))


def _first_nul_parameter(encoded: str) -> str:
    for name, value in parse_qsl(encoded, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "\\x00") or "query"
    return "query"


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, and whether it ended normally (False: the client went away mid-body)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replaying(body: bytes, ended: bool, receive: Receive) -> Receive:
    """``receive`` that hands over the body read here first, then the connection's own messages
    (so a handler still learns of a disconnect when it happens)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if ended:
                return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
