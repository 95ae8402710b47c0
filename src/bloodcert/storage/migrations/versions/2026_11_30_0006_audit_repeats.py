"""Audit entries that stand for repeated refusals: how many times one client was refused in one window

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing entry stands for one event; its hash did not cover the count, and still verifies.
    op.add_column(
        "audit_log", sa.Column("repeats", sa.Integer(), nullable=False, server_default=sa.text("1"))
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("repeats")
