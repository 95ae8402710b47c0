"""Typed rows that services hand to repositories to write: one struct per table, fields named as columns.

A misspelt or missing column is a type error where the row is built, not a database error at run time.
They are frozen msgspec Structs rather than frozen dataclasses because ingest builds several per record:
a Struct is built in C, about eight times faster than a frozen dataclass's __init__.
Every field is a column of its table, and every column without a default is a field: `WRITE_ROWS` names
each row's table and a test holds the two to each other. Autoincrement ids are not fields; the database
assigns them (storage/bulk.py hands them back in the rows' order).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import Table

from bloodcert.storage.tables import (
    audit_log,
    certificates,
    correction_messages,
    corrections,
    donation_versions,
    donations,
    donors,
    identity_decisions,
    import_runs,
    persons,
    quality_issues,
    signing_keys,
    station_keys,
    stations,
    status_lists,
)


class NewPerson(msgspec.Struct, frozen=True):
    """A merged person, created with zero totals (ingest recomputes them from the donations)."""

    merge_hash: bytes
    identity_hash: bytes
    name_hash: bytes
    id_type: str
    id_number: str
    name: str
    sex: str | None
    birth_date: date | None
    abo: str
    rhd: str | None
    created_at: datetime
    updated_at: datetime
    donation_count: int = 0
    whole_blood_ml: int = 0
    platelet_units: int = 0
    plasma_ml: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


class NewDonor(msgspec.Struct, frozen=True):
    """A donor as one station reported them."""

    station_id: int
    person_id: int
    merge_hash: bytes
    sex: str | None
    birth_date: date | None
    rhd: str | None
    first_reported_at: datetime
    last_reported_at: datetime


class DonationState(msgspec.Struct, frozen=True):
    """A donation's current state: inserted for a new donation, written over the old one for a correction."""

    station_id: int
    donation_no: str
    version: int
    status: str
    person_id: int
    donor_id: int
    donated_at: datetime  # UTC
    donated_on: date
    utc_offset_min: int
    kind: str
    volume_ml: int | None
    units: int | None
    site_name: str
    site_type: str
    site_region: str
    test_result: str
    certificate_no: str | None
    updated_at: datetime


class NewDonationVersion(msgspec.Struct, frozen=True):
    """One version of a donation exactly as the station sent it."""

    donation_id: int
    version: int
    content_hash: bytes
    record: dict[str, Any]
    received_at: datetime
    source: str


class NewCertificate(msgspec.Struct, frozen=True):
    """A signed certificate; `qr` is its `BC1:` text."""

    certificate_no: str
    donation_id: int
    donation_version: int
    person_id: int
    status: str
    issued_at: datetime
    status_changed_at: datetime | None
    kid: bytes
    status_list_id: str
    status_index: int
    qr: str


class NewSigningKey(msgspec.Struct, frozen=True):
    """The public half of a new issuer key."""

    kid: bytes
    role: str
    alg: str
    public_key_pem: str
    not_before: datetime
    not_after: datetime
    status: str
    created_at: datetime
    retired_at: datetime | None = None


class NewStatusList(msgspec.Struct, frozen=True):
    """A new revocation status list."""

    list_id: str
    bits: bytes
    allocated: bytes
    allocated_count: int
    created_at: datetime
    updated_at: datetime


class NewQualityIssue(msgspec.Struct, frozen=True):
    """A rejection (severity error, with the record kept whole) or a warning on an accepted record."""

    station_id: int
    donation_no: str | None
    severity: str
    code: str
    field: str | None
    message: str
    record: dict[str, Any] | None
    status: str
    created_at: datetime
    source: str
    donation_id: int | None = None
    person_id: int | None = None
    other_person_id: int | None = None


class NewImportRun(msgspec.Struct, frozen=True):
    """A bulk import run of one file, before its first chunk."""

    fingerprint: str
    path: str
    station_code: str | None
    started_at: datetime
    lines_done: int = 0
    accepted: int = 0
    rejected: int = 0
    finished_at: datetime | None = None


class NewStation(msgspec.Struct, frozen=True):
    """A blood station to register."""

    code: str
    name: str
    tier: str
    region: str
    created_at: datetime


class NewStationKey(msgspec.Struct, frozen=True):
    """A station's request-signing public key."""

    key_id: str
    station_id: int
    alg: str
    public_key_pem: str
    created_at: datetime
    revoked_at: datetime | None = None


class AuditEntry(msgspec.Struct, frozen=True):
    """One entry of the audit trail. Its id is its place in the hash chain, so the chain assigns it."""

    id: int
    at: datetime
    actor: str
    action: str
    object: str | None
    client: str | None
    outcome: str
    prev_hash: bytes
    entry_hash: bytes
    repeats: int = 1  # refusals of one client within one window, written as one entry


class NewCorrection(msgspec.Struct, frozen=True):
    """A donor's correction or back-fill request, routed to a station and due by `due_at`."""

    person_id: int
    station_id: int
    province: str
    kind: str
    donation_id: int | None
    field: str | None
    proposed: str | None
    donated_on: date | None
    site: str | None
    status: str
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    escalated_at: datetime | None = None
    resolved_donation_id: int | None = None
    closed_at: datetime | None = None
    photo: str | None = None
    photo_type: str | None = None


class NewCorrectionMessage(msgspec.Struct, frozen=True):
    """One entry of a request's conversation (the message is encrypted at rest)."""

    correction_id: int
    author: str
    actor: str
    action: str
    message: str
    created_at: datetime


class NewIdentityDecision(msgspec.Struct, frozen=True):
    """An administrator's decision on an identity conflict; the evidence is encrypted at rest."""

    identity_hash: bytes
    person_id: int
    other_person_id: int
    decision: str
    evidence: str
    decided_by: str
    decided_at: datetime
    undone_by: str | None = None
    undone_at: datetime | None = None


def column_values(row: msgspec.Struct) -> dict[str, Any]:
    """A write row as {column: value}, for single-row statements."""
    return msgspec.structs.asdict(row)


# Which table each write row goes to (a test checks the fields against the columns).
WRITE_ROWS: dict[type[Any], Table] = {
    NewPerson: persons,
    NewDonor: donors,
    DonationState: donations,
    NewDonationVersion: donation_versions,
    NewCertificate: certificates,
    NewSigningKey: signing_keys,
    NewStatusList: status_lists,
    NewQualityIssue: quality_issues,
    NewImportRun: import_runs,
    NewStation: stations,
    NewStationKey: station_keys,
    AuditEntry: audit_log,
    NewCorrection: corrections,
    NewCorrectionMessage: correction_messages,
    NewIdentityDecision: identity_decisions,
}
