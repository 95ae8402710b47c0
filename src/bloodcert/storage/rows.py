"""Plain records that repositories hand to services, so that no SQLAlchemy type leaks out of storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class StationRow:
    id: int
    code: str
    name: str
    tier: str
    region: str


@dataclass(frozen=True, slots=True)
class StationKeyRow:
    key_id: str
    station_id: int
    station_code: str
    alg: str
    public_key_pem: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    id_type: str
    id_number: str
    name: str
    sex: str | None
    birth_date: date | None
    abo: str
    rhd: str | None
    donation_count: int
    whole_blood_ml: int
    platelet_units: int
    plasma_ml: int
    first_at: datetime | None
    last_at: datetime | None


@dataclass(frozen=True, slots=True)
class DonationRow:
    id: int
    station_id: int
    donation_no: str
    version: int
    status: str
    person_id: int
    donor_id: int
    kind: str
    donated_on: date
    certificate_no: str | None
    content_hash: bytes


@dataclass(frozen=True, slots=True)
class PastDonation:
    """What the interval rules need to know of an earlier donation."""

    donation_id: int
    kind: str
    donated_on: date


@dataclass(frozen=True, slots=True)
class QualityIssueRow:
    id: int
    donation_no: str | None
    severity: str
    code: str
    field: str | None
    message: str
    created_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class ImportRunRow:
    id: int
    fingerprint: str
    lines_done: int
    accepted: int
    rejected: int
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class SigningKeyRow:
    kid: bytes
    role: str
    alg: str
    public_key_pem: str
    not_before: datetime
    not_after: datetime
    status: str


@dataclass(slots=True)
class StatusListRow:
    list_id: str
    bits: bytearray
    allocated: bytearray
    allocated_count: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CertificateRow:
    certificate_no: str
    donation_id: int
    person_id: int
    status: str
    issued_at: datetime
    status_list_id: str
    status_index: int
    qr: str


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    identity_hash: bytes
    name_hash: bytes
    method: str
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One donation as the donor's history shows it."""

    donation_id: int
    person_id: int
    certificate_no: str | None
    donation_no: str
    donated_at: datetime  # UTC
    utc_offset_min: int
    kind: str
    volume_ml: int | None
    units: int | None
    station_code: str
    station_name: str
    site_name: str
    site_type: str
    site_region: str
    test_result: str


@dataclass(frozen=True, slots=True)
class StaffUserRow:
    """A console account; `totp_secret` is decrypted on the way out of the database."""

    id: int
    username: str
    role: str
    station_id: int | None
    station_code: str | None
    password_hash: str
    totp_secret: str
    last_totp_step: int | None
    failed_count: int
    last_failure_at: datetime | None
    locked_until: datetime | None
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class StaffSessionRow:
    id: int
    user_id: int
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class StationCounts:
    """A station's active keys and open data-quality issues, for the console's station list."""

    active_keys: int
    open_issues: int


@dataclass(frozen=True, slots=True)
class ReportedVersion:
    """When a donation version arrived, and when the donation itself took place (both UTC)."""

    received_at: datetime
    donated_at: datetime


@dataclass(frozen=True, slots=True)
class HonourDecisionRow:
    """A station's decision on a commendation candidate (confirmed | rejected)."""

    person_id: int
    cycle: str
    award: str
    status: str
    reason: str | None
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class HonourDonationRow:
    """A valid donation as the commendation counts it, with the station it was made at."""

    person_id: int
    donated_on: date
    kind: str
    volume_ml: int | None
    units: int | None
    site_region: str
    station_code: str
    station_name: str


@dataclass(frozen=True, slots=True)
class HonourCardRow:
    """The honour card in force for a person; a re-issue replaces the serial."""

    person_id: int
    serial: str
    issued_at: datetime
    expires_at: datetime
