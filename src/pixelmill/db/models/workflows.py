"""Workflows (a named, editable draft graph) and their published versions (frozen graphs).

The draft's ``version`` counts edits and is the optimistic-concurrency token clients send back in
``If-Match``; published versions are numbered separately (1, 2, …) and never change once written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base, utcnow


class Workflow(Base):
    """A workspace's named graph. Deleting sets ``deleted_at``; deleted workflows behave as unknown."""

    __tablename__ = "workflows"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    graph: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(default=1)  # bumped by every update; the If-Match token
    published_version: Mapped[int | None] = mapped_column(default=None)  # number of the latest published version
    created_by: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class WorkflowVersion(Base):
    """One published, immutable snapshot of a workflow's graph."""

    __tablename__ = "workflow_versions"

    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    graph: Mapped[dict[str, Any]]
    draft_version: Mapped[int]  # the draft's version that was published
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(40), default=None)  # user or key id


Index("ix_workflows_workspace_id_id", Workflow.workspace_id, Workflow.id)
