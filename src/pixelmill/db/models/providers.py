"""Upstream keys saved through the API, and each workspace's default model per generation type."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base, utcnow

# ``ProviderKey.owner`` of a key that serves every workspace (set by the operator).
OPERATOR_OWNER = "operator"


class ProviderKey(Base):
    """One upstream key, sealed (providers/key_vault.py). ``owner`` is the workspace id, or
    ``operator`` for the key serving every workspace: a NULL workspace cannot take part in a
    unique constraint on both databases, so the owner is spelled out beside the foreign key."""

    __tablename__ = "provider_keys"
    __table_args__ = (UniqueConstraint("owner", "provider"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True, default=None
    )
    provider: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[str] = mapped_column(Text)
    masked: Mapped[str] = mapped_column(String(40))
    set_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
    valid: Mapped[bool | None] = mapped_column(default=None)


class WorkspaceDefaultModel(Base):
    """The model a workspace's generations of one type use when they name none."""

    __tablename__ = "workspace_default_models"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    generation_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    set_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
