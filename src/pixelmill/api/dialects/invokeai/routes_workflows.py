"""``POST /api/v1/workflows/i/{workflow_id}/enqueue``: run a saved workflow by id, with field values.

InvokeAI has no such route; its users keep asking for one (InvokeAI issues 5719 and 5935): a saved
workflow there is only a document, and a client has to rebuild the graph to enqueue it. Here the
workflow is pixelmill's (``/v1/workflows``): its latest published version runs with
``field_values`` written into its nodes' inputs (``{node_path, field_name, value}``, node_path the
node id, ``{"image_name"}`` for an image), and ``data``/``runs`` expand as a batch's do. The answer is
InvokeAI's EnqueueBatchResult, and the items are read and followed through the queue routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.dialects.invokeai.batches import FieldValue, session_count, session_field_values
from pixelmill.api.dialects.invokeai.enqueue import BatchTarget, enqueue, room
from pixelmill.api.dialects.invokeai.envelope import ENVELOPE
from pixelmill.api.dialects.invokeai.graphs import Translation, native_translation, with_field_values
from pixelmill.api.dialects.invokeai.schemas import WorkflowEnqueueBody
from pixelmill.services.workflows import WorkflowService

router = APIRouter(
    prefix="/api/v1/workflows", tags=["invokeai"], route_class=ENVELOPE.route_class(), include_in_schema=False
)


@router.post("/i/{workflow_id}/enqueue")
async def enqueue_workflow(
    workflow_id: str, principal: PrincipalDep, runtime: RuntimeDep, body: WorkflowEnqueueBody | None = None
) -> dict[str, Any]:
    """Queue the workflow's latest published version once per session; 404 for a workflow that is
    unknown, another workspace's or never published."""
    body = body or WorkflowEnqueueBody()
    principal.require_scope("runs")
    async with runtime.db.reads() as session:
        published, version = await WorkflowService(session, runtime.settings, runtime.nodes).published_graph(
            principal.workspace_id, workflow_id
        )
    fixed = [FieldValue(value.node_path, value.field_name, value.value) for value in body.field_values]
    datums = [FieldValue(d.node_path, d.field_name, None) for inner in body.data or [] for d in inner]
    with_field_values(published, [*fixed, *datums])  # every named node exists, before anything is queued

    def prepare(values: list[FieldValue]) -> tuple[Translation, dict[str, Any]]:
        return native_translation(with_field_values(published, values), workflow_id)

    requested = session_count(body.data, body.runs)
    target = BatchTarget(
        body.queue_id,
        body.batch_id,
        body.origin,
        body.destination,
        None,
        body.prepend,
        kind="workflow",
        workflow_id=workflow_id,
        workflow_version=version,
        requested=requested,
    )
    async with runtime.db.session() as session:
        limit = min(requested, await room(session, runtime, principal))
        # Each session's values: the fixed ones, then its batch data (both shown on the item).
        sessions = ([*fixed, *values] for values in session_field_values(body.data, body.runs, limit))
        priority, item_ids = await enqueue(session, runtime, principal, target, sessions, prepare)
    return {
        "queue_id": body.queue_id,
        "enqueued": len(item_ids),
        "requested": requested,
        "batch": {
            "batch_id": body.batch_id,
            "origin": body.origin,
            "destination": body.destination,
            "workflow_id": workflow_id,
            "workflow_version": version,
            "runs": body.runs,
            "data": [[d.model_dump(mode="json") for d in inner] for inner in body.data] if body.data else None,
        },
        "priority": priority,
        "item_ids": item_ids,
    }
