"""Typed rows that services hand to repositories to write: one dataclass per table, fields named as columns.

A misspelt or missing column is a type error where the row is built, not a database error at run time.
Every field is a column of its table, and every column without a default is a field: `WRITE_ROWS` names
each row's table and a test holds the two to each other. Autoincrement ids are not fields; the database
assigns them (storage/bulk.py hands them back in the rows' order).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table

from bloodcert.storage.tables import (
    audit_log,
    certificates,
    donation_versions,
    donations,
    donors,
    import_runs,
    persons,
    quality_issues,
    signing_keys,
    station_keys,
    stations,
    status_lists,
)


@dataclass(frozen=True, slots=True)
class NewPerson:
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


@dataclass(frozen=True, slots=True)
class NewDonor:
    """A donor as one station reported them."""

    station_id: int
    person_id: int
    merge_hash: bytes
    sex: str | None
    birth_date: date | None
    rhd: str | None
    first_reported_at: datetime
    last_reported_at: datetime


@dataclass(frozen=True, slots=True)
class DonationState:
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


@dataclass(frozen=True, slots=True)
class NewDonationVersion:
    """One version of a donation exactly as the station sent it."""

    donation_id: int
    version: int
    content_hash: bytes
    record: dict[str, Any]
    received_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class NewCertificate:
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


@dataclass(frozen=True, slots=True)
class NewSigningKey:
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


@dataclass(frozen=True, slots=True)
class NewStatusList:
    """A new revocation status list."""

    list_id: str
    bits: bytes
    allocated: bytes
    allocated_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewQualityIssue:
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


@dataclass(frozen=True, slots=True)
class NewImportRun:
    """A bulk import run of one file, before its first chunk."""

    fingerprint: str
    path: str
    station_code: str | None
    started_at: datetime
    lines_done: int = 0
    accepted: int = 0
    rejected: int = 0
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewStation:
    """A blood station to register."""

    code: str
    name: str
    tier: str
    region: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewStationKey:
    """A station's request-signing public key."""

    key_id: str
    station_id: int
    alg: str
    public_key_pem: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
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


def column_values(row: Any) -> dict[str, Any]:
    """A write row as {column: value}, for single-row statements (shallow, unlike dataclasses.asdict)."""
    return {f.name: getattr(row, f.name) for f in fields(row)}


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
}
