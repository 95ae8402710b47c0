"""Notifications (inbox, preferences, deliveries), supply levels and call-ups, satisfaction surveys

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("person_id", Id, nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("phone", sa.LargeBinary(), nullable=True),  # sealed by storage.crypto.EncryptedText
        sa.Column("wechat_openid", sa.LargeBinary(), nullable=True),  # sealed likewise
        sa.Column("home_region", sa.String(length=6), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("notification_preferences", "person_id", "persons"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=120), nullable=False),
        sa.Column("params", sa.LargeBinary(), nullable=False),  # sealed by storage.crypto.EncryptedJSON
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        _fk("notifications", "person_id", "persons"),
        _pk("notifications"),
        sa.UniqueConstraint("person_id", "dedup_key", name="uq_notifications_person_dedup"),
    )
    op.create_index("ix_notifications_person_created", "notifications", ["person_id", "created_at"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", Id, nullable=False),
        sa.Column("notification_id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=120), nullable=True),
        sa.Column("provider_ref", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("notification_deliveries", "notification_id", "notifications"),
        _fk("notification_deliveries", "person_id", "persons"),
        _pk("notification_deliveries"),
    )
    op.create_index(
        op.f("ix_notification_deliveries_notification_id"), "notification_deliveries", ["notification_id"]
    )
    op.create_index(
        "ix_notification_deliveries_due", "notification_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_notification_deliveries_person_sent", "notification_deliveries", ["person_id", "sent_at"]
    )
    _supply_and_callups()
    _surveys()


def _supply_and_callups() -> None:
    op.create_table(
        "supply_levels",
        sa.Column("id", Id, nullable=False),
        sa.Column("station_id", Id, nullable=False),
        sa.Column("abo", sa.String(length=2), nullable=False),
        sa.Column("rhd", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        _fk("supply_levels", "station_id", "stations"),
        _pk("supply_levels"),
    )
    op.create_index(
        "ix_supply_levels_station_type", "supply_levels", ["station_id", "abo", "rhd", "reported_at"]
    )
    op.create_table(
        "callups",
        sa.Column("id", Id, nullable=False),
        sa.Column("station_id", Id, nullable=False),
        sa.Column("abo", sa.String(length=2), nullable=False),
        sa.Column("rhd", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("area", sa.String(length=6), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("callups", "station_id", "stations"),
        _pk("callups"),
    )
    op.create_index(op.f("ix_callups_station_id"), "callups", ["station_id"])
    op.create_table(
        "callup_recipients",
        sa.Column("id", Id, nullable=False),
        sa.Column("callup_id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        _fk("callup_recipients", "callup_id", "callups"),
        _fk("callup_recipients", "person_id", "persons"),
        _pk("callup_recipients"),
        sa.UniqueConstraint("callup_id", "person_id", name="uq_callup_recipients_callup_person"),
    )
    op.create_index(op.f("ix_callup_recipients_person_id"), "callup_recipients", ["person_id"])


def _surveys() -> None:
    op.create_table(
        "survey_invitations",
        sa.Column("id", Id, nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("donation_id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("station_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.LargeBinary(), nullable=True),  # sealed by storage.crypto.EncryptedText
        _fk("survey_invitations", "donation_id", "donations"),
        _fk("survey_invitations", "person_id", "persons"),
        _fk("survey_invitations", "station_id", "stations"),
        _pk("survey_invitations"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_survey_invitations_token_hash")),
        sa.UniqueConstraint("donation_id", name=op.f("uq_survey_invitations_donation_id")),
    )
    op.create_index(op.f("ix_survey_invitations_station_id"), "survey_invitations", ["station_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_invitations_station_id"), table_name="survey_invitations")
    op.drop_table("survey_invitations")
    op.drop_index(op.f("ix_callup_recipients_person_id"), table_name="callup_recipients")
    op.drop_table("callup_recipients")
    op.drop_index(op.f("ix_callups_station_id"), table_name="callups")
    op.drop_table("callups")
    op.drop_index("ix_supply_levels_station_type", table_name="supply_levels")
    op.drop_table("supply_levels")
    for name in (
        "ix_notification_deliveries_person_sent",
        "ix_notification_deliveries_due",
        "ix_notification_deliveries_notification_id",
    ):
        op.drop_index(name, table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_index("ix_notifications_person_created", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("notification_preferences")
