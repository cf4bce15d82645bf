"""invokeai images: what InvokeAI's upload says about an image (category, intermediate, session, metadata)

Revision ID: 0009_invokeai_images
Revises: 0008_dialect_ids
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import pixelmill.db.base

revision: str = "0009_invokeai_images"
down_revision: str | None = "0008_dialect_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invokeai_images",
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("image_category", sa.String(length=16), nullable=False),
        sa.Column("is_intermediate", sa.Boolean(), nullable=False),
        sa.Column("session_id", sa.String(length=200), nullable=True),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("created_at", pixelmill.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_invokeai_images_file_id_files"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_invokeai_images")),
    )


def downgrade() -> None:
    op.drop_table("invokeai_images")
