"""Which dialects the app serves, and under which path prefixes each answers in its own error shape.

Several dialects share ``/api/v1`` (ImagineLab, imagerift, InvokeAI), so a dialect names the
narrowest prefixes it owns; the edge middleware picks the longest one that matches a request's path
(:func:`error_shapes`), and a path no dialect claims keeps the canonical shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter

from pixelmill.api.dialects.ima2 import (
    routes_events,
    routes_inflight,
    routes_keys,
    routes_sessions,
    routes_status,
)
from pixelmill.api.dialects.ima2.errors import FLAT, KEYS, NESTED
from pixelmill.api.dialects.imaginelab import routes as imaginelab
from pixelmill.api.errors import ErrorShape


@dataclass(frozen=True, slots=True)
class Dialect:
    """One foreign API: its router and the path prefixes where its error shape applies."""

    name: str
    router: APIRouter
    error_shapes: Sequence[tuple[str, ErrorShape]]


def _combined(*routers: APIRouter) -> APIRouter:
    combined = APIRouter()
    for router in routers:
        combined.include_router(router)
    return combined


IMA2_STATE = Dialect(
    "ima2",
    _combined(
        routes_events.router, routes_inflight.router, routes_sessions.router, routes_keys.router, routes_status.router
    ),
    (
        # ima2's global 404 and 500 are nested; ImagineLab's longer /api/v1/ keeps its own.
        ("/api/", NESTED),
        ("/api/events", NESTED),
        ("/api/inflight", FLAT),
        ("/api/sessions", NESTED),
        ("/api/keys/", KEYS),
        *((path, NESTED) for path in routes_status.PATHS),
    ),
)

DIALECTS: tuple[Dialect, ...] = (
    Dialect("imaginelab", imaginelab.router, ((f"{imaginelab.router.prefix}/", imaginelab.ENVELOPE),)),
    IMA2_STATE,
)


def error_shapes(dialects: Iterable[Dialect] = DIALECTS) -> tuple[tuple[str, ErrorShape], ...]:
    """Every dialect's (prefix, shape) pairs, longest prefix first, so the narrowest claim wins."""
    pairs = [pair for dialect in dialects for pair in dialect.error_shapes]
    return tuple(sorted(pairs, key=lambda pair: len(pair[0]), reverse=True))
