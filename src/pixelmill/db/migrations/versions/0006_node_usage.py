"""node usage: what an upstream provider reported for a node execution (tokens, model, revised prompt)

Revision ID: 0006_node_usage
Revises: 0005_key_rotation
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_node_usage"
down_revision: str | None = "0005_key_rotation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: local nodes and every execution written before this report no usage.
    with op.batch_alter_table("node_executions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "usage", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("node_executions", schema=None) as batch_op:
        batch_op.drop_column("usage")
