"""Node results and the node cache in process memory: no durability, no I/O."""

from __future__ import annotations

from typing import Any

from pixelmill.engine.results import CacheEntry, NodeRecord


class MemoryResultStore:
    """A ResultStore in dicts. Resume and caching work for as long as the object lives."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, NodeRecord]] = {}
        self.cache: dict[str, CacheEntry] = {}
        self.cache_hits: dict[str, int] = {}

    async def completed_nodes(self, run_id: str) -> dict[str, NodeRecord]:
        return {
            node_id: record for node_id, record in self.records.get(run_id, {}).items() if record.status == "completed"
        }

    async def cached_outputs(self, key: str) -> dict[str, Any] | None:
        entry = self.cache.get(key)
        return entry.outputs if entry is not None else None

    async def save(
        self,
        run_id: str,
        record: NodeRecord,
        *,
        cache_put: CacheEntry | None = None,
        cache_hit: str | None = None,
    ) -> None:
        self.records.setdefault(run_id, {})[record.node_id] = record
        if cache_put is not None:
            self.cache.setdefault(cache_put.key, cache_put)
        if cache_hit is not None:
            self.cache_hits[cache_hit] = self.cache_hits.get(cache_hit, 0) + 1
