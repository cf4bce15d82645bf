"""A dialect's error envelope: the status it answers for each catalogue error, and the body it sends.

The canonical API answers ``{"error": {...}, "detail": message}`` with the catalogue's status. A
foreign API documents its own: ImagineLab only ``{"detail": "..."}`` and 400 where pixelmill says 422.
A dialect's router uses :meth:`ErrorEnvelope.route_class`, so every failure inside its routes (its
dependencies, request validation, the services it calls, an unexpected exception) leaves in the
dialect's shape, and the canonical routes keep theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import Scope

from pixelmill import errors
from pixelmill.api.errors import validation_error
from pixelmill.errors import PixelmillError

log = logging.getLogger("pixelmill.api")

ErrorBody = Callable[[PixelmillError, str], dict[str, Any]]


def detail_body(_exc: PixelmillError, message: str) -> dict[str, Any]:
    """FastAPI's own error body, which most Python-served APIs document: ``{"detail": "..."}``."""
    return {"detail": message}


@dataclass(frozen=True, slots=True)
class ErrorEnvelope:
    """How one dialect shows a :class:`PixelmillError`.

    ``statuses`` maps a catalogue status to the dialect's (422 -> 400); ``codes`` maps single codes,
    and wins. ``plain_codes`` answer with the catalogue's fixed message instead of the specific one,
    where the document shows an exact text (ImagineLab's ``"Insufficient credits"``).
    ``request_id_field`` names the body field that carries the request's id, for a dialect whose
    clients log it from the body (imagerift's ``requestId``); None leaves it to the header.
    """

    statuses: Mapping[int, int] = field(default_factory=dict)
    codes: Mapping[str, int] = field(default_factory=dict)
    plain_codes: frozenset[str] = frozenset()
    body: ErrorBody = detail_body
    request_id_field: str | None = None

    def status(self, exc: PixelmillError) -> int:
        return self.codes.get(exc.code, self.statuses.get(exc.status, exc.status))

    def message(self, exc: PixelmillError) -> str:
        return exc.spec.message if exc.code in self.plain_codes else exc.message

    def response(self, exc: PixelmillError, scope: Scope | None = None) -> JSONResponse:
        """``exc`` in this dialect's shape; ``scope`` (the request's) supplies the request id."""
        body = self.body(exc, self.message(exc))
        if self.request_id_field is not None:
            body[self.request_id_field] = (scope or {}).get("state", {}).get("request_id")
        return JSONResponse(body, status_code=self.status(exc), headers=exc.headers or None)

    def route_class(self) -> type[APIRoute]:
        """An ``APIRoute`` whose handler answers every failure in this envelope."""
        envelope = self

        class DialectRoute(APIRoute):
            def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
                handler = super().get_route_handler()

                async def handle(request: Request) -> Response:
                    try:
                        return await handler(request)
                    except PixelmillError as exc:
                        return envelope.response(exc, request.scope)
                    except RequestValidationError as exc:
                        return envelope.response(validation_error(exc), request.scope)
                    except Exception:
                        log.exception(
                            "unhandled error", extra={"request_id": request.scope.get("state", {}).get("request_id")}
                        )
                        return envelope.response(PixelmillError(errors.INTERNAL_ERROR), request.scope)

                return handle

        return DialectRoute
