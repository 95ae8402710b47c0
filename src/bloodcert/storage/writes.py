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
    callup_recipients,
    callups,
    certificates,
    claim_events,
    claim_files,
    claim_shares,
    claims,
    correction_messages,
    corrections,
    donation_versions,
    donations,
    donors,
    health_checks,
    identity_decisions,
    import_runs,
    notification_deliveries,
    notifications,
    persons,
    quality_issues,
    relatives,
    signing_keys,
    station_keys,
    stations,
    status_lists,
    supply_levels,
    survey_invitations,
    waiver_ledger,
    waivers,
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
    """A certificate: signed (`qr` is its `BC1:` text, `kid` the key's id), or pending, with the content
    to sign in `pending` and neither `qr` nor `kid`."""

    certificate_no: str
    donation_id: int
    donation_version: int
    person_id: int
    status: str
    issued_at: datetime
    status_changed_at: datetime | None
    kid: bytes | None
    status_list_id: str
    status_index: int
    qr: str | None
    pending: dict[str, Any] | None = None


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


class NewWaiver(msgspec.Struct, frozen=True):
    """A waiver to record; the patient's ID number and name are encrypted by the table's column types."""

    waiver_id: str
    hospital_id: int
    invoice_no: str
    request_hash: bytes
    person_id: int
    relationship: str
    proof: str
    patient_id_type: str
    patient_id_number: str
    patient_name: str
    patient_identity_hash: bytes
    transfused_on: date
    billed_fen: int
    waived_fen: int
    waived_ml: int
    unlimited: bool
    created_at: datetime
    reversed_at: datetime | None = None


class LedgerEntry(msgspec.Struct, frozen=True):
    """One append-only line of the waiver ledger: a draw, or a reversal with negated amounts.

    `waiver_id` is a hospital waiver's row id (the column's name), not its public `wv_…` id; a line of an
    approved online claim's share has None there and the share's row id in `claim_share_id`.
    """

    waiver_id: int | None
    person_id: int
    jurisdiction: str
    pool: str
    rule_id: str
    station_id: int
    entry: str
    ml: int
    fen: int
    unlimited: bool
    remaining_before_ml: int | None
    remaining_before_fen: int | None
    created_at: datetime
    claim_share_id: int | None = None


class NewHealthCheck(msgspec.Struct, frozen=True):
    """A donor's answers to the health questions (encrypted by their column types) and what they mean."""

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


class NewNotification(msgspec.Struct, frozen=True):
    """An inbox entry for one event and person."""

    person_id: int
    topic: str
    event: str
    dedup_key: str
    params: dict[str, str]
    link: str | None
    created_at: datetime
    read_at: datetime | None = None


class NewDelivery(msgspec.Struct, frozen=True):
    """A message queued for one provider channel."""

    notification_id: int
    person_id: int
    channel: str
    next_attempt_at: datetime
    updated_at: datetime
    status: str = "queued"
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None
    provider_ref: str | None = None


class NewSupplyLevel(msgspec.Struct, frozen=True):
    """A station's report of its stock of one ABO/RhD type."""

    station_id: int
    abo: str
    rhd: str
    level: str
    reported_at: datetime
    reported_by: str


class NewCallup(msgspec.Struct, frozen=True):
    """A call-up a low level set off, with how many donors it reached."""

    station_id: int
    abo: str
    rhd: str
    level: str
    area: str
    reached: int
    created_at: datetime


class NewCallupRecipient(msgspec.Struct, frozen=True):
    """A donor a call-up reached."""

    callup_id: int
    person_id: int
    sent_at: datetime


class NewSurveyInvitation(msgspec.Struct, frozen=True):
    """A single-use survey link for one donation (only the token's hash is kept)."""

    token_hash: bytes
    donation_id: int
    person_id: int
    station_id: int
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None = None
    score: int | None = None
    comment: str | None = None


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


class NewRelative(msgspec.Struct, frozen=True):
    """A relative a donor registers; ID number, name and message are encrypted by the column types."""

    public_id: str
    person_id: int
    station_id: int
    relationship: str
    id_type: str
    id_number: str
    name: str
    identity_hash: bytes
    status: str
    created_at: datetime
    message: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    removed_at: datetime | None = None


class NewClaim(msgspec.Struct, frozen=True):
    """An online claim as filed."""

    public_id: str
    person_id: int
    relative_id: int | None
    relationship: str
    hospital_id: int | None
    hospital_name: str
    hospital_region: str
    invoice_no: str
    invoice_key: str
    transfused_on: date
    items: str
    billed_fen: int
    status: str
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    escalated_at: datetime | None = None
    decided_at: datetime | None = None


class NewClaimShare(msgspec.Struct, frozen=True):
    """One paying station's share of a claim, with its planned draws (JSON)."""

    claim_id: int
    station_id: int
    province: str
    plan: str
    planned_ml: int
    planned_fen: int
    status: str
    approved_ml: int | None = None
    approved_fen: int | None = None
    payout_reference: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None


class NewClaimFile(msgspec.Struct, frozen=True):
    """An uploaded document, stored encrypted; reached only through its random token."""

    token: str
    person_id: int
    claim_id: int | None
    relative_id: int | None
    kind: str
    media_type: str
    size: int
    sha256: bytes
    content: bytes
    created_at: datetime


class NewClaimEvent(msgspec.Struct, frozen=True):
    """A line of a claim's timeline."""

    claim_id: int
    share_id: int | None
    actor: str
    kind: str
    message: str | None
    created_at: datetime


WRITE_ROWS: dict[type[Any], Table] = {
    NewRelative: relatives,
    NewClaim: claims,
    NewClaimShare: claim_shares,
    NewClaimFile: claim_files,
    NewClaimEvent: claim_events,
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
    NewWaiver: waivers,
    LedgerEntry: waiver_ledger,
    NewHealthCheck: health_checks,
    NewNotification: notifications,
    NewDelivery: notification_deliveries,
    NewSupplyLevel: supply_levels,
    NewCallup: callups,
    NewCallupRecipient: callup_recipients,
    NewSurveyInvitation: survey_invitations,
    NewCorrection: corrections,
    NewCorrectionMessage: correction_messages,
    NewIdentityDecision: identity_decisions,
}
