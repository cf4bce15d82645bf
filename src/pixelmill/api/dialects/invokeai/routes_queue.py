"""InvokeAI's session queue at ``/api/v1/queue/{queue_id}``: each route a translation onto runs.

Items are runs (:mod:`.queue_store` reads them, :class:`RunService` creates, cancels and deletes
them), so the ledger, events, webhooks and the dispatcher treat them like every other run, and an
item in progress survives a restart of the server (InvokeAI cancels those). Answers follow InvokeAI
6.x (``GET /i/{id}`` leaves null keys out; the other item routes keep them); errors leave as
``{"detail": ...}``. The routes stay out of the canonical OpenAPI document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.dialects.invokeai import queue as views
from pixelmill.api.dialects.invokeai.batches import apply_field_values, session_count, session_field_values
from pixelmill.api.dialects.invokeai.enqueue import (
    BatchTarget,
    create_run,
    dispatch_priority,
    enqueue,
    retry_identity,
    room,
)
from pixelmill.api.dialects.invokeai.envelope import ENVELOPE
from pixelmill.api.dialects.invokeai.graphs import Translation, translate
from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.queue_store import QueueRuns, item_not_found
from pixelmill.api.dialects.invokeai.schemas import BatchIdsBody, EnqueueBatchBody, Graph, ItemIdsBody
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.numeric_ids import MAX_ALIAS, NumericIds
from pixelmill.services.principal import Principal
from pixelmill.services.run_lifecycle import TERMINAL_STATUSES
from pixelmill.services.runs import RunService, wait_for_terminal

router = APIRouter(
    prefix="/api/v1/queue", tags=["invokeai"], route_class=ENVELOPE.route_class(), include_in_schema=False
)
# How long cancelling or deleting an item in progress waits for it to stop before it answers.
STOP_WAIT_SECONDS = 10.0
ACTIVE = ("queued", "running")


def _queue(session: AsyncSession, principal: Principal, queue_id: str) -> QueueRuns:
    principal.require_scope("runs")
    return QueueRuns(session, principal.workspace_id, queue_id)


async def _item_run(session: AsyncSession, principal: Principal, queue_id: str, item_id: int) -> Run:
    if not 0 < item_id <= MAX_ALIAS:
        raise item_not_found(item_id, queue_id)
    return await _queue(session, principal, queue_id).get(item_id)


async def _item(runtime: Runtime, principal: Principal, queue_id: str, item_id: int, *, exclude_none: bool) -> Any:
    async with runtime.db.reads() as session:
        run = await _item_run(session, principal, queue_id, item_id)
        return (await views.queue_items(session, [(run, item_id)], exclude_none=exclude_none))[0]


# Enqueue ---------------------------------------------------------------------------------------


@router.post("/{queue_id}/enqueue_batch")
async def enqueue_batch(queue_id: str, body: EnqueueBatchBody, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    """Each session of the batch one run; 200 with EnqueueBatchResult (``item_ids`` newest first)."""
    principal.require_scope("runs")
    batch = body.batch
    diffusers = [model.id for model in runtime.providers.models() if model.provider == "diffusers"]
    # A graph that cannot run is refused even when no session fits in the queue.
    translate(batch.graph, diffusers_models=diffusers)
    requested = session_count(batch.data, batch.runs)

    def prepare(values: list[Any]) -> tuple[Translation, dict[str, Any]]:
        graph = Graph(id=batch.graph.id, nodes=apply_field_values(batch.graph.nodes, values), edges=batch.graph.edges)
        return translate(graph, diffusers_models=diffusers), graph.model_dump(mode="json")

    target = BatchTarget(
        queue_id, batch.batch_id, batch.origin, batch.destination, batch.workflow, body.prepend, requested=requested
    )
    async with runtime.db.session() as session:
        limit = min(requested, await room(session, runtime, principal))
        sessions = session_field_values(batch.data, batch.runs, limit)
        priority, item_ids = await enqueue(session, runtime, principal, target, sessions, prepare)
    return {
        "queue_id": queue_id,
        "enqueued": len(item_ids),
        "requested": requested,
        "batch": batch.model_dump(mode="json"),
        "priority": priority,
        "item_ids": item_ids,
    }


# One item --------------------------------------------------------------------------------------


@router.get("/{queue_id}/i/{item_id}")
async def get_queue_item(queue_id: str, item_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    return await _item(runtime, principal, queue_id, item_id, exclude_none=True)


@router.put("/{queue_id}/i/{item_id}/cancel")
async def cancel_queue_item(queue_id: str, item_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    """Cancel one item and leave the others alone; an item in progress is answered once it stopped
    (or after a few seconds, still ``in_progress``). A finished item is answered as it is."""
    async with runtime.db.session() as session:
        run = await _item_run(session, principal, queue_id, item_id)
    await _stop(runtime, principal, [run])
    return await _item(runtime, principal, queue_id, item_id, exclude_none=False)


@router.delete("/{queue_id}/i/{item_id}")
async def delete_queue_item(queue_id: str, item_id: int, principal: PrincipalDep, runtime: RuntimeDep) -> None:
    """Cancel the item if it has not finished, then delete it."""
    async with runtime.db.session() as session:
        run = await _item_run(session, principal, queue_id, item_id)
    await _stop(runtime, principal, [run])
    async with runtime.db.session() as session:
        await RunService(session, runtime).delete(principal, run.id)


async def _stop(runtime: Runtime, principal: Principal, runs: Sequence[Run]) -> int:
    """Cancel every unfinished run (one transaction) and wait for those in progress to stop; how many
    were cancelled."""
    cancelled: list[Run] = []
    async with runtime.db.session() as session:
        service = RunService(session, runtime)
        for run in runs:
            if run.status in TERMINAL_STATUSES:
                continue
            try:
                await service.cancel(principal, run.id)
            except PixelmillError as exc:
                if exc.spec is not errors.RUN_NOT_CANCELLABLE:  # it finished meanwhile
                    raise
                continue
            cancelled.append(run)
    running = [run.id for run in cancelled if run.status == "running"]
    await asyncio.gather(*(wait_for_terminal(runtime, run_id, STOP_WAIT_SECONDS) for run_id in running))
    return len(cancelled)


async def _delete(runtime: Runtime, principal: Principal, runs: Sequence[Run]) -> int:
    """Stop and delete ``runs``; how many were deleted (one still stopping is left)."""
    await _stop(runtime, principal, runs)
    deleted = 0
    async with runtime.db.session() as session:
        service = RunService(session, runtime)
        for run in runs:
            try:
                await service.delete(principal, run.id)
            except PixelmillError as exc:
                if exc.spec not in (errors.RUN_NOT_FINISHED, errors.NOT_FOUND):
                    raise
                continue
            deleted += 1
    return deleted


async def _runs(runtime: Runtime, principal: Principal, queue_id: str, **filters: Any) -> list[Run]:
    async with runtime.db.reads() as session:
        return [run for run, _ in await _queue(session, principal, queue_id).list(**filters)]


# Many items ------------------------------------------------------------------------------------


@router.put("/{queue_id}/cancel_by_batch_ids")
async def cancel_by_batch_ids(
    queue_id: str, body: Annotated[BatchIdsBody, Body()], principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, int]:
    runs = await _runs(runtime, principal, queue_id, statuses=ACTIVE, batch_ids=body.batch_ids)
    return {"canceled": await _stop(runtime, principal, runs)}


@router.put("/{queue_id}/cancel_by_destination")
async def cancel_by_destination(
    queue_id: str, destination: Annotated[str, Query(max_length=1000)], principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, int]:
    runs = await _runs(runtime, principal, queue_id, statuses=ACTIVE, destination=destination)
    return {"canceled": await _stop(runtime, principal, runs)}


@router.put("/{queue_id}/cancel_all_except_current")
async def cancel_all_except_current(queue_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, int]:
    runs = await _runs(runtime, principal, queue_id, statuses=["queued"])
    return {"canceled": await _stop(runtime, principal, runs)}


@router.put("/{queue_id}/delete_all_except_current")
async def delete_all_except_current(queue_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, int]:
    runs = await _runs(runtime, principal, queue_id, statuses=["queued"])
    return {"deleted": await _delete(runtime, principal, runs)}


@router.put("/{queue_id}/clear")
async def clear(queue_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, int]:
    """Cancel what is in progress, then delete every item of the queue."""
    return {"deleted": await _delete(runtime, principal, await _runs(runtime, principal, queue_id))}


@router.put("/{queue_id}/prune")
async def prune(queue_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, int]:
    """Delete the completed, failed and canceled items."""
    runs = await _runs(runtime, principal, queue_id, statuses=sorted(TERMINAL_STATUSES))
    return {"deleted": await _delete(runtime, principal, runs)}


@router.delete("/{queue_id}/d/{destination}")
async def delete_by_destination(
    queue_id: str, destination: str, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, int]:
    runs = await _runs(runtime, principal, queue_id, destination=destination)
    return {"deleted": await _delete(runtime, principal, runs)}


@router.put("/{queue_id}/retry_items_by_id")
async def retry_items_by_id(
    queue_id: str, item_ids: Annotated[list[int], Body(max_length=1000)], principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """A new item for each failed or canceled one, with ``retried_from_item_id``; other ids are skipped."""
    retried: list[int] = []
    wanted = [item_id for item_id in dict.fromkeys(item_ids) if 0 < item_id <= MAX_ALIAS]
    async with runtime.db.session() as session:
        found = await _queue(session, principal, queue_id).list(
            statuses=["failed", "cancelled"], item_ids=wanted, order="asc"
        )
        service = RunService(session, runtime)
        for run, item_id in found:
            identity = QueueIdentity.of(run)
            assert identity is not None  # the query only finds runs with one
            translation = Translation(
                graph=run.graph,
                source_prepared_mapping=identity.source_prepared_mapping,
                prepared_source_mapping=identity.prepared_source_mapping,
                node_types=identity.node_types,
            )
            target = BatchTarget(
                queue_id,
                identity.batch_id,
                identity.origin,
                identity.destination,
                identity.workflow,
                prepend=False,
                kind="workflow" if run.workflow_id else "graph",
                workflow_id=run.workflow_id,
                workflow_version=run.workflow_version,
            )
            priority = dispatch_priority(runtime, principal, prepend=False)
            created = await create_run(
                service, principal, translation, retry_identity(identity, item_id), target, priority
            )
            await NumericIds(session, "run").number(created.id)  # its item_id
            retried.append(item_id)
    return {"queue_id": queue_id, "retried_item_ids": retried}


# Reads -----------------------------------------------------------------------------------------


async def _first(runtime: Runtime, principal: Principal, queue_id: str, status: str) -> Any:
    async with runtime.db.reads() as session:
        found = await _queue(session, principal, queue_id).list(statuses=[status], limit=1)
        return (await views.queue_items(session, found))[0] if found else None


@router.get("/{queue_id}/current")
async def get_current_queue_item(queue_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    """The item in progress, or null."""
    return await _first(runtime, principal, queue_id, "running")


@router.get("/{queue_id}/next")
async def get_next_queue_item(queue_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    """The pending item that comes next (priority, then age), or null."""
    return await _first(runtime, principal, queue_id, "queued")


@router.get("/{queue_id}/status")
async def get_queue_status(queue_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    principal.require_scope("runs")
    async with runtime.db.reads() as session:
        status = await views.queue_status(session, principal.workspace_id, queue_id)
    # pixelmill's dispatcher is never paused from here: it is started, and busy while an item runs.
    return {"queue": status, "processor": {"is_started": True, "is_processing": status["in_progress"] > 0}}


@router.get("/{queue_id}/b/{batch_id}/status")
async def get_batch_status(queue_id: str, batch_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    principal.require_scope("runs")
    async with runtime.db.reads() as session:
        return await views.batch_status(session, principal.workspace_id, queue_id, batch_id)


@router.get("/{queue_id}/counts_by_destination")
async def counts_by_destination(
    queue_id: str, destination: Annotated[str, Query(max_length=1000)], principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.reads() as session:
        counts = await _queue(session, principal, queue_id).counts(destination=destination)
    counted = views.count_words(counts)
    return {"queue_id": queue_id, "destination": destination, **counted}


@router.get("/{queue_id}/list_all")
async def list_all_queue_items(
    queue_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    destination: Annotated[str | None, Query(max_length=1000)] = None,
) -> list[Any]:
    """Every item, priority first, then oldest first."""
    async with runtime.db.reads() as session:
        found = await _queue(session, principal, queue_id).list(destination=destination)
        return await views.queue_items(session, found)


@router.get("/{queue_id}/item_ids")
async def get_queue_item_ids(
    queue_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    order_dir: Annotated[Literal["ASC", "DESC"], Query()] = "DESC",
) -> dict[str, Any]:
    async with runtime.db.reads() as session:
        found = await _queue(session, principal, queue_id).list(order=order_dir.lower())
    return {"item_ids": [item_id for _, item_id in found], "total_count": len(found)}


@router.post("/{queue_id}/items_by_ids")
async def get_queue_items_by_item_ids(
    queue_id: str, body: ItemIdsBody, principal: PrincipalDep, runtime: RuntimeDep
) -> list[Any]:
    """The items in the order asked for; ids that name no item of this queue are left out."""
    wanted = [item_id for item_id in body.item_ids if 0 < item_id <= MAX_ALIAS]
    async with runtime.db.reads() as session:
        found = await _queue(session, principal, queue_id).list(item_ids=wanted, order="asc")
        items = {item["item_id"]: item for item in await views.queue_items(session, found)}
    return [items[item_id] for item_id in body.item_ids if item_id in items]


@router.post("/{queue_id}/item_summaries_by_ids")
async def get_queue_item_summaries_by_item_ids(
    queue_id: str, body: ItemIdsBody, principal: PrincipalDep, runtime: RuntimeDep
) -> list[Any]:
    """As ``items_by_ids``, without each item's session and workflow (the queue list's rows)."""
    items = await get_queue_items_by_item_ids(queue_id, body, principal, runtime)
    return [{key: value for key, value in item.items() if key not in ("session", "workflow")} for item in items]
