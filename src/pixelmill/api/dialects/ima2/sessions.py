"""ima2's graph sessions: list, create, rename, delete, and save a graph over the version last read.

A save is a compare-and-set on ``graph_version`` (``UPDATE … WHERE graph_version = :expected``), so
of two saves from the same version exactly one wins and the other gets 409 GRAPH_VERSION_CONFLICT
with the version now stored. Every read and write is scoped to the caller's workspace: another
workspace's session id answers 404 SESSION_NOT_FOUND, exactly like an id that never existed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2.graphs import Graph
from pixelmill.db.base import utcnow
from pixelmill.db.models.ima2 import Ima2Session
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id

DEFAULT_TITLE = "Untitled"


def session_not_found(session_id: str) -> PixelmillError:
    return PixelmillError(ima2_errors.SESSION_NOT_FOUND, f"Session {session_id} not found")


class SessionStore:
    """The sessions of one workspace, over one database session (the caller commits)."""

    def __init__(self, db: AsyncSession, workspace_id: str) -> None:
        self.db = db
        self.workspace_id = workspace_id

    async def list(self) -> Sequence[Ima2Session]:
        """Most recently changed first."""
        rows = await self.db.scalars(
            select(Ima2Session)
            .where(Ima2Session.workspace_id == self.workspace_id)
            .order_by(Ima2Session.updated_at.desc(), Ima2Session.id.desc())
        )
        return list(rows)

    async def get(self, session_id: str) -> Ima2Session:
        row = await self.db.get(Ima2Session, session_id, populate_existing=True)
        if row is None or row.workspace_id != self.workspace_id:
            raise session_not_found(session_id)
        return row

    async def create(self, title: str | None) -> Ima2Session:
        now = utcnow()
        row = Ima2Session(
            # ima2's ids are "s_<ULID>"; pixelmill's new_id makes exactly that with the prefix "s".
            id=new_id("s"),
            workspace_id=self.workspace_id,
            title=title.strip() if title and title.strip() else DEFAULT_TITLE,
            graph={"nodes": [], "edges": []},
            graph_version=0,
            node_count=0,
            created_at=now,
            updated_at=now,
        )
        self.db.add(row)
        await self.db.flush()
        return row

    async def rename(self, session_id: str, title: str) -> None:
        row = await self.get(session_id)
        row.title = title.strip() or DEFAULT_TITLE
        row.updated_at = utcnow()

    async def delete(self, session_id: str) -> None:
        await self.get(session_id)
        await self.db.execute(
            delete(Ima2Session).where(Ima2Session.id == session_id, Ima2Session.workspace_id == self.workspace_id)
        )

    async def save_graph(self, session_id: str, expected_version: int, graph: Graph) -> int:
        """Store ``graph`` over ``expected_version``; the new version, or 409 with ``currentVersion``."""
        result = await self.db.execute(
            update(Ima2Session)
            .where(
                Ima2Session.id == session_id,
                Ima2Session.workspace_id == self.workspace_id,
                Ima2Session.graph_version == expected_version,
            )
            .values(
                graph=graph.to_json(),
                graph_version=expected_version + 1,
                node_count=len(graph.nodes),
                updated_at=utcnow(),
            )
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return expected_version + 1
        row = await self.get(session_id)  # 404 when it is not (or not the caller's)
        raise PixelmillError(
            ima2_errors.GRAPH_VERSION_CONFLICT,
            f"The graph is at version {row.graph_version}, not {expected_version}; reload it and save again",
            currentVersion=row.graph_version,
        )
