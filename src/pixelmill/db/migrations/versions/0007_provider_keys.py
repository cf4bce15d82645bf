"""provider keys: upstream keys saved through the API (sealed), and workspace default models

Revision ID: 0007_provider_keys
Revises: 0006_node_usage
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pixelmill.db.base

revision: str = "0007_provider_keys"
down_revision: str | None = "0006_node_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # owner is the workspace id or "operator": unique with the provider on both databases, which a
    # nullable workspace_id could not be (NULLs never collide).
    op.create_table(
        "provider_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("masked", sa.String(length=40), nullable=False),
        sa.Column("set_by", sa.String(length=40), nullable=True),
        sa.Column("set_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["set_by"], ["users.id"], name=op.f("fk_provider_keys_set_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_provider_keys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_keys")),
        sa.UniqueConstraint("owner", "provider", name=op.f("uq_provider_keys_owner")),
    )
    with op.batch_alter_table("provider_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_keys_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "workspace_default_models",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("generation_type", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("set_by", sa.String(length=40), nullable=True),
        sa.Column("set_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_by"], ["users.id"], name=op.f("fk_workspace_default_models_set_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_default_models_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "generation_type", name=op.f("pk_workspace_default_models")),
    )


def downgrade() -> None:
    op.drop_table("workspace_default_models")
    with op.batch_alter_table("provider_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_keys_workspace_id"))
    op.drop_table("provider_keys")
