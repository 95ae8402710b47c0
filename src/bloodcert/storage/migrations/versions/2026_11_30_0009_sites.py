"""Donation sites, their hours and schedules, bookable slots and donors' appointments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", Id, nullable=False),
        sa.Column("station_id", Id, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("sites", "station_id", "stations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("station_id", "code", name="uq_sites_station_code"),
    )
    op.create_index(op.f("ix_sites_region"), "sites", ["region"], unique=False)
    for name, extra in (
        ("site_hours", [sa.Column("weekday", sa.SmallInteger(), nullable=False)]),
        (
            "site_schedule",
            [
                sa.Column("day", sa.Date(), nullable=False),
                sa.Column("place", sa.String(length=200), nullable=False),
                sa.Column("lat", sa.Float(), nullable=False),
                sa.Column("lon", sa.Float(), nullable=False),
            ],
        ),
    ):
        op.create_table(
            name,
            sa.Column("id", Id, nullable=False),
            sa.Column("site_id", Id, nullable=False),
            *extra,
            sa.Column("opens", sa.String(length=5), nullable=False),
            sa.Column("closes", sa.String(length=5), nullable=False),
            _fk(name, "site_id", "sites"),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        )
        op.create_index(op.f(f"ix_{name}_site_id"), name, ["site_id"], unique=False)
    op.create_table(
        "slots",
        sa.Column("id", Id, nullable=False),
        sa.Column("site_id", Id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.String(length=5), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        _fk("slots", "site_id", "sites"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
        sa.UniqueConstraint("site_id", "day", "starts_at", name="uq_slots_site_day_start"),
    )
    op.create_table(
        "appointments",
        sa.Column("id", Id, nullable=False),
        sa.Column("slot_id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("appointments", "slot_id", "slots"),
        _fk("appointments", "person_id", "persons"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(op.f("ix_appointments_slot_id"), "appointments", ["slot_id"], unique=False)
    op.create_index(op.f("ix_appointments_person_id"), "appointments", ["person_id"], unique=False)


def downgrade() -> None:
    for table, column in (("appointments", "person_id"), ("appointments", "slot_id")):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
    op.drop_table("appointments")
    op.drop_table("slots")
    for name in ("site_schedule", "site_hours"):
        op.drop_index(op.f(f"ix_{name}_site_id"), table_name=name)
        op.drop_table(name)
    op.drop_index(op.f("ix_sites_region"), table_name="sites")
    op.drop_table("sites")
