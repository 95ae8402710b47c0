"""Certificates stored before they are signed: a bulk import may defer signing to `certs sign-pending`;
status lists numbered by a counter, so that concurrent writers open new lists without waiting.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_PENDING = sa.text("pending IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.alter_column("qr", existing_type=sa.LargeBinary(), nullable=True)
        batch.alter_column("kid", existing_type=sa.LargeBinary(length=8), nullable=True)
        # The certificate's content until it is signed, sealed like `qr` (storage.crypto.EncryptedJSON).
        batch.add_column(sa.Column("pending", sa.LargeBinary(), nullable=True))
    op.execute(
        "INSERT INTO counters (name, next_value) "
        "SELECT 'status_list', COALESCE(MAX(CAST(list_id AS INTEGER)), 0) + 1 FROM status_lists"
    )
    op.create_index(
        "ix_certificates_pending",
        "certificates",
        ["id"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'status_list'")
    op.drop_index("ix_certificates_pending", table_name="certificates")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("pending")
        batch.alter_column("kid", existing_type=sa.LargeBinary(length=8), nullable=False)
        batch.alter_column("qr", existing_type=sa.LargeBinary(), nullable=False)
