"""Where node results live: the record of one node in one run, and the store interface.

The executor writes one record per node as the node finishes (completed, failed or cancelled) and
reads the completed ones back when a run is executed again, so a re-delivered run resumes after
its last finished node. A caller that ends the run itself may ask for the run's last node to be
handed back unsaved (``UnsavedResult``) and write it in the transaction that ends the run.

Two implementations: ``results_sql`` (the node_executions and node_cache tables, one short
transaction per write) and ``results_memory`` (dicts, for runs that need no durability and for
measuring the executor itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

NodeStatus = Literal["completed", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A finished node of a run. ``cost`` is what the run is charged: 0 when cached, failed or cancelled."""

    node_id: str
    node_type: str
    status: NodeStatus
    inputs_hash: str | None
    outputs: dict[str, Any] | None
    cached: bool
    cost: int
    error: dict[str, Any] | None
    started_at: datetime
    completed_at: datetime
    usage: dict[str, Any] | None = None  # what an upstream provider reported for this execution

    @property
    def duration_ms(self) -> float:
        return (self.completed_at - self.started_at).total_seconds() * 1000


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """Outputs of a deterministic node under its cache key (see ``hashing.cache_key``)."""

    key: str
    node_type: str
    outputs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UnsavedResult:
    """A node's record held back from the store, with what ``ResultStore.save`` would have written
    with it; the caller writes it."""

    record: NodeRecord
    cache_put: CacheEntry | None = None
    cache_hit: str | None = None


class ResultStore(Protocol):
    """Persistence of node results and of the node cache. Values are JSON; treat them as immutable."""

    async def completed_nodes(self, run_id: str) -> dict[str, NodeRecord]:
        """The run's completed nodes by node id (empty for a run that never executed)."""
        ...

    async def cached_outputs(self, key: str) -> dict[str, Any] | None:
        """The cached outputs under ``key``, or None."""
        ...

    async def save(
        self,
        run_id: str,
        record: NodeRecord,
        *,
        cache_put: CacheEntry | None = None,
        cache_hit: str | None = None,
    ) -> None:
        """Write ``record`` (replacing an earlier attempt of the same node) in one transaction,
        together with a new cache entry or the hit time of the entry that was used."""
        ...
