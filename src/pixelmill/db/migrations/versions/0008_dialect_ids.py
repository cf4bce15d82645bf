"""dialect ids and projects: integer aliases of prefixed ids, projects, and the run's project

Revision ID: 0008_dialect_ids
Revises: 0007_provider_keys
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pixelmill.db.base

revision: str = "0008_dialect_ids"
down_revision: str | None = "0007_provider_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "numeric_ids",
        # INTEGER PRIMARY KEY on SQLite (its rowid, so it autoincrements), BIGSERIAL-like on PostgreSQL.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_numeric_ids")),
        sa.UniqueConstraint("kind", "target_id", name="uq_numeric_ids_kind_target_id"),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_projects_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index("ix_projects_workspace_id_id", ["workspace_id", "id"], unique=False)
    # Nullable: runs made before projects, and every run that is not a filed generation, have none.
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_runs_project_id_id", ["project_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_project_id_id")
        batch_op.drop_column("project_id")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_workspace_id_id")
    op.drop_table("projects")
    op.drop_table("numeric_ids")
