"""charge on success: runs whose hold is captured only when they complete

Revision ID: 0010_charge_on_success
Revises: 0009_invokeai_images
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_charge_on_success"
down_revision: str | None = "0009_invokeai_images"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every run made before keeps the canonical rule (what executed is paid for).
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("charge_only_on_success", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("charge_only_on_success")
