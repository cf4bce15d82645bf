"""Runs, their per-node executions, and the node result cache (DESIGN §3, §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base, JSONType, utcnow


class Run(Base):
    """One execution of a graph. Status moves only by compare-and-set (``WHERE status = :expected``)."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    workflow_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    workflow_version: Mapped[int | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(16), default="graph")  # graph | workflow | generation
    status: Mapped[str] = mapped_column(String(16), default="queued")
    graph: Mapped[dict[str, Any]]
    priority: Mapped[int] = mapped_column(default=0)
    attempt: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    credits_reserved: Mapped[int] = mapped_column(default=0)
    credits_used: Mapped[int] = mapped_column(default=0)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # A pm_test_ key made it: sandbox models only, no credits held or spent.
    test_mode: Mapped[bool] = mapped_column(default=False)
    # Captured only when the run completes: a failed or cancelled run releases its whole hold, even
    # what its executed nodes cost (imagerift's "failed jobs do not consume quota"). False for the
    # canonical rule, where what executed is paid for.
    charge_only_on_success: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # What the caller attached (a generation's type, model and prompt); "metadata" is taken by SQLAlchemy.
    run_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", default=None)
    # The workspace's project a generation was filed under (services/projects.py); None for the rest.
    project_id: Mapped[str | None] = mapped_column(String(40), default=None)
    webhook: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # {url, secret} for the terminal POST
    # Written with the terminal transition: {node_id: {"type": …, "value": …}} (media values as references).
    outputs: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)  # a tombstone: hidden from reads
    # Retention (services/retention.py): present -> releasing (output files gone, blobs_to_release
    # waiting for their reference check) -> removed. Each step is a compare-and-set on this column.
    data_state: Mapped[str] = mapped_column(String(16), default="present", server_default=text("'present'"))
    blobs_to_release: Mapped[list[str] | None] = mapped_column(JSONType, default=None)

    @property
    def data_removed(self) -> bool:
        """Whether retention (or a purge) removed this run's outputs; the row and its ledger stay."""
        return self.data_state != "present"


class NodeExecution(Base):
    """A node's result inside one run, written as the node finishes so a re-delivered run resumes."""

    __tablename__ = "node_executions"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    node_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))  # completed | failed | cancelled (written as the node ends)
    inputs_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    cached: Mapped[bool] = mapped_column(default=False)
    cost: Mapped[int] = mapped_column(default=0)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # What an upstream provider reported (tokens, model used, revised prompt); None for local nodes.
    usage: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class NodeCacheEntry(Base):
    """Outputs of a deterministic node, keyed by sha256(type, version, resolved inputs)."""

    __tablename__ = "node_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    node_type: Mapped[str] = mapped_column(String(100))
    outputs: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_hit_at: Mapped[datetime | None] = mapped_column(default=None)


# Listing newest first by id (ULIDs sort by time) and the queue: per status, workspace and priority, oldest first.
Index("ix_runs_workspace_id_id", Run.workspace_id, Run.id)
Index("ix_runs_queue", Run.status, Run.workspace_id, Run.priority, Run.created_at)
# The retention sweep: runs by data state, oldest finished first; tombstones by when they were deleted.
Index("ix_runs_retention", Run.data_state, Run.completed_at)
Index("ix_runs_deleted_at", Run.deleted_at)
# A project's history, newest first.
Index("ix_runs_project_id_id", Run.project_id, Run.id)
