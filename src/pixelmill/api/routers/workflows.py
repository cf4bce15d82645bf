"""Workflows: CRUD over a draft graph, optimistic concurrency with ETag/If-Match, publish, versions.

``GET`` and ``PATCH`` answer with ``ETag: "<version>"``; ``PATCH`` must send it back in ``If-Match``
(strong ``"3"`` or weak ``W/"3"``). Without it the answer is 428 ``PRECONDITION_REQUIRED``; with a
stale one, 409 ``VERSION_CONFLICT`` carrying ``current_version``. Runs of a workflow are created at
``POST /v1/workflows/{id}/runs`` (the runs router).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import GRAPH_ERRORS, error_responses
from pixelmill.db.models import Workflow, WorkflowVersion
from pixelmill.errors import PixelmillError
from pixelmill.services.workflows import WorkflowService
from pixelmill.wire import RequestModel

# Every workflow route needs the workflows scope of an API key.
router = APIRouter(prefix="/v1/workflows", tags=["workflows"], responses=error_responses(errors.INSUFFICIENT_SCOPE))
_GRAPH = error_responses(errors.INSUFFICIENT_SCOPE, *GRAPH_ERRORS)

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
GraphBody = Annotated[
    dict[str, Any], Field(description='{"nodes": [...], "edges": [...]}, as accepted by POST /v1/runs')
]


class WorkflowCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    graph: GraphBody = Field(default_factory=lambda: {"nodes": [], "edges": []})


class WorkflowUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    graph: GraphBody | None = None


class WorkflowSummary(BaseModel):
    id: str
    object: Literal["workflow"] = "workflow"
    name: str
    description: str
    version: int = Field(description="Draft version; send it back in If-Match to update")
    published_version: int | None = Field(description="Number of the latest published version, if any")
    node_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Workflow) -> WorkflowSummary:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            version=row.version,
            published_version=row.published_version,
            node_count=len(row.graph.get("nodes", [])),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class WorkflowPublic(WorkflowSummary):
    graph: dict[str, Any] = Field(description="The draft graph")

    @classmethod
    def of(cls, row: Workflow) -> WorkflowPublic:
        return cls(**WorkflowSummary.of(row).model_dump(), graph=row.graph)


class WorkflowList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WorkflowSummary]
    next_cursor: str | None


class WorkflowVersionPublic(BaseModel):
    workflow_id: str
    object: Literal["workflow_version"] = "workflow_version"
    number: int
    name: str
    description: str
    graph: dict[str, Any]
    draft_version: int = Field(description="The draft version that was published")
    published_at: datetime
    published_by: str | None

    @classmethod
    def of(cls, row: WorkflowVersion) -> WorkflowVersionPublic:
        return cls(
            workflow_id=row.workflow_id,
            number=row.number,
            name=row.name,
            description=row.description,
            graph=row.graph,
            draft_version=row.draft_version,
            published_at=row.published_at,
            published_by=row.published_by,
        )


class WorkflowVersionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WorkflowVersionPublic]


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None, *, required: bool) -> int | None:
    """The version named by an If-Match header: ``"3"``, ``W/"3"`` or a bare ``3``."""
    if value is None or not value.strip():
        if required:
            raise PixelmillError(
                errors.PRECONDITION_REQUIRED,
                'Send If-Match with the ETag of your last read, e.g. If-Match: "3"',
                field="If-Match",
            )
        return None
    match = _ETAG.match(value)
    if match is None:
        raise PixelmillError(
            errors.BAD_REQUEST, f'If-Match {value!r} is not a workflow version such as "3"', field="If-Match"
        )
    return int(match.group(1))


_IF_MATCH_DOC = 'The ETag of your last read, e.g. "3"'
IfMatch = Annotated[str | None, Header(alias="If-Match", description=_IF_MATCH_DOC)]
# Required: a request without it is answered 428 PRECONDITION_REQUIRED (see api.errors).
RequiredIfMatch = Annotated[str, Header(alias="If-Match", description=_IF_MATCH_DOC)]


@router.post("", operation_id="create_workflow", status_code=status.HTTP_201_CREATED, responses=_GRAPH)
async def create_workflow(
    body: WorkflowCreate, principal: PrincipalDep, runtime: RuntimeDep, response: Response
) -> WorkflowPublic:
    """Create a workflow with a draft graph (validated now; 422 names the broken node)."""
    async with runtime.db.session() as session:
        row = await WorkflowService(session, runtime.settings, runtime.nodes).create(
            principal, name=body.name, description=body.description, graph=body.graph
        )
    response.headers["ETag"] = etag(row.version)
    response.headers["Location"] = f"/v1/workflows/{row.id}"
    return WorkflowPublic.of(row)


@router.get("", operation_id="list_workflows")
async def list_workflows(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")] = None,
) -> WorkflowList:
    """Workflows of the workspace, newest first, without their graphs."""
    async with runtime.db.session() as session:
        page = await WorkflowService(session, runtime.settings, runtime.nodes).list(
            principal, cursor=cursor, limit=limit
        )
    return WorkflowList(data=[WorkflowSummary.of(row) for row in page.items], next_cursor=page.next_cursor)


@router.get("/{workflow_id}", operation_id="get_workflow")
async def get_workflow(
    workflow_id: str, principal: PrincipalDep, runtime: RuntimeDep, response: Response
) -> WorkflowPublic:
    """The workflow with its draft graph; the ETag header is its version."""
    async with runtime.db.session() as session:
        row = await WorkflowService(session, runtime.settings, runtime.nodes).get(principal, workflow_id)
    response.headers["ETag"] = etag(row.version)
    return WorkflowPublic.of(row)


@router.patch("/{workflow_id}", operation_id="update_workflow", responses=_GRAPH)
async def update_workflow(
    workflow_id: str,
    body: WorkflowUpdate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    response: Response,
    if_match: RequiredIfMatch,
) -> WorkflowPublic:
    """Change name, description and/or graph of the draft; published versions stay as they were."""
    expected = parse_if_match(if_match, required=True)
    assert expected is not None
    async with runtime.db.session() as session:
        row = await WorkflowService(session, runtime.settings, runtime.nodes).update(
            principal,
            workflow_id,
            expected_version=expected,
            name=body.name,
            description=body.description,
            graph=body.graph,
        )
    response.headers["ETag"] = etag(row.version)
    return WorkflowPublic.of(row)


@router.delete("/{workflow_id}", operation_id="delete_workflow", status_code=status.HTTP_204_NO_CONTENT)
async def delete_workflow(
    workflow_id: str, principal: PrincipalDep, runtime: RuntimeDep, if_match: IfMatch = None
) -> Response:
    """Delete the workflow and its versions from view; runs already made keep their graphs.
    An If-Match, when sent, must name the current version."""
    expected = parse_if_match(if_match, required=False)
    async with runtime.db.session() as session:
        await WorkflowService(session, runtime.settings, runtime.nodes).delete(
            principal, workflow_id, expected_version=expected
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{workflow_id}/publish", operation_id="publish_workflow", status_code=status.HTTP_201_CREATED)
async def publish_workflow(workflow_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> WorkflowVersionPublic:
    """Freeze the draft as the next numbered version; runs of the workflow use the latest one."""
    async with runtime.db.session() as session:
        version = await WorkflowService(session, runtime.settings, runtime.nodes).publish(principal, workflow_id)
    return WorkflowVersionPublic.of(version)


@router.get("/{workflow_id}/versions", operation_id="list_workflow_versions")
async def list_versions(workflow_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> WorkflowVersionList:
    """Published versions, newest first."""
    async with runtime.db.session() as session:
        versions = await WorkflowService(session, runtime.settings, runtime.nodes).versions(principal, workflow_id)
    return WorkflowVersionList(data=[WorkflowVersionPublic.of(version) for version in versions])
