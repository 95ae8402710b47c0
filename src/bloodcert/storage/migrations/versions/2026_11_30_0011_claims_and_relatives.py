"""Online claims and registered relatives: relatives, claims, their shares, files and timeline; the waiver
ledger takes lines of approved claim shares as well as of hospital waivers

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _index(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def _relatives() -> None:
    op.create_table(
        "relatives",
        sa.Column("id", Id, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("station_id", Id, nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("id_type", sa.String(length=32), nullable=False),
        sa.Column("id_number", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("identity_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        _fk("relatives", "person_id", "persons"),
        _fk("relatives", "station_id", "stations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relatives")),
        sa.UniqueConstraint("public_id", name=op.f("uq_relatives_public_id")),
    )
    _index("relatives", "person_id", "station_id", "identity_hash")


def _claims() -> None:
    op.create_table(
        "claims",
        sa.Column("id", Id, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("relative_id", Id, nullable=True),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("hospital_id", Id, nullable=True),
        sa.Column("hospital_name", sa.String(length=100), nullable=False),
        sa.Column("hospital_region", sa.String(length=6), nullable=False),
        sa.Column("invoice_no", sa.String(length=64), nullable=False),
        sa.Column("invoice_key", sa.String(length=200), nullable=False),
        sa.Column("transfused_on", sa.Date(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("billed_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        _fk("claims", "person_id", "persons"),
        _fk("claims", "relative_id", "relatives"),
        _fk("claims", "hospital_id", "hospitals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("public_id", name=op.f("uq_claims_public_id")),
    )
    _index("claims", "person_id", "invoice_key", "due_at")
    op.create_table(
        "claim_shares",
        sa.Column("id", Id, nullable=False),
        sa.Column("claim_id", Id, nullable=False),
        sa.Column("station_id", Id, nullable=False),
        sa.Column("province", sa.String(length=4), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("planned_ml", sa.Integer(), nullable=False),
        sa.Column("planned_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("approved_ml", sa.Integer(), nullable=True),
        sa.Column("approved_fen", sa.BigInteger(), nullable=True),
        sa.Column("payout_reference", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        _fk("claim_shares", "claim_id", "claims"),
        _fk("claim_shares", "station_id", "stations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_shares")),
        sa.UniqueConstraint("claim_id", "station_id", name="uq_claim_shares_claim_station"),
    )
    _index("claim_shares", "claim_id", "station_id")


def _files_and_events() -> None:
    op.create_table(
        "claim_files",
        sa.Column("id", Id, nullable=False),
        sa.Column("token", sa.String(length=48), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("claim_id", Id, nullable=True),
        sa.Column("relative_id", Id, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("claim_files", "person_id", "persons"),
        _fk("claim_files", "claim_id", "claims"),
        _fk("claim_files", "relative_id", "relatives"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_files")),
        sa.UniqueConstraint("token", name=op.f("uq_claim_files_token")),
    )
    _index("claim_files", "person_id", "claim_id", "relative_id")
    op.create_table(
        "claim_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("claim_id", Id, nullable=False),
        sa.Column("share_id", Id, nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("claim_events", "claim_id", "claims"),
        _fk("claim_events", "share_id", "claim_shares"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_events")),
    )
    _index("claim_events", "claim_id")


def upgrade() -> None:
    _relatives()
    _claims()
    _files_and_events()
    with op.batch_alter_table("waiver_ledger") as batch:
        batch.alter_column("waiver_id", existing_type=Id, nullable=True)
        batch.add_column(sa.Column("claim_share_id", Id, nullable=True))
        batch.create_foreign_key(
            op.f("fk_waiver_ledger_claim_share_id_claim_shares"), "claim_shares", ["claim_share_id"], ["id"]
        )
        batch.create_index(op.f("ix_waiver_ledger_claim_share_id"), ["claim_share_id"], unique=False)


def downgrade() -> None:
    # Claim lines have no waiver: they go with the claims (the ledger of hospital waivers stays whole).
    op.execute("DELETE FROM waiver_ledger WHERE claim_share_id IS NOT NULL")
    with op.batch_alter_table("waiver_ledger") as batch:
        batch.drop_index(op.f("ix_waiver_ledger_claim_share_id"))
        batch.drop_constraint(op.f("fk_waiver_ledger_claim_share_id_claim_shares"), type_="foreignkey")
        batch.drop_column("claim_share_id")
        batch.alter_column("waiver_id", existing_type=Id, nullable=False)
    for table in ("claim_events", "claim_files", "claim_shares", "claims", "relatives"):
        op.drop_table(table)
