"""Plain records that repositories hand to services, so that no SQLAlchemy type leaks out of storage.

The rows of the donor's hot reads are frozen msgspec Structs: built in C, several times cheaper than a
frozen dataclass, and a history read builds one per donation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec


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


class PersonRow(msgspec.Struct, frozen=True):
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
class ClosedIssueRow:
    """A closed data-quality issue: how (fixed | accepted), why, by whom and when."""

    id: int
    donation_no: str | None
    code: str
    status: str
    close_note: str | None
    closed_by: str | None
    closed_at: datetime | None
    created_at: datetime


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
    qr: str | None  # None while the certificate is pending signature


@dataclass(frozen=True, slots=True)
class PendingCertificate:
    """A certificate stored unsigned: its row id and the content to sign (CertificateContent's fields)."""

    id: int
    content: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A donor session. `person_id` is the one person a donation-number login reached; None for a
    real-name platform login, which reaches every person under the verified ID + name."""

    id: int
    identity_hash: bytes
    name_hash: bytes
    method: str
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    person_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewDonorSession:
    """A donor session to store: only the hash of its token is kept."""

    token_hash: bytes
    identity_hash: bytes
    name_hash: bytes
    person_id: int | None
    method: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewStaffSession:
    """A console session to store: only the hash of its token is kept."""

    token_hash: bytes
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewStaffUser:
    """A console account to store; the TOTP secret is encrypted on the way in."""

    username: str
    role: str
    station_id: int | None
    password_hash: str
    totp_secret: str
    created_at: datetime
    province: str | None = None


@dataclass(frozen=True, slots=True)
class NewCaptcha:
    """A captcha's answer (keyed hash) and the client it was drawn for (keyed hash of the address)."""

    captcha_id: str
    answer_hash: bytes
    client_hash: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OAuthStateRow:
    """A started platform login: its `state` and the browser that started it, both stored as hashes."""

    state_hash: bytes
    provider: str
    code_verifier: str | None
    redirect_to: str
    browser_hash: bytes | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ProviderAccountRow:
    """A real-name platform account and the verified ID + name (keyed hashes) it is linked to."""

    provider: str
    subject: str
    identity_hash: bytes | None
    name_hash: bytes | None
    created_at: datetime
    verified_at: datetime | None


class HistoryRow(msgspec.Struct, frozen=True):
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
    province: str | None = None


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


class OwnedCertificate(msgspec.Struct, frozen=True):
    """A donor's certificate as stored: its `BC1:` text (None while it is pending signature), status and
    donation."""

    qr: str | None
    status: str
    donation_id: int


class CertificateStanding(msgspec.Struct, frozen=True):
    """What online verification checks in the database: the signing key's row and the certificate's
    status (None when no certificate holds that number at that status entry)."""

    key_status: str
    not_before: datetime
    not_after: datetime
    certificate_status: str | None


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The audit chain's two ends: the last entry, and the last pruned one where checks start."""

    last_id: int
    last_hash: bytes
    base_id: int
    base_hash: bytes


@dataclass(frozen=True, slots=True)
class IdentitySample:
    """One merged person's decrypted name and ID number beside their blind indexes: what shows whether the
    configured data and index keys are the ones the database was written with."""

    id_type: str
    id_number: str
    name: str
    identity_hash: bytes
    name_hash: bytes


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


@dataclass(frozen=True, slots=True)
class HealthCheckRow:
    """A stored health check, its answers decrypted."""

    id: int
    person_id: int
    site_id: int
    appointment_id: int | None
    day: date
    kind: str
    questionnaire: str
    answers: dict[str, bool]
    outcome: str
    come_back_on: date | None
    pass_serial: str | None
    pass_expires_at: datetime | None
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class StationHealthCheckRow:
    """A health check as the site's station sees it: who answered (for the desk) and for which slot."""

    check: HealthCheckRow
    name: str
    id_number: str
    starts_at: str | None  # the booked slot, None for a walk-in
    appointment_status: str | None


@dataclass(frozen=True, slots=True)
class CorrectionRow:
    """A donor's request as stations, administrators and the donor see it."""

    id: int
    person_id: int
    station_id: int
    station_code: str
    station_name: str
    province: str
    kind: str
    donation_id: int | None
    donation_no: str | None
    field: str | None
    proposed: str | None
    donated_on: date | None
    site: str | None
    status: str
    due_at: datetime
    escalated_at: datetime | None
    resolved_donation_id: int | None
    resolved_donation_no: str | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    photo_type: str | None = None


@dataclass(frozen=True, slots=True)
class CorrectionMessageRow:
    """One entry of a request's conversation."""

    id: int
    correction_id: int
    author: str
    actor: str
    action: str
    message: str
    created_at: datetime
