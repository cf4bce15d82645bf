"""Runs: create (an ad-hoc graph, or a published workflow with per-run overrides), read, list,
cancel and delete.

Create answers 201 ``{"run_id", "status": "queued"}`` at once, or — with ``Prefer: wait=N``
(1–60 s) — the full run as it stands once it finished or N seconds passed, with
``Preference-Applied: wait=N``. Another workspace's run, a deleted one and one that never existed
all answer the same 404, so a run id tells nothing about other workspaces.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import GRAPH_ERRORS, error_responses
from pixelmill.db.models import Run
from pixelmill.engine.graph import Edge, NodeId
from pixelmill.errors import PixelmillError
from pixelmill.json_bounds import FreeJsonObject, scrub_json
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal
from pixelmill.services.run_lifecycle import RunStatus
from pixelmill.services.run_views import RunPublic, RunViews
from pixelmill.services.runs import RunKind, RunService, wait_for_terminal
from pixelmill.services.workflows import WorkflowService
from pixelmill.wire import IsoDateTime, RequestModel

router = APIRouter(tags=["runs"])

MAX_WAIT_SECONDS = 60
_WAIT = re.compile(r"(?:^|[\s,;])wait\s*=\s*(\d{1,6})(?:$|[\s,;])", re.IGNORECASE)


METADATA_DESCRIPTION = "Kept with the run and shown on reads; at most max_free_json_bytes (16 KiB) as JSON"


class WebhookSpec(RequestModel):
    """Where to POST the run's terminal event; the body is signed with ``secret`` when given."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    secret: str | None = Field(default=None, min_length=1, max_length=255)
    events: list[Literal["start", "node", "completed"]] | None = Field(
        default=None, description="Which events to POST besides `completed`, which is always sent"
    )


class RunCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    graph: dict[str, Any] = Field(description='{"nodes": [...], "edges": [...]}; see GET /v1/nodes for node types')
    priority: int | None = Field(default=None, ge=0, le=10, description="At most the plan's priority")
    webhook: WebhookSpec | None = None
    metadata: FreeJsonObject | None = Field(default=None, description=METADATA_DESCRIPTION)


class NodeOverride(RequestModel):
    """A node of the published graph to change (its id exists) or a node to add (a new id)."""

    model_config = ConfigDict(extra="forbid")

    id: NodeId
    type: str | None = Field(default=None, description="Required for a new node; must match for an existing one")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Merged over the node's published inputs")
    use_cache: bool | None = None
    is_intermediate: bool | None = None


class WorkflowRunCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    nodes: list[NodeOverride] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list, description="Added to the published graph's edges")
    priority: int | None = Field(default=None, ge=0, le=10, description="At most the plan's priority")
    webhook: WebhookSpec | None = None
    metadata: FreeJsonObject | None = Field(default=None, description=METADATA_DESCRIPTION)


class RunCreated(BaseModel):
    run_id: str
    status: str


class RunList(BaseModel):
    data: list[RunPublic]
    next_cursor: str | None


class Ok(BaseModel):
    ok: bool = True


PreferHeader = Annotated[str | None, Header(description="`wait=N` (1–60): answer once the run finished, or after N s")]


def public_base_url(request: Request, runtime: Runtime) -> str:
    """Where clients reach this server: the configured public URL, else the URL this request used."""
    configured = runtime.settings.public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def wait_preference(prefer: str | None) -> int | None:
    """Seconds asked for by ``Prefer: wait=N``, clamped to 1–60; None without one."""
    if not prefer:
        return None
    match = _WAIT.search(prefer)
    if match is None:
        return None
    return max(1, min(int(match.group(1)), MAX_WAIT_SECONDS))


def merge_overrides(graph: dict[str, Any], overrides: WorkflowRunCreate) -> dict[str, Any]:
    """The published graph with per-run changes: inputs of existing nodes merged, new nodes and
    edges appended. The result is validated like any graph afterwards."""
    nodes = [dict(node) for node in graph.get("nodes", [])]
    by_id = {str(node.get("id")): node for node in nodes}
    for override in overrides.nodes:
        existing = by_id.get(override.id)
        if existing is None:
            if override.type is None:
                raise PixelmillError(
                    errors.VALIDATION_ERROR,
                    f"Node {override.id!r} is not in the published graph; a new node needs a type",
                    node_id=override.id,
                    field="type",
                )
            added = override.model_dump(exclude_none=True)
            nodes.append(added)
            by_id[override.id] = added
            continue
        if override.type is not None and override.type != existing.get("type"):
            raise PixelmillError(
                errors.VALIDATION_ERROR,
                f"Node {override.id!r} is a {existing.get('type')} in the published graph, not a {override.type}",
                node_id=override.id,
                field="type",
            )
        existing["inputs"] = {**dict(existing.get("inputs") or {}), **override.inputs}
        for flag in ("use_cache", "is_intermediate"):
            value = getattr(override, flag)
            if value is not None:
                existing[flag] = value
    edges = list(graph.get("edges", [])) + [edge.model_dump() for edge in overrides.edges]
    return {"nodes": nodes, "edges": edges}


async def _create(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    graph: dict[str, Any],
    *,
    kind: RunKind,
    workflow_id: str | None,
    workflow_version: int | None,
    priority: int | None,
    webhook: WebhookSpec | None,
    metadata: dict[str, Any] | None,
    prefer: str | None,
) -> JSONResponse:
    wait = wait_preference(prefer)
    waiter = None
    try:
        async with runtime.db.session() as session:
            run = await RunService(session, runtime).create(
                principal,
                graph,
                kind=kind,
                workflow_id=workflow_id,
                workflow_version=workflow_version,
                priority=priority,
                webhook=webhook.model_dump() if webhook is not None else None,
                metadata=metadata,
            )
            if wait is not None:  # watched before the commit, so even an instant finish is seen
                waiter = runtime.run_signals.watch(run.id)
        run_id = run.id
        headers = {"Location": f"/v1/runs/{run_id}"}
        if wait is None:
            body = RunCreated(run_id=run_id, status="queued").model_dump()
            return JSONResponse(body, status_code=201, headers=headers)
        await wait_for_terminal(runtime, run_id, wait, waiter=waiter)
    finally:
        if waiter is not None:
            runtime.run_signals.unwatch(run.id, waiter)
    # The row as its finisher committed it, when this process finished the run; else read it.
    finished = waiter.result() if waiter is not None and waiter.done() and not waiter.cancelled() else None
    async with runtime.db.reads() as session:
        current = finished if finished is not None else await session.get(Run, run_id)
        assert current is not None  # a run cannot be deleted before it finished
        view = await RunViews(session, runtime, public_base_url(request, runtime)).one(current)
    headers["Preference-Applied"] = f"wait={wait}"
    return JSONResponse(view.model_dump(mode="json"), status_code=201, headers=headers)


_CREATED: dict[int | str, dict[str, Any]] = {
    201: {"model": RunCreated, "description": "Queued; with `Prefer: wait=N`, the full run (RunPublic)"},
    **error_responses(
        errors.INSUFFICIENT_CREDITS,
        errors.INSUFFICIENT_SCOPE,
        errors.SANDBOX_ONLY,
        errors.TOO_MANY_JOBS,
        *GRAPH_ERRORS,
    ),
}
_SCOPED = error_responses(errors.INSUFFICIENT_SCOPE)


@router.post("/v1/runs", operation_id="create_run", status_code=201, response_model=None, responses=_CREATED)
async def create_run(
    body: RunCreate, request: Request, principal: PrincipalDep, runtime: RuntimeDep, prefer: PreferHeader = None
) -> JSONResponse:
    """Queue a run of an ad-hoc graph; its estimated cost is held from the workspace's credits."""
    return await _create(
        request,
        runtime,
        principal,
        body.graph,
        kind="graph",
        workflow_id=None,
        workflow_version=None,
        priority=body.priority,
        webhook=body.webhook,
        metadata=body.metadata,
        prefer=prefer,
    )


@router.post(
    "/v1/workflows/{workflow_id}/runs",
    operation_id="create_workflow_run",
    status_code=201,
    response_model=None,
    responses=_CREATED,
)
async def create_workflow_run(
    workflow_id: str,
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    body: WorkflowRunCreate | None = None,
    prefer: PreferHeader = None,
) -> JSONResponse:
    """Queue a run of the workflow's latest published version; empty nodes/edges run it as published,
    a node with an existing id overrides that node's inputs, new nodes and edges are added."""
    body = body or WorkflowRunCreate()
    principal.require_scope("runs")
    async with runtime.db.sessions() as session:
        published, version = await WorkflowService(session, runtime.settings, runtime.nodes).published_graph(
            principal.workspace_id, workflow_id
        )
    return await _create(
        request,
        runtime,
        principal,
        merge_overrides(published, body),
        kind="workflow",
        workflow_id=workflow_id,
        workflow_version=version,
        priority=body.priority,
        webhook=body.webhook,
        metadata=body.metadata,
        prefer=prefer,
    )


def as_utc(moment: datetime | None) -> datetime | None:
    """A query's time without an offset is UTC, as every time the API answers is."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@router.get("/v1/runs", operation_id="list_runs", responses=_SCOPED)
async def list_runs(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    status: Annotated[list[RunStatus] | None, Query(description="Only runs in these statuses")] = None,
    workflow_id: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[RunKind | None, Query()] = None,
    created_after: Annotated[IsoDateTime | None, Query(description="Only runs created at or after this time")] = None,
    created_before: Annotated[IsoDateTime | None, Query(description="Only runs created before this time")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")] = None,
) -> RunList:
    """The workspace's runs, newest first, narrowed by the filters given (a time without an offset is UTC)."""
    async with runtime.db.reads() as session:
        page = await RunService(session, runtime).list(
            principal,
            statuses=status or (),
            workflow_id=workflow_id,
            kind=kind,
            created_after=as_utc(created_after),
            created_before=as_utc(created_before),
            cursor=cursor,
            limit=limit,
        )
        views = await RunViews(session, runtime, public_base_url(request, runtime)).many(page.runs)
    return RunList(data=views, next_cursor=page.next_cursor)


@router.get("/v1/runs/{run_id}", operation_id="get_run", responses=_SCOPED)
async def get_run(run_id: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep) -> RunPublic:
    """The run with its outputs (signed URLs for media), nodes, credits, error and queue position."""
    async with runtime.db.reads() as session:
        run = await RunService(session, runtime).get(principal, run_id)
        return await RunViews(session, runtime, public_base_url(request, runtime)).one(run)


class RunGraph(BaseModel):
    run_id: str
    object: Literal["run_graph"] = "run_graph"
    graph: dict[str, Any] = Field(description="The canonical graph the run executed (overrides merged)")


@router.get("/v1/runs/{run_id}/graph", operation_id="get_run_graph", responses=_SCOPED)
async def get_run_graph(run_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> RunGraph:
    """The graph the run executed (overrides merged): what the console draws beside its node timings,
    reruns as ``POST /v1/runs`` takes it, or opens in the editor as a new workflow. Apart from the
    run read so that listing runs stays small."""
    async with runtime.db.reads() as session:
        run = await RunService(session, runtime).get(principal, run_id)
    return RunGraph(run_id=run.id, graph=scrub_json(run.graph))


@router.post(
    "/v1/runs/{run_id}/cancel",
    operation_id="cancel_run",
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.RUN_NOT_CANCELLABLE),
)
async def cancel_run(run_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Ok:
    """Cancel a queued run at once or stop a running one before its next node; executed nodes' costs
    are kept, the rest of the hold is released. 409 RUN_NOT_CANCELLABLE once the run finished."""
    async with runtime.db.session() as session:
        await RunService(session, runtime).cancel(principal, run_id)
    return Ok()


@router.delete(
    "/v1/runs/{run_id}",
    operation_id="delete_run",
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.RUN_NOT_FINISHED),
)
async def delete_run(run_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Ok:
    """Delete a finished run from view (409 RUN_NOT_FINISHED while it is queued or running)."""
    async with runtime.db.session() as session:
        await RunService(session, runtime).delete(principal, run_id)
    return Ok()


@router.post(
    "/v1/runs/{run_id}/restore",
    operation_id="restore_run",
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.RUN_NOT_DELETED),
)
async def restore_run(run_id: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep) -> RunPublic:
    """Undo a delete within the restore window (24 h by default); 404 once the run has been purged,
    409 RUN_NOT_DELETED when it is not deleted."""
    async with runtime.db.session() as session:
        run = await RunService(session, runtime).restore(principal, run_id)
        return await RunViews(session, runtime, public_base_url(request, runtime)).one(run)
