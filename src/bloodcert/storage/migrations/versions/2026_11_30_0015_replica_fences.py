"""Read-your-writes fences for a read replica, when no Redis keeps them

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replica_fences",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_replica_fences")),
    )
    op.create_index(op.f("ix_replica_fences_expires_at"), "replica_fences", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_replica_fences_expires_at"), table_name="replica_fences")
    op.drop_table("replica_fences")
