"""run retention: the data state marker, blobs waiting for release, sweep indexes

Revision ID: 0004_retention
Revises: 0003_webhooks
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_retention"
down_revision: str | None = "0003_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        # Existing runs keep their data: the server default fills the new column for them.
        batch_op.add_column(
            sa.Column("data_state", sa.String(length=16), server_default=sa.text("'present'"), nullable=False)
        )
        batch_op.add_column(sa.Column("blobs_to_release", _json(), nullable=True))
        batch_op.create_index("ix_runs_retention", ["data_state", "completed_at"], unique=False)
        batch_op.create_index("ix_runs_deleted_at", ["deleted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_deleted_at")
        batch_op.drop_index("ix_runs_retention")
        batch_op.drop_column("blobs_to_release")
        batch_op.drop_column("data_state")
