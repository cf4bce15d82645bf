"""Which dialects the app serves, and under which path prefixes each answers in its own error shape.

Several dialects share ``/api/v1`` (ImagineLab, imagerift, InvokeAI), so a dialect names the
narrowest prefixes it owns; the edge middleware picks the longest one that matches a request's path
(:func:`error_shapes`), and a path no dialect claims keeps the canonical shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter

from pixelmill.api.dialects.imaginelab import routes as imaginelab
from pixelmill.api.dialects.openai import routes as openai
from pixelmill.api.errors import ErrorShape


@dataclass(frozen=True, slots=True)
class Dialect:
    """One foreign API: its router and the path prefixes where its error shape applies."""

    name: str
    router: APIRouter
    error_shapes: Sequence[tuple[str, ErrorShape]]


DIALECTS: tuple[Dialect, ...] = (
    Dialect("imaginelab", imaginelab.router, ((f"{imaginelab.router.prefix}/", imaginelab.ENVELOPE),)),
    Dialect("openai", openai.router, openai.ERROR_SHAPES),
)


def error_shapes(dialects: Iterable[Dialect] = DIALECTS) -> tuple[tuple[str, ErrorShape], ...]:
    """Every dialect's (prefix, shape) pairs, longest prefix first, so the narrowest claim wins."""
    pairs = [pair for dialect in dialects for pair in dialect.error_shapes]
    return tuple(sorted(pairs, key=lambda pair: len(pair[0]), reverse=True))
