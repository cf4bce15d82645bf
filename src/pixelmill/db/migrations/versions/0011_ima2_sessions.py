"""ima2 sessions and preferences: the graph sessions of ima2's node mode, and ima2's per-workspace choices

Revision ID: 0011_ima2_sessions
Revises: 0010_charge_on_success
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pixelmill.db.base

revision: str = "0011_ima2_sessions"
down_revision: str | None = "0010_charge_on_success"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ima2_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("graph", pixelmill.db.base.JSONType, nullable=False),
        sa.Column("graph_version", sa.Integer(), nullable=False),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("created_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ima2_sessions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ima2_sessions")),
    )
    with op.batch_alter_table("ima2_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_ima2_sessions_workspace_id_updated_at", ["workspace_id", "updated_at"], unique=False)
    op.create_table(
        "ima2_preferences",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("gemini_auth_mode", sa.String(length=16), nullable=True),
        sa.Column("updated_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ima2_preferences_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_ima2_preferences")),
    )


def downgrade() -> None:
    op.drop_table("ima2_preferences")
    with op.batch_alter_table("ima2_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_ima2_sessions_workspace_id_updated_at")
    op.drop_table("ima2_sessions")
