"""Hospitals and the blood-fee waiver: hospitals, their signing keys, waivers and the append-only ledger

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hospitals",
        sa.Column("id", Id, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hospitals")),
        sa.UniqueConstraint("code", name=op.f("uq_hospitals_code")),
    )
    op.create_table(
        "hospital_keys",
        sa.Column("id", Id, nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", Id, nullable=False),
        sa.Column("alg", sa.String(length=32), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_hospital_keys_hospital_id_hospitals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hospital_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_hospital_keys_key_id")),
    )
    op.create_index(op.f("ix_hospital_keys_hospital_id"), "hospital_keys", ["hospital_id"], unique=False)
    op.create_table(
        "waivers",
        sa.Column("id", Id, nullable=False),
        sa.Column("waiver_id", sa.String(length=32), nullable=False),
        sa.Column("hospital_id", Id, nullable=False),
        sa.Column("invoice_no", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("relationship", sa.String(length=16), nullable=False),
        sa.Column("proof", sa.String(length=24), nullable=False),
        sa.Column("patient_id_type", sa.String(length=32), nullable=False),
        # Sealed by bloodcert.storage.crypto.EncryptedText.
        sa.Column("patient_id_number", sa.LargeBinary(), nullable=False),
        sa.Column("patient_name", sa.LargeBinary(), nullable=False),
        sa.Column("patient_identity_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("transfused_on", sa.Date(), nullable=False),
        sa.Column("billed_fen", sa.BigInteger(), nullable=False),
        sa.Column("waived_fen", sa.BigInteger(), nullable=False),
        sa.Column("waived_ml", sa.Integer(), nullable=False),
        sa.Column("unlimited", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reversed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_waivers_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_waivers_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waivers")),
        sa.UniqueConstraint("waiver_id", name=op.f("uq_waivers_waiver_id")),
        sa.UniqueConstraint("hospital_id", "invoice_no", name="uq_waivers_hospital_invoice"),
    )
    op.create_index(op.f("ix_waivers_person_id"), "waivers", ["person_id"], unique=False)
    op.create_index(
        op.f("ix_waivers_patient_identity_hash"), "waivers", ["patient_identity_hash"], unique=False
    )
    op.create_table(
        "waiver_ledger",
        sa.Column("id", Id, nullable=False),
        sa.Column("waiver_id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("jurisdiction", sa.String(length=4), nullable=False),
        sa.Column("pool", sa.String(length=12), nullable=False),
        sa.Column("rule_id", sa.String(length=24), nullable=False),
        sa.Column("station_id", Id, nullable=False),
        sa.Column("entry", sa.String(length=8), nullable=False),
        sa.Column("ml", sa.Integer(), nullable=False),
        sa.Column("fen", sa.BigInteger(), nullable=False),
        sa.Column("unlimited", sa.Boolean(), nullable=False),
        sa.Column("remaining_before_ml", sa.Integer(), nullable=True),
        sa.Column("remaining_before_fen", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["waiver_id"], ["waivers.id"], name=op.f("fk_waiver_ledger_waiver_id_waivers")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_waiver_ledger_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_waiver_ledger_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waiver_ledger")),
    )
    op.create_index(op.f("ix_waiver_ledger_waiver_id"), "waiver_ledger", ["waiver_id"], unique=False)
    op.create_index(
        "ix_waiver_ledger_pool", "waiver_ledger", ["person_id", "jurisdiction", "pool"], unique=False
    )
    op.create_index(
        "ix_waiver_ledger_station_created", "waiver_ledger", ["station_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("waiver_ledger")
    op.drop_table("waivers")
    op.drop_table("hospital_keys")
    op.drop_table("hospitals")
