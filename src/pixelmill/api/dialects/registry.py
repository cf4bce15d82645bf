"""Which dialects the app serves, and under which path prefixes each answers in its own error shape.

Several dialects share ``/api/v1`` (ImagineLab, imagerift, InvokeAI), so a dialect names the
narrowest prefixes it owns; the edge middleware picks the longest one that matches a request's path
(:func:`error_shapes`), and a path no dialect claims keeps the canonical shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter

from pixelmill.api.dialects.imagerift import routes as imagerift
from pixelmill.api.dialects.imaginelab import routes as imaginelab
from pixelmill.api.dialects.invokeai import envelope as invokeai
from pixelmill.api.dialects.invokeai import routes_auth as invokeai_auth
from pixelmill.api.dialects.invokeai import routes_images as invokeai_images
from pixelmill.api.errors import ErrorShape


@dataclass(frozen=True, slots=True)
class Dialect:
    """One foreign API: its router and the path prefixes where its error shape applies."""

    name: str
    router: APIRouter
    error_shapes: Sequence[tuple[str, ErrorShape]]


DIALECTS: tuple[Dialect, ...] = (
    Dialect("imaginelab", imaginelab.router, ((f"{imaginelab.router.prefix}/", imaginelab.ENVELOPE),)),
    # InvokeAI's login shares ImagineLab's path (its route tells the two apart by content type).
    Dialect(
        "invokeai-edge",
        invokeai_auth.router,
        (("/api/v1/app/", invokeai.ENVELOPE), ("/api/v1/auth/status", invokeai.ENVELOPE)),
    ),
    Dialect("invokeai-images", invokeai_images.router, (("/api/v1/images/", invokeai.ENVELOPE),)),
    Dialect("imagerift", imagerift.router, tuple((prefix, imagerift.ENVELOPE) for prefix in imagerift.PREFIXES)),
)


def error_shapes(dialects: Iterable[Dialect] = DIALECTS) -> tuple[tuple[str, ErrorShape], ...]:
    """Every dialect's (prefix, shape) pairs, longest prefix first, so the narrowest claim wins."""
    pairs = [pair for dialect in dialects for pair in dialect.error_shapes]
    return tuple(sorted(pairs, key=lambda pair: len(pair[0]), reverse=True))
