"""The files ima2's clients name: ``1780226256355_50252101_0.png`` -> the run output behind it.

ima2 addresses every generated file by a file name of its own making (served at ``/generated/<name>``,
listed by ``/api/history``, tombstoned and restored by name). pixelmill keeps outputs as content-
addressed blobs with ``file_…`` records, so this table is the name index: one row per named output,
scoped to its workspace, with the tombstone (``deleted_at``) and the favourite mark ima2 keeps per file.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base


class Ima2File(Base):
    __tablename__ = "ima2_files"
    __table_args__ = (Index("ix_ima2_files_workspace_id_created_ms", "workspace_id", "created_ms"),)

    filename: Mapped[str] = mapped_column(String(200), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(40), index=True)
    file_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)  # the output's place among the run's outputs
    mime: Mapped[str] = mapped_column(String(100))
    created_ms: Mapped[int] = mapped_column(BigInteger)  # ima2's createdAt: epoch milliseconds
    favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
