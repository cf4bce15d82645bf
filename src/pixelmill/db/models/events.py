"""The run event log: one row per event a client or webhook may see, in increasing id order.

Rows are written in the transaction of the change they announce and are kept for
``events_retention_days``; the id is the SSE ``id:`` a client resumes from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base, utcnow


class RunEvent(Base):
    __tablename__ = "run_events"
    # AUTOINCREMENT on SQLite: without it a purge of the newest rows would let their ids be reused,
    # and a client's Last-Event-ID would point at a different event.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's declarative attribute

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


Index("ix_run_events_run_id_id", RunEvent.run_id, RunEvent.id)
Index("ix_run_events_workspace_id_id", RunEvent.workspace_id, RunEvent.id)
