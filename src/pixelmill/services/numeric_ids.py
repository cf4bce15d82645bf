"""Integer aliases of prefixed ids (``run_…`` -> 1842), for the dialects whose clients expect numbers.

An alias is made the first time a dialect shows the target and never changes. Making one is an
insert that ignores a conflict, then a read, so two requests showing the same new run at once agree
on its number on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.db.base import utcnow
from pixelmill.db.models import NumericId

AliasKind = Literal["run", "user", "project"]
# Largest alias a client can send back: PostgreSQL's BIGINT (and SQLite's INTEGER) range.
MAX_ALIAS = 2**63 - 1


class NumericIds:
    """Aliases of one kind of target, within the caller's transaction."""

    def __init__(self, session: AsyncSession, kind: AliasKind) -> None:
        self.session = session
        self.kind = kind

    async def number(self, target_id: str) -> int:
        """The alias of ``target_id``, made now if it has none."""
        return (await self.numbers([target_id]))[target_id]

    async def numbers(self, target_ids: Iterable[str]) -> dict[str, int]:
        """Aliases of every target, making the missing ones (one insert for all of them)."""
        wanted = list(dict.fromkeys(target_ids))
        if not wanted:
            return {}
        found = await self._read(wanted)
        missing = [target for target in wanted if target not in found]
        if missing:
            dialect = self.session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            now = utcnow()
            rows = [{"kind": self.kind, "target_id": target, "created_at": now} for target in missing]
            await self.session.execute(insert(NumericId).values(rows).on_conflict_do_nothing())
            found.update(await self._read(missing))
        return found

    async def target(self, number: int) -> str | None:
        """The target of alias ``number``, or None when it names nothing of this kind."""
        if not 0 < number <= MAX_ALIAS:
            return None
        query = select(NumericId.target_id).where(NumericId.id == number, NumericId.kind == self.kind)
        return await self.session.scalar(query)

    async def _read(self, target_ids: list[str]) -> dict[str, int]:
        query = select(NumericId.target_id, NumericId.id).where(
            NumericId.kind == self.kind, NumericId.target_id.in_(target_ids)
        )
        return {target: number for target, number in (await self.session.execute(query)).all()}
