"""Stable integer aliases for prefixed ids, for foreign APIs whose ids are numbers.

ImagineLab shows ``"id": 1842`` and ``"user_id": 17``; pixelmill's ids are ``run_…`` and ``usr_…``.
One row per (kind, target) gives each target one number forever; the numbers come from one
sequence shared by every kind, so a number names at most one target of any kind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base, utcnow


class NumericId(Base):
    __tablename__ = "numeric_ids"
    __table_args__ = (UniqueConstraint("kind", "target_id", name="uq_numeric_ids_kind_target_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # run | user | project
    target_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
