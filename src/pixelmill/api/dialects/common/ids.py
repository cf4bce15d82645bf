"""Integer ids on the wire: a path's ``{id}`` read as the alias of a pixelmill id, or a 404.

The aliases themselves live in :mod:`pixelmill.services.numeric_ids`; this is the HTTP side that
every dialect with numeric ids shares: an id that is not a number, is out of range or names nothing
of the kind is "not found", exactly like another tenant's id (the caller's service answers that).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.services.numeric_ids import MAX_ALIAS, AliasKind, NumericIds


def not_found(label: str) -> PixelmillError:
    return PixelmillError(errors.NOT_FOUND, f"{label} not found")


def parse_number(raw: str | int) -> int | None:
    """``raw`` as an alias number, or None (``"12"``, ``12``; not ``"0"``, ``"+12"``, ``"1e3"``, ``"-1"``,
    or anything past the database's 64-bit range)."""
    if isinstance(raw, str):
        if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_ALIAS))):
            return None
        raw = int(raw)
    return raw if 0 < raw <= MAX_ALIAS else None


async def resolve(session: AsyncSession, kind: AliasKind, raw: str | int, label: str) -> str:
    """The pixelmill id behind integer id ``raw``; 404 ``"<label> not found"`` when there is none."""
    number = parse_number(raw)
    target = await NumericIds(session, kind).target(number) if number is not None else None
    if target is None:
        raise not_found(label)
    return target


@contextmanager
def not_found_as(label: str) -> Iterator[None]:
    """Answer any 404 inside as ``"<label> not found"``: the service's message names the pixelmill id
    behind the alias, which must not reach the client (for another tenant's run least of all)."""
    try:
        yield
    except PixelmillError as exc:
        if exc.spec is errors.NOT_FOUND:
            raise not_found(label) from None
        raise
