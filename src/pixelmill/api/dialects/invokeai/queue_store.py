"""The runs of one workspace's InvokeAI queue: the reads the queue routes and events need.

An item is a run whose metadata holds a :class:`~.items.QueueIdentity` for the queue, joined with its
numeric alias (the ``item_id``). Every query is scoped to the workspace and skips deleted runs, so
another workspace's item, or an item of another queue, is simply not found. Writes (create, cancel,
delete) go through :class:`~pixelmill.services.runs.RunService`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.api.dialects.invokeai.items import METADATA_KEY
from pixelmill.db.models import NumericId, Run
from pixelmill.errors import PixelmillError

_IDENTITY = Run.run_metadata[METADATA_KEY]
item_queue_id = _IDENTITY["queue_id"].as_string()
item_batch_id = _IDENTITY["batch_id"].as_string()
item_destination = _IDENTITY["destination"].as_string()
item_priority = _IDENTITY["priority"].as_integer()


def item_not_found(item_id: int | str, queue_id: str) -> PixelmillError:
    return PixelmillError(errors.NOT_FOUND, f"Queue item with id {item_id} not found in queue {queue_id}")


class QueueRuns:
    """Reads of one queue of one workspace, inside the caller's transaction."""

    def __init__(self, session: AsyncSession, workspace_id: str, queue_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.queue_id = queue_id

    def _items(self) -> Select[Run, int]:
        return (
            select(Run, NumericId.id)
            .join(NumericId, (NumericId.target_id == Run.id) & (NumericId.kind == "run"))
            .where(Run.workspace_id == self.workspace_id, Run.deleted_at.is_(None), item_queue_id == self.queue_id)
        )

    async def get(self, item_id: int) -> Run:
        """The item's run; 404 in InvokeAI's words for an unknown id, another queue's or workspace's."""
        row = (await self.session.execute(self._items().where(NumericId.id == item_id))).first()
        if row is None:
            raise item_not_found(item_id, self.queue_id)
        return row[0]

    async def list(
        self,
        *,
        statuses: Sequence[str] = (),
        batch_ids: Sequence[str] | None = None,
        destination: str | None = None,
        item_ids: Sequence[int] | None = None,
        order: str = "priority",
        limit: int | None = None,
    ) -> list[tuple[Run, int]]:
        """Items with their ids: ``order`` "priority" (priority DESC, item_id ASC, InvokeAI's dequeue
        order), "asc" or "desc" (by item_id, which follows creation); the first ``limit`` of them."""
        query = self._items()
        if statuses:
            query = query.where(Run.status.in_(list(statuses)))
        if batch_ids is not None:
            query = query.where(item_batch_id.in_(list(batch_ids)))
        if destination is not None:
            query = query.where(item_destination == destination)
        if item_ids is not None:
            query = query.where(NumericId.id.in_(list(item_ids)))
        if order == "priority":
            query = query.order_by(item_priority.desc(), NumericId.id.asc())
        else:
            query = query.order_by(NumericId.id.asc() if order == "asc" else NumericId.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return [(run, int(number)) for run, number in (await self.session.execute(query)).all()]

    async def counts(self, *, batch_id: str | None = None, destination: str | None = None) -> dict[str, int]:
        """Items per pixelmill status."""
        query = (
            select(Run.status, func.count())
            .where(Run.workspace_id == self.workspace_id, Run.deleted_at.is_(None), item_queue_id == self.queue_id)
            .group_by(Run.status)
        )
        if batch_id is not None:
            query = query.where(item_batch_id == batch_id)
        if destination is not None:
            query = query.where(item_destination == destination)
        return {str(status): int(count) for status, count in (await self.session.execute(query)).all()}

    async def highest_pending_priority(self) -> int | None:
        query = select(func.max(item_priority)).where(
            Run.workspace_id == self.workspace_id,
            Run.deleted_at.is_(None),
            item_queue_id == self.queue_id,
            Run.status == "queued",
        )
        value = await self.session.scalar(query)
        return int(value) if value is not None else None


async def queued_in_workspace(session: AsyncSession, workspace_id: str) -> int:
    """Queued runs of the workspace, through every API: the room a batch has is the plan's cap minus these."""
    query = select(func.count()).where(Run.workspace_id == workspace_id, Run.status == "queued")
    return int(await session.scalar(query) or 0)
