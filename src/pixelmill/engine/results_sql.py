"""Node results in the node_executions table and the node cache in node_cache (SQLite or PostgreSQL).

Each write is one short transaction on its own session, committed before the node's completion is
announced, so whatever a client has seen finished survives a crash of the process.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import null, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pixelmill.db.base import utcnow
from pixelmill.db.models.runs import NodeCacheEntry, NodeExecution
from pixelmill.db.session import Database
from pixelmill.engine.results import CacheEntry, NodeRecord


def _json_or_null(value: dict[str, Any] | None) -> Any:
    # SQL NULL rather than the JSON text 'null', so "error IS NULL" means what it says.
    return null() if value is None else value


class SqlResultStore:
    """A ResultStore over the database of a Runtime."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert

    async def completed_nodes(self, run_id: str) -> dict[str, NodeRecord]:
        async with self._db.sessions() as session:
            rows = await session.scalars(
                select(NodeExecution).where(NodeExecution.run_id == run_id, NodeExecution.status == "completed")
            )
            return {row.node_id: _record(row) for row in rows}

    async def cached_outputs(self, key: str) -> dict[str, Any] | None:
        async with self._db.sessions() as session:
            outputs: dict[str, Any] | None = await session.scalar(
                select(NodeCacheEntry.outputs).where(NodeCacheEntry.key == key)
            )
            return outputs

    async def save(
        self,
        run_id: str,
        record: NodeRecord,
        *,
        cache_put: CacheEntry | None = None,
        cache_hit: str | None = None,
    ) -> None:
        values = {
            "node_type": record.node_type,
            "status": record.status,
            "inputs_hash": record.inputs_hash,
            "outputs": _json_or_null(record.outputs),
            "cached": record.cached,
            "cost": record.cost,
            "error": _json_or_null(record.error),
            "started_at": record.started_at,
            "completed_at": record.completed_at,
        }
        upsert = (
            self._insert(NodeExecution)
            .values(run_id=run_id, node_id=record.node_id, **values)
            .on_conflict_do_update(index_elements=["run_id", "node_id"], set_=values)
        )
        async with self._db.session() as session:
            await session.execute(upsert)
            if cache_put is not None:
                # Two runs may compute the same entry at once; the first one stays.
                await session.execute(
                    self._insert(NodeCacheEntry)
                    .values(key=cache_put.key, node_type=cache_put.node_type, outputs=cache_put.outputs)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
            if cache_hit is not None:
                await session.execute(
                    update(NodeCacheEntry).where(NodeCacheEntry.key == cache_hit).values(last_hit_at=utcnow())
                )


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
    )
