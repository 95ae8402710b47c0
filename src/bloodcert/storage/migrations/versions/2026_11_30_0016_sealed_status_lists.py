"""Status lists sealed after a restore: no new certificate takes a slot in them

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("status_lists") as batch:
        batch.add_column(sa.Column("sealed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_lists") as batch:
        batch.drop_column("sealed_at")
