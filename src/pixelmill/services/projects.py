"""Projects: named groups a workspace files its generations under, and filters its history by."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.base import utcnow
from pixelmill.db.models import Project
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.principal import Principal

MAX_PROJECTS_PAGE = 200
PROJECT_PREFIX = "prj_"


def project_not_found(project_id: str) -> PixelmillError:
    """One answer for a project that does not exist and one of another workspace."""
    return PixelmillError(errors.NOT_FOUND, f"Project {project_id} not found", project_id=project_id)


class ProjectService:
    """Create, list and read the caller's workspace's projects."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, principal: Principal, name: str) -> Project:
        principal.require_scope("runs")
        cleaned = name.strip()
        if not cleaned:
            raise PixelmillError(errors.VALIDATION_ERROR, "A project needs a name", field="name")
        project = Project(
            id=new_id(PROJECT_PREFIX[:-1]), workspace_id=principal.workspace_id, name=cleaned, created_at=utcnow()
        )
        self.session.add(project)
        await self.session.flush()
        return project

    async def get(self, principal: Principal, project_id: str) -> Project:
        principal.require_scope("runs")
        project = await self.session.get(Project, project_id)
        if project is None or project.workspace_id != principal.workspace_id:
            raise project_not_found(project_id)
        return project

    async def list(self, principal: Principal, *, offset: int = 0, limit: int = 50) -> list[Project]:
        """Oldest first, so a project keeps its place as others are added."""
        principal.require_scope("runs")
        query = (
            select(Project)
            .where(Project.workspace_id == principal.workspace_id)
            .order_by(Project.id)
            .offset(max(0, offset))
            .limit(max(1, min(limit, MAX_PROJECTS_PAGE)))
        )
        return list(await self.session.scalars(query))
