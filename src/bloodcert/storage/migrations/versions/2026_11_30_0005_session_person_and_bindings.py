"""Donor sessions reach one person; OAuth states are bound to a browser; captchas know their client

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Sessions opened before this revision named no person: they could reach every person under their ID
    # and name, so they are ended rather than carried over with that reach.
    op.add_column("donor_sessions", sa.Column("person_id", Id, nullable=True))
    op.execute(
        sa.text("UPDATE donor_sessions SET ended_at = last_seen_at WHERE ended_at IS NULL AND method = 'web'")
    )
    op.add_column("oauth_states", sa.Column("browser_hash", sa.LargeBinary(length=32), nullable=True))
    op.execute(sa.text("DELETE FROM oauth_states"))  # unbound states could be finished by any browser
    op.add_column("captchas", sa.Column("client_hash", sa.LargeBinary(length=32), nullable=True))
    op.create_index("ix_captchas_client", "captchas", ["client_hash", "expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_captchas_client", table_name="captchas")
    with op.batch_alter_table("captchas") as batch:
        batch.drop_column("client_hash")
    with op.batch_alter_table("oauth_states") as batch:
        batch.drop_column("browser_hash")
    with op.batch_alter_table("donor_sessions") as batch:
        batch.drop_column("person_id")
