"""Keyset pages: a list query fetches one row more than the page holds, and that extra row is how
the page knows a next one exists (no COUNT). Its cursor is the page's last id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class _Identified(Protocol):
    @property
    def id(self) -> object: ...


Row = TypeVar("Row", bound=_Identified)


def split_page(rows: Sequence[Row], limit: int) -> tuple[list[Row], str | None]:
    """``rows`` fetched with ``LIMIT limit + 1``: the page, and the next page's cursor or None."""
    page = list(rows[:limit])
    return page, (str(page[-1].id) if len(rows) > limit else None)
