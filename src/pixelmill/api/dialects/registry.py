"""Which dialects the app serves, and under which path prefixes each answers in its own error shape.

Several dialects share ``/api/v1`` (ImagineLab, imagerift, InvokeAI), so a dialect names the
narrowest prefixes it owns; the edge middleware picks the longest one that matches a request's path
(:func:`error_shapes`), and a path no dialect claims keeps the canonical shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter

from pixelmill.api.dialects.ima2 import codes as ima2_codes
from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2 import (
    routes_events,
    routes_inflight,
    routes_keys,
    routes_sessions,
    routes_status,
)
from pixelmill.api.dialects.ima2 import routes_generate as ima2_generate
from pixelmill.api.dialects.ima2 import routes_history as ima2_history
from pixelmill.api.dialects.ima2 import routes_video as ima2_video
from pixelmill.api.dialects.ima2.errors import FLAT, KEYS, NESTED
from pixelmill.api.dialects.imagerift import routes as imagerift
from pixelmill.api.dialects.imaginelab import routes as imaginelab
from pixelmill.api.dialects.invokeai import envelope as invokeai_envelope
from pixelmill.api.dialects.invokeai import routes_auth as invokeai_auth
from pixelmill.api.dialects.invokeai import routes_images as invokeai_images
from pixelmill.api.dialects.invokeai import routes_queue as invokeai_queue
from pixelmill.api.dialects.invokeai import routes_workflows as invokeai_workflows
from pixelmill.api.dialects.openai import routes as openai
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
    # InvokeAI's login shares ImagineLab's path (its route tells the two apart by content type).
    Dialect(
        "invokeai-edge",
        invokeai_auth.router,
        (("/api/v1/app/", invokeai_envelope.ENVELOPE), ("/api/v1/auth/status", invokeai_envelope.ENVELOPE)),
    ),
    Dialect("invokeai-images", invokeai_images.router, (("/api/v1/images/", invokeai_envelope.ENVELOPE),)),
    Dialect("imagerift", imagerift.router, tuple((prefix, imagerift.ENVELOPE) for prefix in imagerift.PREFIXES)),
    IMA2_STATE,
    Dialect(
        "ima2-generate",
        ima2_generate.router,
        (
            ("/api/generate", ima2_codes.GENERATION),
            ("/api/edit", ima2_codes.GENERATION),
        ),
    ),
    Dialect("ima2-video", ima2_video.router, (("/api/video/", ima2_codes.GENERATION),)),
    Dialect("ima2-node", ima2_generate.node_router, (("/api/node/", ima2_errors.NESTED),)),
    Dialect(
        "ima2-history",
        ima2_history.router,
        (("/api/history", ima2_errors.NESTED), ("/generated/", ima2_errors.NESTED)),
    ),
    Dialect("invokeai-queue", invokeai_queue.router, (("/api/v1/queue/", invokeai_envelope.ENVELOPE),)),
    Dialect("invokeai-workflows", invokeai_workflows.router, (("/api/v1/workflows/", invokeai_envelope.ENVELOPE),)),
    Dialect("openai", openai.router, openai.ERROR_SHAPES),
)


def error_shapes(dialects: Iterable[Dialect] = DIALECTS) -> tuple[tuple[str, ErrorShape], ...]:
    """Every dialect's (prefix, shape) pairs, longest prefix first, so the narrowest claim wins."""
    pairs = [pair for dialect in dialects for pair in dialect.error_shapes]
    return tuple(sorted(pairs, key=lambda pair: len(pair[0]), reverse=True))
