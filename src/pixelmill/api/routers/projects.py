"""Projects: name one, file generations under it (``project_id`` on create), filter the history by it
(``GET /v1/generations?project_id=``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, SessionDep
from pixelmill.api.openapi import error_responses
from pixelmill.db.models import Project
from pixelmill.services.projects import MAX_PROJECTS_PAGE, ProjectService
from pixelmill.wire import RequestModel

router = APIRouter(prefix="/v1/projects", tags=["projects"])


class ProjectCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)


class ProjectPublic(BaseModel):
    id: str
    object: Literal["project"] = "project"
    name: str
    created_at: datetime

    @classmethod
    def of(cls, project: Project) -> ProjectPublic:
        return cls(id=project.id, name=project.name, created_at=project.created_at)


class ProjectList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ProjectPublic]


@router.post("", operation_id="create_project", status_code=201, responses=error_responses(errors.INSUFFICIENT_SCOPE))
async def create_project(body: ProjectCreate, principal: PrincipalDep, session: SessionDep) -> ProjectPublic:
    """A new project of the workspace."""
    return ProjectPublic.of(await ProjectService(session).create(principal, body.name))


@router.get("", operation_id="list_projects", responses=error_responses(errors.INSUFFICIENT_SCOPE))
async def list_projects(
    principal: PrincipalDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PROJECTS_PAGE)] = 50,
) -> ProjectList:
    """The workspace's projects, oldest first."""
    projects = await ProjectService(session).list(principal, offset=offset, limit=limit)
    return ProjectList(data=[ProjectPublic.of(p) for p in projects])


@router.get("/{project_id}", operation_id="get_project", responses=error_responses(errors.INSUFFICIENT_SCOPE))
async def get_project(project_id: str, principal: PrincipalDep, session: SessionDep) -> ProjectPublic:
    return ProjectPublic.of(await ProjectService(session).get(principal, project_id))
