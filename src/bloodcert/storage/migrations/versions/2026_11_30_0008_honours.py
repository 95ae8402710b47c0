"""Honours: stations' decisions on commendation candidates, and the honour card in force per person

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "honour_decisions",
        sa.Column("id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("cycle", sa.String(length=9), nullable=False),
        sa.Column("award", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_honour_decisions_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_honour_decisions")),
        sa.UniqueConstraint("person_id", "cycle", "award", name="uq_honour_decisions_person_cycle_award"),
    )
    op.create_index(op.f("ix_honour_decisions_person_id"), "honour_decisions", ["person_id"], unique=False)
    op.create_table(
        "honour_cards",
        sa.Column("person_id", Id, nullable=False),
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_honour_cards_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_honour_cards")),
        sa.UniqueConstraint("serial", name=op.f("uq_honour_cards_serial")),
    )


def downgrade() -> None:
    op.drop_table("honour_cards")
    op.drop_index(op.f("ix_honour_decisions_person_id"), table_name="honour_decisions")
    op.drop_table("honour_decisions")
