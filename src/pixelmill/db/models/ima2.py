"""What the ima2 dialect keeps beyond runs: its graph sessions, and each workspace's ima2 choices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base, utcnow


class Ima2Session(Base):
    """One ima2 node-mode session: a title and a graph saved whole, whose ``graph_version`` counts
    the saves so that two tabs saving over each other get a 409 instead of a silent loss."""

    __tablename__ = "ima2_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    graph: Mapped[dict[str, Any]]  # {"nodes": [...], "edges": [...]}, as ima2 shapes them
    graph_version: Mapped[int] = mapped_column(default=0)
    node_count: Mapped[int] = mapped_column(default=0)  # listed without loading every graph
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_ima2_sessions_workspace_id_updated_at", Ima2Session.workspace_id, Ima2Session.updated_at)


class Ima2Preference(Base):
    """A workspace's ima2 settings that ima2 keeps in its config file (``geminiAuthMode``)."""

    __tablename__ = "ima2_preferences"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    gemini_auth_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
