"""A pixelmill run as InvokeAI's SessionQueueItem, and the queue and batch counts InvokeAI reports.

Statuses: queued -> ``pending``, running -> ``in_progress``, completed, failed, cancelled ->
``canceled``. Timestamps are InvokeAI's SQLite strings (UTC, ``YYYY-MM-DD HH:MM:SS.fff``). The
session shows ``results`` and ``errors`` keyed by prepared node id with both id mappings, so the
documented lookup ``results[source_prepared_mapping[source_id][0]]`` works.

The socket.io events (:mod:`.events`) say an item the same way: its status words, status sequence,
error fields and timestamps come from here, and ``queue_item_status_changed`` carries
:func:`batch_status` and :func:`queue_status` exactly as the HTTP routes answer them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.dialects.invokeai.graphs import result_of
from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.queue_store import QueueRuns
from pixelmill.api.dialects.invokeai.timestamps import sqlite_timestamp
from pixelmill.db.models import NodeExecution, Run
from pixelmill.services.numeric_ids import NumericIds

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime

STATUS_WORDS = {
    "queued": "pending",
    "running": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "canceled",
}
COUNTED = ("pending", "in_progress", "completed", "failed", "canceled")


def timestamp(moment: datetime | None) -> str | None:
    """``2026-12-07 07:30:01.123`` in UTC, as InvokeAI's SQLite triggers write it."""
    return sqlite_timestamp(moment) if moment is not None else None


def status_sequence(status: str, started: bool) -> int:
    """How many status changes an item in pixelmill ``status`` went through: pending is 0, in
    progress 1, finished 2 (1 when it finished without starting)."""
    if status == "queued":
        return 0
    return 1 + (started and status != "running")


def error_fields(error: Mapping[str, Any] | None) -> dict[str, Any]:
    """``error_type``/``error_message``/``error_traceback`` of a pixelmill error: the code as the
    type, and never a traceback, since pixelmill never sends a server traceback to a client."""
    if not error:
        return {"error_type": None, "error_message": None, "error_traceback": None}
    return {
        "error_type": str(error.get("code") or "Error"),
        "error_message": str(error.get("message") or ""),
        "error_traceback": None,
    }


def _session(run: Run, identity: QueueIdentity, executions: Sequence[Any]) -> dict[str, Any]:
    graph = identity.graph or {"id": identity.session_id, "nodes": {}, "edges": []}
    prepared_of = {source: ids[0] for source, ids in identity.source_prepared_mapping.items() if ids}
    execution_nodes = {
        prepared_of[source]: {**node, "id": prepared_of[source]}
        for source, node in (graph.get("nodes") or {}).items()
        if source in prepared_of
    }
    execution_edges = [
        {
            "source": {
                **edge["source"],
                "node_id": prepared_of.get(edge["source"]["node_id"], edge["source"]["node_id"]),
            },
            "destination": {
                **edge["destination"],
                "node_id": prepared_of.get(edge["destination"]["node_id"], edge["destination"]["node_id"]),
            },
        }
        for edge in graph.get("edges") or []
    ]
    results: dict[str, Any] = {}
    node_errors: dict[str, str] = {}
    history: list[str] = []
    for row in executions:
        if row.status == "completed":
            results[row.node_id] = result_of(identity.node_types.get(row.node_id, row.node_type), row.outputs or {})
            # A source id counts as executed once all its prepared copies have run (InvokeAI's rule).
            source = identity.prepared_source_mapping.get(row.node_id)
            copies = identity.source_prepared_mapping.get(source, []) if source is not None else []
            if source is not None and source not in history and all(p in results for p in copies):
                history.append(source)
        elif row.status == "failed":
            error = row.error or {}
            node_errors[row.node_id] = f"{error.get('code', 'NODE_FAILED')}: {error.get('message', '')}"
    if run.status == "failed" and isinstance(run.error, dict):
        node_id = run.error.get("node_id")
        if isinstance(node_id, str) and node_id not in node_errors:
            node_errors[node_id] = f"{run.error.get('code', 'NODE_FAILED')}: {run.error.get('message', '')}"
    executed = list(results) + history
    return {
        "id": identity.session_id,
        "graph": graph,
        "execution_graph": {"id": identity.session_id, "nodes": execution_nodes, "edges": execution_edges},
        "executed": executed,
        "executed_history": history,
        "results": results,
        "errors": node_errors,
        "prepared_source_mapping": dict(identity.prepared_source_mapping),
        "source_prepared_mapping": {source: list(ids) for source, ids in identity.source_prepared_mapping.items()},
    }


def item_view(
    run: Run, identity: QueueIdentity, item_id: int, executions: Sequence[Any], *, exclude_none: bool
) -> dict[str, Any]:
    """The SessionQueueItem of ``run``; ``exclude_none`` drops null keys as ``GET /i/{id}`` does
    (``/current``, ``/next`` and ``/list_all`` keep them)."""
    error = run.error if run.status == "failed" and isinstance(run.error, dict) else None
    moments = [moment for moment in (run.created_at, run.started_at, run.completed_at) if moment is not None]
    item: dict[str, Any] = {
        "item_id": item_id,
        "status": STATUS_WORDS.get(run.status, run.status),
        "status_sequence": status_sequence(run.status, run.started_at is not None),
        "priority": identity.priority,
        "batch_id": identity.batch_id,
        "origin": identity.origin,
        "destination": identity.destination,
        "session_id": identity.session_id,
        **error_fields(error),
        "created_at": timestamp(run.created_at),
        "updated_at": timestamp(max(moments)),
        "started_at": timestamp(run.started_at),
        "completed_at": timestamp(run.completed_at),
        "queue_id": identity.queue_id,
        "user_id": identity.user_id,
        "field_values": identity.field_values,
        "retried_from_item_id": identity.retried_from_item_id,
        "session": _session(run, identity, executions),
        "workflow": identity.workflow,
    }
    if exclude_none:
        return {key: value for key, value in item.items() if value is not None}
    return item


async def _executions(session: AsyncSession, run_ids: Iterable[str]) -> dict[str, list[Any]]:
    ids = list(run_ids)
    found: dict[str, list[Any]] = {run_id: [] for run_id in ids}
    if not ids:
        return found
    query = (
        select(
            NodeExecution.run_id,
            NodeExecution.node_id,
            NodeExecution.node_type,
            NodeExecution.status,
            NodeExecution.outputs,
            NodeExecution.error,
            NodeExecution.completed_at,
        )
        .where(NodeExecution.run_id.in_(ids))
        .order_by(NodeExecution.completed_at, NodeExecution.node_id)
    )
    for row in await session.execute(query):
        found[row.run_id].append(row)
    return found


async def queue_items(
    session: AsyncSession, items: Sequence[tuple[Run, int]], *, exclude_none: bool = False
) -> list[dict[str, Any]]:
    """Many items at once (one read of their node executions); runs without an identity are skipped."""
    executions = await _executions(session, (run.id for run, _ in items))
    views = []
    for run, item_id in items:
        identity = QueueIdentity.of(run)
        if identity is not None:
            views.append(item_view(run, identity, item_id, executions[run.id], exclude_none=exclude_none))
    return views


async def queue_item(
    session: AsyncSession, runtime: Runtime, run: Run, *, exclude_none: bool = True
) -> dict[str, Any] | None:
    """``run`` as InvokeAI shows the queue item (null keys left out, as ``GET /i/{item_id}`` does;
    ``exclude_none=False`` keeps them), or None for a run not enqueued through InvokeAI. The caller
    has already checked that the run belongs to its workspace. ``runtime`` is taken so that later
    views (signed image links) need no new signature."""
    del runtime  # the item holds image names, not links
    identity = QueueIdentity.of(run)
    if identity is None:
        return None
    item_id = await NumericIds(session, "run").number(run.id)
    views = await queue_items(session, [(run, item_id)], exclude_none=exclude_none)
    return views[0]


def count_words(counts: Mapping[str, int]) -> dict[str, int]:
    """``{pending, in_progress, completed, failed, canceled, total}`` from counts by pixelmill status."""
    words = {word: 0 for word in COUNTED}
    for status, count in counts.items():
        word = STATUS_WORDS.get(status)
        if word is not None:
            words[word] += count
    return {**words, "total": sum(words.values())}


async def batch_status(session: AsyncSession, workspace_id: str, queue_id: str, batch_id: str) -> dict[str, Any]:
    """InvokeAI's BatchStatus: the batch's items per status (``origin``/``destination`` from its first item)."""
    queue = QueueRuns(session, workspace_id, queue_id)
    counts = await queue.counts(batch_id=batch_id)
    first = await queue.list(batch_ids=[batch_id], order="asc", limit=1)
    identity = QueueIdentity.of(first[0][0]) if first else None
    return {
        "queue_id": queue_id,
        "batch_id": batch_id,
        "origin": identity.origin if identity else None,
        "destination": identity.destination if identity else None,
        **count_words(counts),
    }


async def queue_status(session: AsyncSession, workspace_id: str, queue_id: str) -> dict[str, Any]:
    """InvokeAI's SessionQueueStatus: counts, and the in-progress item's ids."""
    queue = QueueRuns(session, workspace_id, queue_id)
    counts = count_words(await queue.counts())
    current = await queue.list(statuses=["running"], limit=1)
    identity = QueueIdentity.of(current[0][0]) if current else None
    return {
        "queue_id": queue_id,
        "item_id": current[0][1] if current else None,
        "batch_id": identity.batch_id if identity else None,
        "session_id": identity.session_id if identity else None,
        **counts,
        "user_pending": counts["pending"],
        "user_in_progress": counts["in_progress"],
    }
