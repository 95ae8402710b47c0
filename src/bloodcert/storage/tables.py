"""Tables named after the domain. Migrations under migrations/versions create them; never `create_all`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from bloodcert.storage.crypto import EncryptedBytes, EncryptedDate, EncryptedJSON, EncryptedText

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Autoincrement primary keys are BIGINT on PostgreSQL and the rowid INTEGER on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

stations = Table(
    "stations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("region", String(6), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

station_keys = Table(
    "station_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("key_id", String(64), nullable=False, unique=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False, index=True),
    Column("alg", String(32), nullable=False),
    Column("public_key_pem", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

# One row per merged person (the national view), keyed by the blind index of 证件类型+证件号码+姓名+ABO.
# Who the person is (ID number, name, birth date) is stored only encrypted (storage/crypto.py).
persons = Table(
    "persons",
    metadata,
    Column("id", Id, primary_key=True),
    Column("merge_hash", LargeBinary(32), nullable=False, unique=True),
    Column("identity_hash", LargeBinary(32), nullable=False, index=True),
    Column("name_hash", LargeBinary(32), nullable=False),  # donor login matches ID + name, not ABO
    Column("id_type", String(32), nullable=False),
    Column("id_number", EncryptedText("persons.id_number"), nullable=False),
    Column("name", EncryptedText("persons.name"), nullable=False),
    Column("sex", String(1), nullable=True),
    Column("birth_date", EncryptedDate("persons.birth_date"), nullable=True),
    Column("abo", String(2), nullable=False),
    Column("rhd", String(8), nullable=True),
    Column("donation_count", Integer, nullable=False, default=0),
    Column("whole_blood_ml", Integer, nullable=False, default=0),
    Column("platelet_units", Integer, nullable=False, default=0),
    Column("plasma_ml", Integer, nullable=False, default=0),
    Column("first_at", DateTime, nullable=True),
    Column("last_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Set when an administrator merged this person into another (services/identity_review.py): reports
    # under this person's key then land on that one. No foreign key: added by a migration on SQLite too.
    Column("merged_into", Id, nullable=True, index=True),
    # Set when an administrator decided that the persons sharing this ID number are different people.
    Column("identity_settled_at", DateTime, nullable=True),
)

# The donor as each station reported them; several rows may point at one person.
donors = Table(
    "donors",
    metadata,
    Column("id", Id, primary_key=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("merge_hash", LargeBinary(32), nullable=False),
    Column("sex", String(1), nullable=True),
    Column("birth_date", EncryptedDate("donors.birth_date"), nullable=True),
    Column("rhd", String(8), nullable=True),
    Column("first_reported_at", DateTime, nullable=False),
    Column("last_reported_at", DateTime, nullable=False),
    UniqueConstraint("station_id", "merge_hash", name="uq_donors_station_merge"),
)

donations = Table(
    "donations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False),
    Column("donation_no", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False),
    Column("donor_id", Id, ForeignKey("donors.id"), nullable=False),
    Column("donated_at", DateTime, nullable=False),  # UTC
    Column("donated_on", Date, nullable=False),  # the calendar date where it happened
    Column("utc_offset_min", SmallInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("volume_ml", Integer, nullable=True),
    Column("units", SmallInteger, nullable=True),
    Column("site_name", String(100), nullable=False),
    Column("site_type", String(8), nullable=False),
    Column("site_region", String(6), nullable=False),
    Column("test_result", String(12), nullable=False),
    Column("certificate_no", String(20), nullable=True),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("station_id", "donation_no", name="uq_donations_station_no"),
    Index("ix_donations_person_date", "person_id", "donated_at"),
)

# Every version a station ever sent, as sent: corrections are new versions, nothing is overwritten.
# The record names the donor, so it is stored encrypted like persons' identity columns.
donation_versions = Table(
    "donation_versions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("donation_id", Id, ForeignKey("donations.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", LargeBinary(32), nullable=False),
    Column("record", EncryptedJSON("donation_versions.record"), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("source", String(16), nullable=False),  # api | import
    UniqueConstraint("donation_id", "version", name="uq_donation_versions_version"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", Id, primary_key=True),
    Column("certificate_no", String(20), nullable=False, unique=True),
    Column("donation_id", Id, ForeignKey("donations.id"), nullable=False, index=True),
    Column("donation_version", Integer, nullable=False),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("status", String(12), nullable=False),  # active | superseded | revoked
    Column("issued_at", DateTime, nullable=False),
    Column("status_changed_at", DateTime, nullable=True),
    Column("kid", LargeBinary(8), nullable=True),  # null while pending
    Column("status_list_id", String(16), nullable=False),
    Column("status_index", Integer, nullable=False),
    Column("qr", EncryptedText("certificates.qr"), nullable=True),  # it carries the holder's name
    # A certificate stored unsigned (`bloodcert import --defer-signing`): its content, until
    # `bloodcert certs sign-pending` signs it and fills `qr` and `kid`.
    Column("pending", EncryptedJSON("certificates.pending"), nullable=True),
    UniqueConstraint("status_list_id", "status_index", name="uq_certificates_status_entry"),
    Index(
        "ix_certificates_pending",
        "id",
        postgresql_where=text("pending IS NOT NULL"),
        sqlite_where=text("pending IS NOT NULL"),
    ),
)

# Public halves of the issuer's keys; the private halves live only in the key directory.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kid", LargeBinary(8), nullable=False, unique=True),
    Column("role", String(8), nullable=False),  # root | signing
    Column("alg", String(16), nullable=False),
    Column("public_key_pem", Text, nullable=False),
    Column("not_before", DateTime, nullable=False),
    Column("not_after", DateTime, nullable=False),
    Column("status", String(8), nullable=False),  # active | retired | revoked
    Column("created_at", DateTime, nullable=False),
    Column("retired_at", DateTime, nullable=True),
)

status_lists = Table(
    "status_lists",
    metadata,
    Column("id", Id, primary_key=True),
    Column("list_id", String(16), nullable=False, unique=True),
    Column("bits", LargeBinary, nullable=False),  # revocation bits, as published
    Column("allocated", LargeBinary, nullable=False),  # which indexes certificates hold
    Column("allocated_count", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Set by `bloodcert certs skip-ahead` after a restore: certificates issued after the backup may hold
    # slots of this list that the restored `allocated` no longer shows, so no new certificate takes one.
    Column("sealed_at", DateTime, nullable=True),
)

quality_issues = Table(
    "quality_issues",
    metadata,
    Column("id", Id, primary_key=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False),
    Column("donation_no", String(64), nullable=True),
    Column("donation_id", Id, ForeignKey("donations.id"), nullable=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=True),
    Column("other_person_id", Id, ForeignKey("persons.id"), nullable=True),
    Column("severity", String(8), nullable=False),  # error (rejected) | warning (accepted)
    Column("code", String(32), nullable=False),
    Column("field", String(64), nullable=True),
    Column("message", String(300), nullable=False),
    # A rejected record is kept whole here, so that a rejection never loses what the station sent.
    Column("record", EncryptedJSON("quality_issues.record"), nullable=True),
    Column("status", String(8), nullable=False),  # open | fixed | accepted
    Column("created_at", DateTime, nullable=False),
    Column("source", String(16), nullable=False),
    # How an operator closed the issue: the corrected donation (fixed) or a note (accepted), by whom, when.
    Column("fixed_donation_id", Id, nullable=True),
    Column("close_note", String(300), nullable=True),
    Column("closed_by", String(64), nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Index("ix_quality_issues_station_status", "station_id", "status"),
)

seen_nonces = Table(
    "seen_nonces",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("seen_at", DateTime, nullable=False, index=True),
)

# Counters hand out blocks of numbers (certificate serials) safely across workers and databases.
counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

# Fixed-window abuse counters shared by every worker (when no Redis is configured): one row per limit,
# client and window; expires_at is seconds since the epoch.
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# Read-your-writes with a read replica (storage/replica.py), when no Redis keeps them: the WAL position
# the standby must have replayed before it may answer for a person ("p:<id>") or a session ("s:<id>").
replica_fences = Table(
    "replica_fences",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("expires_at", DateTime, nullable=False, index=True),
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("path", Text, nullable=False),
    Column("station_code", String(16), nullable=True),
    Column("lines_done", BigInteger, nullable=False),
    Column("accepted", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("started_at", DateTime, nullable=False),
)


# Donor sessions: opaque random tokens, stored only as SHA-256 hashes.
donor_sessions = Table(
    "donor_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("identity_hash", LargeBinary(32), nullable=False),
    Column("name_hash", LargeBinary(32), nullable=False),
    Column("method", String(16), nullable=False),  # web | alipay | wechat | wechat_mini | baidu | demo
    # The one person a donation-number login reached; NULL for a real-name platform login (see
    # services/sessions.py). No foreign key: added by a migration that must also run on SQLite.
    Column("person_id", Id, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
)

# Failed logins by client and by ID number (blind-indexed), for the captcha rule.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Id, primary_key=True),
    Column("subject_hash", LargeBinary(32), nullable=False),
    Column("at", DateTime, nullable=False),
    Index("ix_login_failures_subject_at", "subject_hash", "at"),
)

captchas = Table(
    "captchas",
    metadata,
    Column("captcha_id", String(64), primary_key=True),
    Column("answer_hash", LargeBinary(32), nullable=False),
    Column("expires_at", DateTime, nullable=False, index=True),
    # Keyed hash of the client it was drawn for: a client keeps only a few live captchas.
    Column("client_hash", LargeBinary(32), nullable=True),
    Index("ix_captchas_client", "client_hash", "expires_at"),
)

# Real-name platform accounts (Alipay, WeChat, Baidu), keyed by (provider, subject).
provider_accounts = Table(
    "provider_accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("identity_hash", LargeBinary(32), nullable=True),
    Column("name_hash", LargeBinary(32), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("verified_at", DateTime, nullable=True),
    UniqueConstraint("provider", "subject", name="uq_provider_accounts_subject"),
)

oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", LargeBinary(32), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("code_verifier", String(128), nullable=True),
    Column("redirect_to", String(200), nullable=False),
    # SHA-256 of the secret in the starting browser's short-lived cookie: the callback must come back to it.
    Column("browser_hash", LargeBinary(32), nullable=True),
    Column("expires_at", DateTime, nullable=False),
)

# Who read or changed what, when and from where. Never secrets, tokens or full ID numbers.
# Append-only and hash-chained: each entry's keyed hash covers the previous entry's hash.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False),
    Column("at", DateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),  # e.g. donor:session:123, station:33000001, staff:alice
    Column("action", String(64), nullable=False),
    Column("object", String(128), nullable=True),
    Column("client", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("entry_hash", LargeBinary(32), nullable=False),
    # How many events the entry stands for: refusals of one client in one window are one entry.
    Column("repeats", Integer, nullable=False, server_default=text("1")),
)

# The chain's two ends: the last entry (appends lock this row) and the last pruned one (where checks start).
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", BigInteger, nullable=False),
    Column("last_hash", LargeBinary(32), nullable=False),
    Column("base_id", BigInteger, nullable=False),
    Column("base_hash", LargeBinary(32), nullable=False),
)

# Staff of the console (/console): national administrators, station operators (bound to one station) and
# auditors. No account exists until `bloodcert staff add` makes one. The TOTP secret is encrypted at rest;
# `last_totp_step` refuses a code replayed within its 30-second window.
staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column(
        "role", String(20), nullable=False
    ),  # national_admin | provincial_admin | station_operator | auditor
    Column("station_id", Id, ForeignKey("stations.id"), nullable=True),
    Column("province", String(2), nullable=True),  # a provincial administrator's GB/T 2260 province
    Column("password_hash", String(255), nullable=False),  # argon2id, PHC string with its parameters
    Column("totp_secret", EncryptedText("staff_users.totp_secret"), nullable=False),
    Column("last_totp_step", BigInteger, nullable=True),
    Column("failed_count", Integer, nullable=False, default=0),
    Column("last_failure_at", DateTime, nullable=True),
    Column("locked_until", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("disabled_at", DateTime, nullable=True),
)

# Staff sessions, like donors': opaque random tokens stored only as SHA-256 hashes, idle + absolute timeout.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("staff_users.id"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
)

# Failed console logins by client (keyed hash of the address), for the per-client throttle.
staff_login_failures = Table(
    "staff_login_failures",
    metadata,
    Column("id", Id, primary_key=True),
    Column("client_hash", LargeBinary(32), nullable=False),
    Column("at", DateTime, nullable=False),
    Index("ix_staff_login_failures_client_at", "client_hash", "at"),
)

# Hospitals that waive blood fees at the counter (医院直免): tenants of their own, with their own keys.
hospitals = Table(
    "hospitals",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("region", String(6), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

hospital_keys = Table(
    "hospital_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("key_id", String(64), nullable=False, unique=True),
    Column("hospital_id", Id, ForeignKey("hospitals.id"), nullable=False, index=True),
    Column("alg", String(32), nullable=False),
    Column("public_key_pem", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

# One row per waiver a hospital claimed; the patient's identity is stored encrypted and found by blind index.
# `request_hash` makes a repeated claim with the same invoice number answer the same waiver.
waivers = Table(
    "waivers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("waiver_id", String(32), nullable=False, unique=True),
    Column("hospital_id", Id, ForeignKey("hospitals.id"), nullable=False),
    Column("invoice_no", String(64), nullable=False),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("relationship", String(16), nullable=False),
    Column("proof", String(24), nullable=False),
    Column("patient_id_type", String(32), nullable=False),
    Column("patient_id_number", EncryptedText("waivers.patient_id_number"), nullable=False),
    Column("patient_name", EncryptedText("waivers.patient_name"), nullable=False),
    Column("patient_identity_hash", LargeBinary(32), nullable=False, index=True),
    Column("transfused_on", Date, nullable=False),
    Column("billed_fen", BigInteger, nullable=False),
    Column("waived_fen", BigInteger, nullable=False),
    Column("waived_ml", Integer, nullable=False),
    Column("unlimited", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("reversed_at", DateTime, nullable=True),
    UniqueConstraint("hospital_id", "invoice_no", name="uq_waivers_hospital_invoice"),
)

# Append-only: every draw on a pool, and every reversal (negated amounts), naming the province and the
# station that pays. A pool's balance is its entitlement less the sum of its entries.
waiver_ledger = Table(
    "waiver_ledger",
    metadata,
    Column("id", Id, primary_key=True),
    # Exactly one of the two: a waiver at the hospital counter, or a station's approved share of a claim.
    Column("waiver_id", Id, ForeignKey("waivers.id"), nullable=True, index=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False),
    Column("jurisdiction", String(4), nullable=False),
    Column("pool", String(12), nullable=False),  # self | relatives
    Column("rule_id", String(24), nullable=False),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False),
    Column("entry", String(8), nullable=False),  # draw | reversal
    Column("ml", Integer, nullable=False),
    Column("fen", BigInteger, nullable=False),
    Column("unlimited", Boolean, nullable=False),
    Column("remaining_before_ml", Integer, nullable=True),
    Column("remaining_before_fen", BigInteger, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("claim_share_id", Id, ForeignKey("claim_shares.id"), nullable=True, index=True),
    Index("ix_waiver_ledger_pool", "person_id", "jurisdiction", "pool"),
    Index("ix_waiver_ledger_station_created", "station_id", "created_at"),
)

# Stations' review of the national commendation's candidates (奉献奖 / 终身荣誉奖): one decision per person,
# cycle and award. A confirmed row is the award held; a rejected one keeps the station's reason.
honour_decisions = Table(
    "honour_decisions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("cycle", String(9), nullable=False),
    Column("award", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # confirmed | rejected
    Column("reason", Text, nullable=True),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", DateTime, nullable=False),
    UniqueConstraint("person_id", "cycle", "award", name="uq_honour_decisions_person_cycle_award"),
)

# The one honour card in force per person: a re-issue replaces the serial, so an older card stops verifying.
honour_cards = Table(
    "honour_cards",
    metadata,
    Column("person_id", Id, ForeignKey("persons.id"), primary_key=True),
    Column("serial", String(32), nullable=False, unique=True),
    Column("issued_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# Donation sites (献血点) a station maintains, keyed by the station's own site code.
sites = Table(
    "sites",
    metadata,
    Column("id", Id, primary_key=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("type", String(8), nullable=False),
    Column("region", String(6), nullable=False, index=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("address", String(200), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("station_id", "code", name="uq_sites_station_code"),
)

# Weekly opening hours, Beijing time ("HH:MM"); a site may open more than once a day.
site_hours = Table(
    "site_hours",
    metadata,
    Column("id", Id, primary_key=True),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False, index=True),
    Column("weekday", SmallInteger, nullable=False),
    Column("opens", String(5), nullable=False),
    Column("closes", String(5), nullable=False),
)

# A mobile site's dated stops: where the bus stands on a day, and when.
site_schedule = Table(
    "site_schedule",
    metadata,
    Column("id", Id, primary_key=True),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False, index=True),
    Column("day", Date, nullable=False),
    Column("place", String(200), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("opens", String(5), nullable=False),
    Column("closes", String(5), nullable=False),
)

# Bookable slots: `booked` only grows through a conditional update, so it never passes `capacity`.
slots = Table(
    "slots",
    metadata,
    Column("id", Id, primary_key=True),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("starts_at", String(5), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("booked", Integer, nullable=False),
    UniqueConstraint("site_id", "day", "starts_at", name="uq_slots_site_day_start"),
)

# A donor's booking of a slot (预约献血): booked, cancelled, attended or no_show.
appointments = Table(
    "appointments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("slot_id", Id, ForeignKey("slots.id"), nullable=False, index=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# A donor's answers to the health questions before donating (献血前健康征询), for a booking or a walk-in at
# a site. Append-only: answering again adds a row, and only the latest pass of a person stays in force.
# The answers and what they mean are health data, stored only encrypted; the station of the site reads them.
health_checks = Table(
    "health_checks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("site_id", Id, ForeignKey("sites.id"), nullable=False),
    Column("appointment_id", Id, ForeignKey("appointments.id"), nullable=True, index=True),
    Column("day", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("questionnaire", String(10), nullable=False),  # the revision: the day it took effect
    Column("answers", EncryptedJSON("health_checks.answers"), nullable=False),
    Column("outcome", EncryptedText("health_checks.outcome"), nullable=False),
    Column("come_back_on", EncryptedDate("health_checks.come_back_on"), nullable=True),
    Column("pass_serial", String(32), nullable=True, unique=True),
    Column("pass_expires_at", DateTime, nullable=True),
    Column("answered_at", DateTime, nullable=False),
    Index("ix_health_checks_site_day", "site_id", "day"),
)

# Relatives a donor registered (登记亲属), with a proof document, reviewed by the station that holds most of
# the donor's donations. Approved and not removed: `proof: registered_relative` at any hospital.
relatives = Table(
    "relatives",
    metadata,
    Column("id", Id, primary_key=True),
    Column("public_id", String(32), nullable=False, unique=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False, index=True),
    Column("relationship", String(16), nullable=False),
    Column("id_type", String(32), nullable=False),
    Column("id_number", EncryptedText("relatives.id_number"), nullable=False),
    Column("name", EncryptedText("relatives.name"), nullable=False),
    Column("identity_hash", LargeBinary(32), nullable=False, index=True),
    Column("status", String(12), nullable=False),  # pending | approved | rejected | need_info
    Column("message", EncryptedText("relatives.message"), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("decided_at", DateTime, nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("removed_at", DateTime, nullable=True),
)

# Online claims (线上申请): one per invoice the donor claims. `invoice_key` names the invoice whichever way it
# came (a registered hospital's id, or a free-text hospital's region and name), so that one invoice is never
# settled twice.
claims = Table(
    "claims",
    metadata,
    Column("id", Id, primary_key=True),
    Column("public_id", String(32), nullable=False, unique=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("relative_id", Id, ForeignKey("relatives.id"), nullable=True),
    Column("relationship", String(16), nullable=False),
    Column("hospital_id", Id, ForeignKey("hospitals.id"), nullable=True),
    Column("hospital_name", String(100), nullable=False),
    Column("hospital_region", String(6), nullable=False),
    Column("invoice_no", String(64), nullable=False),
    Column("invoice_key", String(200), nullable=False, index=True),
    Column("transfused_on", Date, nullable=False),
    Column("items", Text, nullable=False),  # JSON, as the donor gave them
    Column("billed_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_at", DateTime, nullable=False, index=True),
    Column("escalated_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("decided_at", DateTime, nullable=True),
)

# One station's part of a claim: the draws it pays (`plan`, JSON, as planned when the claim was filed) and
# its review. An approved share's draws are lines of the waiver ledger.
claim_shares = Table(
    "claim_shares",
    metadata,
    Column("id", Id, primary_key=True),
    Column("claim_id", Id, ForeignKey("claims.id"), nullable=False, index=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False, index=True),
    Column("province", String(4), nullable=False),
    Column("plan", Text, nullable=False),
    Column("planned_ml", Integer, nullable=False),
    Column("planned_fen", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # submitted | approved | rejected | need_info
    Column("approved_ml", Integer, nullable=True),
    Column("approved_fen", BigInteger, nullable=True),
    Column("payout_reference", String(64), nullable=True),
    Column("decided_at", DateTime, nullable=True),
    Column("decided_by", String(64), nullable=True),
    UniqueConstraint("claim_id", "station_id", name="uq_claim_shares_claim_station"),
)

# Uploaded documents (invoices, itemised bills, proofs of kinship), encrypted with the data key. `token` is
# the only way to name one in a URL: random, never a row id.
claim_files = Table(
    "claim_files",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token", String(48), nullable=False, unique=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("claim_id", Id, ForeignKey("claims.id"), nullable=True, index=True),
    Column("relative_id", Id, ForeignKey("relatives.id"), nullable=True, index=True),
    Column("kind", String(16), nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", LargeBinary(32), nullable=False),
    Column("content", EncryptedBytes("claim_files.content"), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# A claim's timeline: filed, each decision with its message, the donor's answers, escalation.
claim_events = Table(
    "claim_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("claim_id", Id, ForeignKey("claims.id"), nullable=False, index=True),
    Column("share_id", Id, ForeignKey("claim_shares.id"), nullable=True),
    Column("actor", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("message", EncryptedText("claim_events.message"), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

# A donor's choice of channels per topic ({topic: [channel, …]}), the SMS number and the home region.
notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column("person_id", Id, ForeignKey("persons.id"), primary_key=True),
    Column("choices", Text, nullable=False),  # JSON
    Column("phone", EncryptedText("notification_preferences.phone"), nullable=True),
    Column("wechat_openid", EncryptedText("notification_preferences.wechat_openid"), nullable=True),
    Column("home_region", String(6), nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

# The inbox: one row per event and person; the same event raised again finds its key taken.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False),
    Column("topic", String(16), nullable=False),
    Column("event", String(32), nullable=False),
    Column("dedup_key", String(120), nullable=False),
    Column("params", EncryptedJSON("notifications.params"), nullable=False),
    Column("link", String(300), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("read_at", DateTime, nullable=True),
    UniqueConstraint("person_id", "dedup_key", name="uq_notifications_person_dedup"),
    Index("ix_notifications_person_created", "person_id", "created_at"),
)

# Each message's way out through a provider: queued → sending → sent | failed | dropped, with retries.
notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("notification_id", Id, ForeignKey("notifications.id"), nullable=False, index=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("sent_at", DateTime, nullable=True),
    Column("last_error", String(120), nullable=True),
    Column("provider_ref", String(64), nullable=True),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    Index("ix_notification_deliveries_person_sent", "person_id", "sent_at"),
)

# Stations' stock by ABO and RhD, append-only: the latest report per type is the level in force.
supply_levels = Table(
    "supply_levels",
    metadata,
    Column("id", Id, primary_key=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False),
    Column("abo", String(2), nullable=False),
    Column("rhd", String(8), nullable=False),
    Column("level", String(8), nullable=False),  # adequate | low | critical
    Column("reported_at", DateTime, nullable=False),
    Column("reported_by", String(64), nullable=False),
    Index("ix_supply_levels_station_type", "station_id", "abo", "rhd", "reported_at"),
)

# A call-up a low level set off, and whom it reached (the cap per donor and month counts these).
callups = Table(
    "callups",
    metadata,
    Column("id", Id, primary_key=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False, index=True),
    Column("abo", String(2), nullable=False),
    Column("rhd", String(8), nullable=False),
    Column("level", String(8), nullable=False),
    Column("area", String(6), nullable=False),
    Column("reached", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

callup_recipients = Table(
    "callup_recipients",
    metadata,
    Column("id", Id, primary_key=True),
    Column("callup_id", Id, ForeignKey("callups.id"), nullable=False),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("sent_at", DateTime, nullable=False),
    UniqueConstraint("callup_id", "person_id", name="uq_callup_recipients_callup_person"),
)

# The satisfaction survey after a donation: a single-use link (only its hash is kept) that expires.
survey_invitations = Table(
    "survey_invitations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("donation_id", Id, ForeignKey("donations.id"), nullable=False, unique=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("answered_at", DateTime, nullable=True),
    Column("score", SmallInteger, nullable=True),
    Column("comment", EncryptedText("survey_invitations.comment"), nullable=True),
)

# Donors' correction and back-fill requests (纠错与补录), routed to one station, due by `due_at`; past it
# they are escalated to the province's administrators. What the donor proposes may name them: encrypted.
corrections = Table(
    "corrections",
    metadata,
    Column("id", Id, primary_key=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False, index=True),
    Column("station_id", Id, ForeignKey("stations.id"), nullable=False),
    Column("province", String(2), nullable=False),
    Column("kind", String(20), nullable=False),  # wrong_record | missing_donation
    Column("donation_id", Id, ForeignKey("donations.id"), nullable=True),
    Column("field", String(32), nullable=True),
    Column("proposed", EncryptedText("corrections.proposed"), nullable=True),
    Column("donated_on", Date, nullable=True),
    Column("site", String(100), nullable=True),
    # An optional photo of the paper certificate (base64 of a JPEG or PNG), encrypted: it names the donor.
    Column("photo", EncryptedText("corrections.photo"), nullable=True),
    Column("photo_type", String(16), nullable=True),
    Column("status", String(12), nullable=False),  # open | need_info | resolved | rejected | escalated
    Column("due_at", DateTime, nullable=False),
    Column("escalated_at", DateTime, nullable=True),
    Column("resolved_donation_id", Id, ForeignKey("donations.id"), nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_corrections_station_status", "station_id", "status"),
    Index("ix_corrections_province_status", "province", "status"),
)

# The conversation of a request, append-only: the donor's filing and replies, the station's answers,
# escalation. `author` is donor | station | staff | system.
correction_messages = Table(
    "correction_messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("correction_id", Id, ForeignKey("corrections.id"), nullable=False, index=True),
    Column("author", String(8), nullable=False),
    Column("actor", String(64), nullable=False),
    Column(
        "action", String(12), nullable=False
    ),  # filed | reply | resolved | rejected | need_info | escalated
    Column("message", EncryptedText("correction_messages.message"), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# An administrator's decision on an identity conflict (two persons under one ID number): the same person
# (merge `other_person_id` into `person_id`) or different people (keep apart). Undone, never deleted.
identity_decisions = Table(
    "identity_decisions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("identity_hash", LargeBinary(32), nullable=False, index=True),
    Column("person_id", Id, ForeignKey("persons.id"), nullable=False),
    Column("other_person_id", Id, ForeignKey("persons.id"), nullable=False),
    Column("decision", String(8), nullable=False),  # merge | separate
    Column("evidence", EncryptedText("identity_decisions.evidence"), nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", DateTime, nullable=False),
    Column("undone_by", String(64), nullable=True),
    Column("undone_at", DateTime, nullable=True),
)
