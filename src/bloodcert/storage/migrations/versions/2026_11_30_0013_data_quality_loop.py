"""Donors' correction requests and their conversation, identity decisions, closing quality issues,
merged persons, and provincial administrators

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.add_column("quality_issues", sa.Column("fixed_donation_id", Id, nullable=True))
    op.add_column("quality_issues", sa.Column("close_note", sa.String(length=300), nullable=True))
    op.add_column("quality_issues", sa.Column("closed_by", sa.String(length=64), nullable=True))
    op.add_column("quality_issues", sa.Column("closed_at", sa.DateTime(), nullable=True))
    op.add_column("persons", sa.Column("merged_into", Id, nullable=True))
    # Every waiver draw looks up the persons merged into the donor: without an index, a scan of all persons.
    op.create_index(op.f("ix_persons_merged_into"), "persons", ["merged_into"])
    op.add_column("persons", sa.Column("identity_settled_at", sa.DateTime(), nullable=True))
    op.add_column("staff_users", sa.Column("province", sa.String(length=2), nullable=True))
    op.create_table(
        "corrections",
        sa.Column("id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("station_id", Id, nullable=False),
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("donation_id", Id, nullable=True),
        sa.Column("field", sa.String(length=32), nullable=True),
        sa.Column("proposed", sa.LargeBinary(), nullable=True),
        sa.Column("donated_on", sa.Date(), nullable=True),
        sa.Column("site", sa.String(length=100), nullable=True),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_type", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_donation_id", Id, nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("corrections", "person_id", "persons"),
        _fk("corrections", "station_id", "stations"),
        _fk("corrections", "donation_id", "donations"),
        _fk("corrections", "resolved_donation_id", "donations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
    )
    op.create_index(op.f("ix_corrections_person_id"), "corrections", ["person_id"], unique=False)
    op.create_index("ix_corrections_station_status", "corrections", ["station_id", "status"], unique=False)
    op.create_index("ix_corrections_province_status", "corrections", ["province", "status"], unique=False)
    op.create_table(
        "correction_messages",
        sa.Column("id", Id, nullable=False),
        sa.Column("correction_id", Id, nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("correction_messages", "correction_id", "corrections"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correction_messages")),
    )
    op.create_index(
        op.f("ix_correction_messages_correction_id"), "correction_messages", ["correction_id"], unique=False
    )
    op.create_table(
        "identity_decisions",
        sa.Column("id", Id, nullable=False),
        sa.Column("identity_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("other_person_id", Id, nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("evidence", sa.LargeBinary(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("undone_by", sa.String(length=64), nullable=True),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        _fk("identity_decisions", "person_id", "persons"),
        _fk("identity_decisions", "other_person_id", "persons"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_decisions")),
    )
    op.create_index(
        op.f("ix_identity_decisions_identity_hash"), "identity_decisions", ["identity_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_identity_decisions_identity_hash"), table_name="identity_decisions")
    op.drop_table("identity_decisions")
    op.drop_index(op.f("ix_correction_messages_correction_id"), table_name="correction_messages")
    op.drop_table("correction_messages")
    op.drop_index("ix_corrections_province_status", table_name="corrections")
    op.drop_index("ix_corrections_station_status", table_name="corrections")
    op.drop_index(op.f("ix_corrections_person_id"), table_name="corrections")
    op.drop_table("corrections")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("province")
    op.drop_index(op.f("ix_persons_merged_into"), table_name="persons")
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("identity_settled_at")
        batch.drop_column("merged_into")
    with op.batch_alter_table("quality_issues") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("closed_by")
        batch.drop_column("close_note")
        batch.drop_column("fixed_donation_id")
