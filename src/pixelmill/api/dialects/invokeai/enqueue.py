"""Enqueue a batch: each session one pixelmill run, all created in one transaction.

A 422 about any session (a translation problem, or pixelmill's own graph validation, reported under
the client's source node ids) leaves nothing behind. Sessions beyond the workspace's free queue room
are dropped without an error, as InvokeAI drops those over its ``max_queue_size``: ``enqueued`` then
falls short of ``requested``.

Priority: InvokeAI shows ``prepend`` as the queue's highest pending priority plus one (else 0), and
that number orders ``list_all``. pixelmill's dispatch priority is bounded by the plan, so a
prepended batch runs at the plan's priority and any other at one step below it (0 stays 0): within
the workspace a prepended batch overtakes the batches already waiting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.api.dialects.invokeai.batches import FieldValue
from pixelmill.api.dialects.invokeai.graphs import Translation
from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.problems import graph_problem
from pixelmill.api.dialects.invokeai.queue_store import QueueRuns, queued_in_workspace
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.services.numeric_ids import NumericIds
from pixelmill.services.principal import Principal
from pixelmill.services.runs import RunKind, RunService

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime


@dataclass(frozen=True, slots=True)
class BatchTarget:
    """Where a batch goes and what its items carry besides their graphs."""

    queue_id: str
    batch_id: str
    origin: str | None
    destination: str | None
    workflow: dict[str, Any] | None
    prepend: bool
    kind: RunKind = "graph"
    workflow_id: str | None = None
    workflow_version: int | None = None
    requested: int | None = None  # sessions the batch asked for, some maybe over the queue's room


# One session: its field values -> (its translation, its graph as InvokeAI shows it).
Prepare = Callable[[list[FieldValue]], tuple[Translation, dict[str, Any]]]


async def room(session: AsyncSession, runtime: Runtime, principal: Principal) -> int:
    """Sessions the workspace may still queue under its plan."""
    cap = runtime.settings.plan(principal.plan).max_queued_runs
    return max(0, cap - await queued_in_workspace(session, principal.workspace_id))


def dispatch_priority(runtime: Runtime, principal: Principal, prepend: bool) -> int:
    top = runtime.settings.plan(principal.plan).priority
    return top if prepend else max(0, top - 1)


async def enqueue(
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    target: BatchTarget,
    sessions: Iterable[list[FieldValue]],
    prepare: Prepare,
) -> tuple[int, list[int]]:
    """Create one run per session; InvokeAI's priority of the items and their ids, newest first.
    The caller commits."""
    queue = QueueRuns(session, principal.workspace_id, target.queue_id)
    highest = await queue.highest_pending_priority() if target.prepend else None
    priority = (highest or 0) + 1 if target.prepend else 0
    pixelmill_priority = dispatch_priority(runtime, principal, target.prepend)
    service = RunService(session, runtime)
    run_ids: list[str] = []
    for values in sessions:
        translation, shown = prepare(values)
        identity = QueueIdentity(
            queue_id=target.queue_id,
            batch_id=target.batch_id,
            session_id=str(uuid.uuid4()),
            origin=target.origin,
            destination=target.destination,
            priority=priority,
            field_values=[value.as_wire() for value in values] or None,
            source_prepared_mapping=translation.source_prepared_mapping,
            prepared_source_mapping=translation.prepared_source_mapping,
            node_types=translation.node_types,
            graph=shown,
            workflow=target.workflow,
            user_id=principal.user_id or "system",
            requested=target.requested,
        )
        run = await create_run(service, principal, translation, identity, target, pixelmill_priority)
        run_ids.append(run.id)
    numbers = await NumericIds(session, "run").numbers(run_ids)
    return priority, sorted(numbers.values(), reverse=True)


async def create_run(
    service: RunService,
    principal: Principal,
    translation: Translation,
    identity: QueueIdentity,
    target: BatchTarget,
    priority: int,
) -> Run:
    """RunService.create, with pixelmill's validation errors told in the client's node ids."""
    try:
        return await service.create(
            principal,
            translation.graph,
            kind=target.kind,
            workflow_id=target.workflow_id,
            workflow_version=target.workflow_version,
            priority=priority,
            metadata=identity.to_metadata(),
        )
    except PixelmillError as exc:
        raise in_source_ids(exc, translation.prepared_source_mapping) from None


def in_source_ids(exc: PixelmillError, prepared_source: dict[str, str]) -> PixelmillError:
    """``exc`` with every prepared id (in its message and its ``node_id``) replaced by the source id."""
    node_id = exc.extra.get("node_id")
    if not isinstance(node_id, str) or node_id not in prepared_source:
        return exc
    message = exc.message
    for prepared, source in prepared_source.items():
        message = message.replace(prepared, source)
    field = exc.extra.get("field")
    return graph_problem(exc.spec, message, prepared_source[node_id], field if isinstance(field, str) else None)


def retry_identity(identity: QueueIdentity, item_id: int) -> QueueIdentity:
    """A retried item's identity: a new session of the same batch, pointing back at the original."""
    return replace(identity, session_id=str(uuid.uuid4()), retried_from_item_id=item_id, requested=None)
