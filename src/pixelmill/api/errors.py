"""Turn every failure into the catalogue's body: ``{"error": {code, message, …}, "detail": message}``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Message, Scope, Send

from pixelmill import errors
from pixelmill.errors import ErrorSpec, PixelmillError

log = logging.getLogger("pixelmill.api")

# Conditional-request headers: a route that requires one answers 428 when it is missing (RFC 6585),
# not the 422 of any other missing field.
_PRECONDITION_HEADERS = frozenset({"if-match", "if-unmodified-since"})

_STATUS_SPECS: dict[int, ErrorSpec] = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHENTICATED,
    403: errors.FORBIDDEN,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    413: errors.PAYLOAD_TOO_LARGE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
    422: errors.VALIDATION_ERROR,
    429: errors.RATE_LIMITED,
}


def error_response(exc: PixelmillError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


class ErrorShape(Protocol):
    """How a dialect answers a failure (its status and body): its ``ErrorEnvelope``."""

    def response(self, exc: PixelmillError, scope: Scope | None = None) -> Response: ...


def under_prefix(path: str, prefix: str) -> bool:
    """Whether ``path`` is under ``prefix``: a prefix ending in ``/`` claims everything below it, any
    other names a path and what lies below it (``/api/v1/generate`` is not ``/api/v1/generations``)."""
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(f"{prefix}/")


def dialect_shape(scope: Scope) -> ErrorShape | None:
    """The error shape of the dialect whose path prefix the request is under, from the app's
    ``state.error_shapes`` ((prefix, shape) pairs, longest first); None on the canonical API."""
    state = getattr(scope.get("app"), "state", None)
    path = str(scope.get("path", ""))
    for prefix, shape in getattr(state, "error_shapes", ()):
        if under_prefix(path, prefix):
            return shape  # type: ignore[no-any-return]
    return None


async def _nothing_received() -> Message:
    return {"type": "http.disconnect"}


async def send_error(send: Send, exc: PixelmillError, scope: Scope | None = None) -> None:
    """Answer with ``exc`` from pure ASGI middleware, which runs outside the exception handlers: in
    the shape of the dialect the request's path belongs to, when ``scope`` is given and it has one,
    so a client of a foreign API sees its own statuses and bodies even for what the edge refuses."""
    shape = dialect_shape(scope) if scope is not None else None
    if shape is not None and scope is not None:
        await shape.response(exc, scope)(scope, _nothing_received, send)
        return
    body = json.dumps(exc.body(), separators=(",", ":")).encode()  # as compact as JSONResponse writes it
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "graph", "nodes", 0, "id") -> "graph.nodes.0.id"; the transport part is dropped.
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "")


async def _on_pixelmill_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PixelmillError)
    return error_response(exc)


def _missing_precondition(problems: list[dict[str, Any]]) -> str | None:
    for problem in problems:
        loc = tuple(problem.get("loc", ()))
        missing_header = problem.get("type") == "missing" and len(loc) == 2 and loc[0] == "header"
        if missing_header and str(loc[1]).lower() in _PRECONDITION_HEADERS:
            return str(loc[1])
    return None


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_error(exc))


def validation_error(exc: RequestValidationError) -> PixelmillError:
    """FastAPI's validation failure as the catalogue error it is (the dialects render it their way)."""
    header = _missing_precondition(list(exc.errors()))
    if header is not None:
        message = f'Send {header} with the ETag of your last read, e.g. {header}: "3"'
        return PixelmillError(errors.PRECONDITION_REQUIRED, message, field=header)
    problems = [
        {
            "field": _field_name(tuple(e.get("loc", ()))),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"field": "", "message": "invalid", "type": ""}
    message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    # A validator that raises a catalogue code (JSON_TOO_LARGE, JSON_TOO_DEEP) answers with that entry.
    spec = errors.spec_for(str(first["type"])) or errors.VALIDATION_ERROR
    return PixelmillError(spec, message, field=first["field"], errors=problems)


def _leaf_routes(routes: Iterable[Any]) -> Iterator[Any]:
    # FastAPI keeps an included router as one route that matches for all of its own; its
    # effective route contexts carry each route's full path pattern and methods.
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            yield from contexts()
        else:
            yield route


def allowed_methods(request: Request) -> list[str]:
    """Every method the routes of this path serve.

    Starlette answers 405 from the first route whose path matched, so its ``Allow`` names only
    that route's methods, while ``GET`` and ``DELETE`` of one path are often two routes. Only the
    most specific templates count: ``/v1/generations/models`` is not a ``/v1/generations/{id}``.
    """
    path, root = request.scope["path"], request.scope.get("root_path", "")
    path = path.removeprefix(root) if root else path  # routes match below the mount point
    by_parameters: dict[int, set[str]] = {}
    for route in _leaf_routes(request.app.router.routes):
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and (match := pattern.match(path)) is not None:
            by_parameters.setdefault(len(match.groupdict()), set()).update(getattr(route, "methods", None) or ())
    return sorted(by_parameters[min(by_parameters)]) if by_parameters else []


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    spec = _STATUS_SPECS.get(exc.status_code)
    if spec is None:
        spec = ErrorSpec(f"HTTP_{exc.status_code}", exc.status_code, str(exc.detail))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(PixelmillError(spec, allowed=headers["Allow"].split(", "), headers=headers))
    message = str(exc.detail) if exc.detail and exc.status_code != 404 else spec.message
    return error_response(PixelmillError(spec, message, headers=headers))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"request_id": request.scope.get("state", {}).get("request_id")})
    return error_response(PixelmillError(errors.INTERNAL_ERROR))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PixelmillError, _on_pixelmill_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
