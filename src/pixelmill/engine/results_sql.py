"""Node results in the node_executions table and the node cache in node_cache (SQLite or PostgreSQL).

Each write is one short transaction on its own session, committed before the node's completion is
announced, so whatever a client has seen finished survives a crash of the process. The statements
are Core statements on the tables, built once per store: they run for every node of every run, and
the ORM's bulk-insert path and per-call statement building cost more than the statements do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.db.base import utcnow
from pixelmill.db.models.runs import NodeCacheEntry, NodeExecution
from pixelmill.db.session import Database
from pixelmill.engine.results import CacheEntry, NodeRecord, UnsavedResult

# Every column of a node's row but its key: what a repeated attempt of the node overwrites.
_NODE_FIELDS = (
    "node_type",
    "status",
    "inputs_hash",
    "outputs",
    "cached",
    "cost",
    "error",
    "started_at",
    "completed_at",
    "usage",
)
_JSON_FIELDS = frozenset({"outputs", "error", "usage"})


class SqlResultStore:
    """A ResultStore over the database of a Runtime."""

    def __init__(self, db: Database) -> None:
        self._db = db
        insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
        nodes: Table = NodeExecution.__table__  # type: ignore[assignment]
        cache: Table = NodeCacheEntry.__table__  # type: ignore[assignment]
        # outputs and error bind None as SQL NULL (not the JSON text 'null'), so "error IS NULL" holds.
        json_or_null = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
        upsert = insert(nodes).values(
            {
                column.name: bindparam(column.name, type_=json_or_null if column.name in _JSON_FIELDS else column.type)
                for column in nodes.columns
            }
        )
        self._upsert_node = upsert.on_conflict_do_update(
            index_elements=[nodes.c.run_id, nodes.c.node_id],
            set_={name: upsert.excluded[name] for name in _NODE_FIELDS},
        )
        self._put_cache = insert(cache).on_conflict_do_nothing(index_elements=[cache.c.key])
        self._hit_cache = (
            update(cache)
            .where(cache.c.key == bindparam("hit_key"))
            .values(last_hit_at=bindparam("now", type_=cache.c.last_hit_at.type))
        )
        self._cached = select(cache.c.outputs).where(cache.c.key == bindparam("key"))

    async def completed_nodes(self, run_id: str) -> dict[str, NodeRecord]:
        async with self._db.reads() as session:
            rows = await session.scalars(
                select(NodeExecution).where(NodeExecution.run_id == run_id, NodeExecution.status == "completed")
            )
            return {row.node_id: _record(row) for row in rows}

    async def cached_outputs(self, key: str) -> dict[str, Any] | None:
        async with self._db.reads() as session:
            outputs: dict[str, Any] | None = await session.scalar(self._cached, {"key": key})
            return outputs

    async def save(
        self,
        run_id: str,
        record: NodeRecord,
        *,
        cache_put: CacheEntry | None = None,
        cache_hit: str | None = None,
    ) -> None:
        async with self._db.session() as session:
            await self.save_in(session, run_id, UnsavedResult(record, cache_put, cache_hit))

    async def save_in(self, session: AsyncSession, run_id: str, result: UnsavedResult) -> None:
        """Write ``result`` in the caller's transaction (the one ending the run, for a held record)."""
        record, cache_put, cache_hit = result.record, result.cache_put, result.cache_hit
        node = {
            "run_id": run_id,
            "node_id": record.node_id,
            "node_type": record.node_type,
            "status": record.status,
            "inputs_hash": record.inputs_hash,
            "outputs": record.outputs,
            "cached": record.cached,
            "cost": record.cost,
            "error": record.error,
            "started_at": record.started_at,
            "completed_at": record.completed_at,
            "usage": record.usage,
        }
        await session.execute(self._upsert_node, node)
        if cache_put is not None:
            # Two runs may compute the same entry at once; the first one stays.
            entry = {
                "key": cache_put.key,
                "node_type": cache_put.node_type,
                "outputs": cache_put.outputs,
                "created_at": utcnow(),
            }
            await session.execute(self._put_cache, entry)
        if cache_hit is not None:
            await session.execute(self._hit_cache, {"hit_key": cache_hit, "now": utcnow()})


def _record(row: NodeExecution) -> NodeRecord:
    # Both timestamps are written together with the status.
    assert row.started_at is not None
    assert row.completed_at is not None
    return NodeRecord(
        node_id=row.node_id,
        node_type=row.node_type,
        status="completed",
        inputs_hash=row.inputs_hash,
        outputs=row.outputs,
        cached=row.cached,
        cost=row.cost,
        error=row.error,
        started_at=row.started_at,
        completed_at=row.completed_at,
        usage=row.usage,
    )
