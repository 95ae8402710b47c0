"""Health checks before donating: encrypted answers, their outcome and the pass they gave

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_health_checks_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "health_checks",
        sa.Column("id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("site_id", Id, nullable=False),
        sa.Column("appointment_id", Id, nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("questionnaire", sa.String(length=10), nullable=False),
        sa.Column("answers", sa.LargeBinary(), nullable=False),  # AES-256-GCM (storage/crypto.py)
        sa.Column("outcome", sa.LargeBinary(), nullable=False),
        sa.Column("come_back_on", sa.LargeBinary(), nullable=True),
        sa.Column("pass_serial", sa.String(length=32), nullable=True),
        sa.Column("pass_expires_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        _fk("person_id", "persons"),
        _fk("site_id", "sites"),
        _fk("appointment_id", "appointments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_checks")),
        sa.UniqueConstraint("pass_serial", name=op.f("uq_health_checks_pass_serial")),
    )
    op.create_index(op.f("ix_health_checks_person_id"), "health_checks", ["person_id"], unique=False)
    op.create_index(
        op.f("ix_health_checks_appointment_id"), "health_checks", ["appointment_id"], unique=False
    )
    op.create_index("ix_health_checks_site_day", "health_checks", ["site_id", "day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_health_checks_site_day", table_name="health_checks")
    op.drop_index(op.f("ix_health_checks_appointment_id"), table_name="health_checks")
    op.drop_index(op.f("ix_health_checks_person_id"), table_name="health_checks")
    op.drop_table("health_checks")
