"""ima2 files: ima2's file names of run outputs, with tombstones and favourites

Revision ID: 0012_ima2_files
Revises: 0011_ima2_sessions
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pixelmill.db.base

revision: str = "0012_ima2_files"
down_revision: str | None = "0011_ima2_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ima2_files",
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("favorite", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_ima2_files_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("filename", name=op.f("pk_ima2_files")),
    )
    with op.batch_alter_table("ima2_files", schema=None) as batch_op:
        batch_op.create_index("ix_ima2_files_workspace_id_created_ms", ["workspace_id", "created_ms"], unique=False)
        batch_op.create_index(batch_op.f("ix_ima2_files_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ima2_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ima2_files_run_id"))
        batch_op.drop_index("ix_ima2_files_workspace_id_created_ms")
    op.drop_table("ima2_files")
