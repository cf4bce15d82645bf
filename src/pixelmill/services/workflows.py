"""Workflows: a workspace's named graphs, edited as a draft and published as frozen numbered versions.

- The draft carries ``version``, bumped by every update. Updates are compare-and-set on it
  (``UPDATE … WHERE version = :expected``), so of two editors who read version 3 exactly one wins;
  the other gets 409 ``VERSION_CONFLICT`` with ``current_version``.
- Every saved and every published graph passes ``validate_graph``: a broken graph is refused when
  it is written (422 naming the node and field), not when somebody runs it later.
- Publishing copies the draft into ``workflow_versions`` under the next number. Versions are never
  updated, so a run of version 2 always executes the same graph, whatever happens to the draft.
- A workflow of another workspace is indistinguishable from one that does not exist (404), and
  so is a deleted one.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.db.models import Workflow, WorkflowVersion
from pixelmill.engine.node import NodeRegistry, default_registry
from pixelmill.engine.validation import validate_graph
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.paging import split_page
from pixelmill.services.principal import Principal

WORKFLOW_SCOPE = "workflows"


@dataclass(frozen=True, slots=True)
class WorkflowPage:
    """One page of a listing, newest first; ``next_cursor`` continues it (None on the last page)."""

    items: list[Workflow]
    next_cursor: str | None


def _not_found(workflow_id: str) -> PixelmillError:
    return PixelmillError(errors.NOT_FOUND, f"Workflow {workflow_id} not found", workflow_id=workflow_id)


class WorkflowService:
    """Create, read, edit, delete and publish the workflows of the caller's workspace."""

    def __init__(self, session: AsyncSession, settings: Settings, registry: NodeRegistry = default_registry) -> None:
        self.session = session
        self.settings = settings
        self.registry = registry

    def checked_graph(self, graph: Mapping[str, Any]) -> dict[str, Any]:
        """The graph in canonical form after full validation (422 naming the node and field)."""
        return validate_graph(graph, self.registry, self.settings).graph.model_dump(mode="json")

    async def create(
        self, principal: Principal, *, name: str, description: str = "", graph: Mapping[str, Any]
    ) -> Workflow:
        principal.require_scope(WORKFLOW_SCOPE)
        now = datetime.now(UTC)
        row = Workflow(
            id=new_id("wf"),
            workspace_id=principal.workspace_id,
            name=name,
            description=description,
            graph=self.checked_graph(graph),
            version=1,
            created_by=principal.user_id or principal.key_id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def list(self, principal: Principal, *, cursor: str | None = None, limit: int = 50) -> WorkflowPage:
        """Live workflows of the workspace, newest first; ``cursor`` is the previous page's next_cursor."""
        principal.require_scope(WORKFLOW_SCOPE)
        query = select(Workflow).where(Workflow.workspace_id == principal.workspace_id, Workflow.deleted_at.is_(None))
        if cursor is not None:
            query = query.where(Workflow.id < cursor)
        rows = list(await self.session.scalars(query.order_by(Workflow.id.desc()).limit(limit + 1)))
        return WorkflowPage(*split_page(rows, limit))

    async def get(self, principal: Principal, workflow_id: str) -> Workflow:
        principal.require_scope(WORKFLOW_SCOPE)
        return await self._live(principal.workspace_id, workflow_id)

    async def update(
        self,
        principal: Principal,
        workflow_id: str,
        *,
        expected_version: int,
        name: str | None = None,
        description: str | None = None,
        graph: Mapping[str, Any] | None = None,
    ) -> Workflow:
        """Change the draft if it is still at ``expected_version``; the version goes up by one."""
        principal.require_scope(WORKFLOW_SCOPE)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if description is not None:
            changes["description"] = description
        if graph is not None:
            changes["graph"] = self.checked_graph(graph)
        if not changes:
            raise PixelmillError(errors.VALIDATION_ERROR, "Give at least one of name, description or graph")
        result = await self.session.execute(
            update(Workflow)
            .where(
                Workflow.id == workflow_id,
                Workflow.workspace_id == principal.workspace_id,
                Workflow.deleted_at.is_(None),
                Workflow.version == expected_version,
            )
            .values(**changes, version=Workflow.version + 1, updated_at=datetime.now(UTC))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await self._raise_conflict(principal.workspace_id, workflow_id, expected_version)
        return await self._live(principal.workspace_id, workflow_id)

    async def delete(self, principal: Principal, workflow_id: str, *, expected_version: int | None = None) -> None:
        """Soft-delete: the workflow and its versions disappear from every read; runs keep their graphs."""
        principal.require_scope(WORKFLOW_SCOPE)
        query = update(Workflow).where(
            Workflow.id == workflow_id,
            Workflow.workspace_id == principal.workspace_id,
            Workflow.deleted_at.is_(None),
        )
        if expected_version is not None:
            query = query.where(Workflow.version == expected_version)
        result = await self.session.execute(query.values(deleted_at=datetime.now(UTC)))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await self._raise_conflict(principal.workspace_id, workflow_id, expected_version)

    async def publish(self, principal: Principal, workflow_id: str) -> WorkflowVersion:
        """Freeze the current draft as the next numbered version."""
        principal.require_scope(WORKFLOW_SCOPE)
        # Claiming the number first takes the row's write lock, so concurrent publishes are numbered
        # one after another and each copies the draft as it stands once it holds the lock.
        claimed = await self.session.execute(
            update(Workflow)
            .where(
                Workflow.id == workflow_id,
                Workflow.workspace_id == principal.workspace_id,
                Workflow.deleted_at.is_(None),
            )
            .values(published_version=func.coalesce(Workflow.published_version, 0) + 1)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise _not_found(workflow_id)
        row = await self._live(principal.workspace_id, workflow_id)
        assert row.published_version is not None
        if not row.graph.get("nodes"):
            raise PixelmillError(
                errors.VALIDATION_ERROR, "A workflow without nodes cannot be published", field="graph.nodes"
            )
        version = WorkflowVersion(
            workflow_id=row.id,
            number=row.published_version,
            name=row.name,
            description=row.description,
            graph=self.checked_graph(row.graph),
            draft_version=row.version,
            published_at=datetime.now(UTC),
            published_by=principal.user_id or principal.key_id,
        )
        self.session.add(version)
        await self.session.flush()
        return version

    async def versions(self, principal: Principal, workflow_id: str) -> builtins.list[WorkflowVersion]:
        """Published versions, newest first."""
        principal.require_scope(WORKFLOW_SCOPE)
        await self._live(principal.workspace_id, workflow_id)
        rows = await self.session.scalars(
            select(WorkflowVersion)
            .where(WorkflowVersion.workflow_id == workflow_id)
            .order_by(WorkflowVersion.number.desc())
        )
        return builtins.list(rows)

    async def published_graph(self, workspace_id: str, workflow_id: str) -> tuple[dict[str, Any], int]:
        """The latest published graph and its number, for runs; 404 for unknown, foreign, deleted or
        never-published workflows (imageat answers 404 for an unpublished workflow too)."""
        found = (
            await self.session.execute(
                select(WorkflowVersion.graph, WorkflowVersion.number)
                .join(Workflow, Workflow.id == WorkflowVersion.workflow_id)
                .where(
                    Workflow.id == workflow_id,
                    Workflow.workspace_id == workspace_id,
                    Workflow.deleted_at.is_(None),
                    WorkflowVersion.number == Workflow.published_version,
                )
            )
        ).first()
        if found is None:
            row = await self.session.scalar(
                select(Workflow.id).where(
                    Workflow.id == workflow_id, Workflow.workspace_id == workspace_id, Workflow.deleted_at.is_(None)
                )
            )
            if row is None:
                raise _not_found(workflow_id)
            raise PixelmillError(
                errors.NOT_FOUND,
                f"Workflow {workflow_id} has no published version; publish it first",
                workflow_id=workflow_id,
                published=False,
            )
        return dict(found.graph), int(found.number)

    async def _live(self, workspace_id: str, workflow_id: str) -> Workflow:
        row = await self.session.scalar(
            select(Workflow)
            .where(Workflow.id == workflow_id, Workflow.workspace_id == workspace_id, Workflow.deleted_at.is_(None))
            .execution_options(populate_existing=True)
        )
        if row is None:
            raise _not_found(workflow_id)
        return row

    async def _raise_conflict(self, workspace_id: str, workflow_id: str, expected_version: int | None) -> None:
        current = await self._live(workspace_id, workflow_id)  # 404 when it is not there at all
        raise PixelmillError(
            errors.VERSION_CONFLICT,
            f"Workflow {workflow_id} is at version {current.version}, not {expected_version}; "
            "read it again and reapply your change",
            current_version=current.version,
            workflow_id=workflow_id,
        )
