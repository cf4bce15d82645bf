"""Turn every failure into the catalogue's body: ``{"error": {code, message, …}, "detail": message}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from pixelmill import errors
from pixelmill.errors import ErrorSpec, PixelmillError

log = logging.getLogger("pixelmill.api")

_STATUS_SPECS: dict[int, ErrorSpec] = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHENTICATED,
    403: errors.FORBIDDEN,
    404: errors.NOT_FOUND,
    413: errors.PAYLOAD_TOO_LARGE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
    422: errors.VALIDATION_ERROR,
    429: errors.RATE_LIMITED,
}


def error_response(exc: PixelmillError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


async def send_error(send: Send, exc: PixelmillError) -> None:
    """Answer with ``exc`` from pure ASGI middleware, which runs outside the exception handlers."""
    body = json.dumps(exc.body()).encode()
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


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
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
    return error_response(PixelmillError(spec, message, field=first["field"], errors=problems))


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    spec = _STATUS_SPECS.get(exc.status_code)
    if spec is None:
        spec = ErrorSpec(f"HTTP_{exc.status_code}", exc.status_code, str(exc.detail))
    message = str(exc.detail) if exc.detail and exc.status_code != 404 else spec.message
    return error_response(PixelmillError(spec, message, headers=dict(exc.headers or {})))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"request_id": request.scope.get("state", {}).get("request_id")})
    return error_response(PixelmillError(errors.INTERNAL_ERROR))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PixelmillError, _on_pixelmill_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
