"""Ingest: validate, version, merge and certify stations' records, a whole batch at a time.

The batch is planned in memory against state fetched in a handful of queries, then written with bulk
statements. The plan follows the records in order, so a batch gives the same result as sending its records
one by one (the property tests hold it to that).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import msgspec

from bloodcert.certs.payload import CertificateContent
from bloodcert.domain.certno import make_certificate_no
from bloodcert.domain.clock import naive_utc
from bloodcert.domain.donation_rules import Kind, interval_too_short, platelet_donations_in_year_exceeded
from bloodcert.domain.identity import (
    FieldProblem,
    mask_id_number,
    merge_key,
)
from bloodcert.domain.keyed import blind_index, identity_hash_of, name_hash_of
from bloodcert.domain.records import Checked, DonationReport, DonorFacts, RecordWarning, Status, check_record
from bloodcert.services import notices
from bloodcert.services.certificates import CertificateIssuer, Signing, SignStart, pending_of
from bloodcert.storage.contention import lost_a_race
from bloodcert.storage.rows import DonationRow, StationRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import (
    DonationState,
    NewCertificate,
    NewDonationVersion,
    NewDonor,
    NewPerson,
    NewQualityIssue,
)

CERTIFICATE_COUNTER = "certificate"


@dataclass(frozen=True, slots=True)
class Submission:
    """One raw record and the station that sent it."""

    station: StationRow
    raw: object


@dataclass(frozen=True, slots=True)
class Prepared:
    """A record checked, with its blind indexes (merge, identity), computed once per record."""

    check: Checked
    hashes: tuple[bytes, bytes] | None


def prepare(raw: object, *, index_key: bytes, now: datetime) -> Prepared:
    """Check one raw record and compute its blind indexes."""
    check = check_record(raw, now=now)
    return Prepared(check, _hashes(index_key, check.report) if check.report else None)


@dataclass(slots=True)
class RecordResult:
    """What happened to one record, as the station API reports it."""

    donation_no: str | None
    outcome: str  # created | updated | unchanged | rejected
    certificate_no: str | None = None
    errors: list[FieldProblem] = field(default_factory=list)
    warnings: list[RecordWarning] = field(default_factory=list)


# Slots stand for rows that may not exist yet; ids are filled in when the batch is written.
@dataclass(eq=False, slots=True)
class _PersonSlot:
    id: int | None
    row: NewPerson | None = None
    history: list[tuple[object, str, date]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _DonorDraft:
    """A donor the batch reports for the first time; written once its person has an id."""

    station_id: int
    person: _PersonSlot
    merge_hash: bytes
    facts: DonorFacts


@dataclass(eq=False, slots=True)
class _DonorSlot:
    id: int | None
    draft: _DonorDraft | None = None


@dataclass(eq=False, slots=True)
class _CertSlot:
    donation: _DonationSlot
    person: _PersonSlot
    version: int
    station: StationRow
    report: DonationReport
    status: str = "active"
    number: str | None = None


@dataclass(eq=False, slots=True)
class _DonationSlot:
    id: int | None
    station_id: int
    donation_no: str
    version: int
    content_hash: bytes
    status: str
    person: _PersonSlot | None
    certificate: _CertSlot | None = None
    known_certificate_no: str | None = None
    accepted: DonationReport | None = None  # the report whose state to write, when the batch changed it
    donor: _DonorSlot | None = None


@dataclass(slots=True)
class _Plan:
    index_key: bytes
    now: datetime
    source: str
    persons_by_merge: dict[bytes, _PersonSlot] = field(default_factory=dict)
    persons_by_identity: dict[bytes, list[_PersonSlot]] = field(default_factory=dict)
    donors: dict[tuple[int, bytes], _DonorSlot] = field(default_factory=dict)
    donations: dict[tuple[int, str], _DonationSlot] = field(default_factory=dict)
    versions: list[tuple[_DonationSlot, DonationReport]] = field(default_factory=list)
    certificates: list[_CertSlot] = field(default_factory=list)
    ended_in_db: dict[int, str] = field(default_factory=dict)
    issues: list[tuple[NewQualityIssue, _DonationSlot | None, _PersonSlot | None, _PersonSlot | None]] = (
        field(default_factory=list)
    )
    results: list[tuple[RecordResult, _CertSlot | None]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)

    @property
    def stamp(self) -> datetime:
        return naive_utc(self.now)


def report_donations(
    uow: UnitOfWork,
    *,
    station: StationRow,
    records: Sequence[object],
    index_key: bytes,
    signing: Signing,
    now: datetime,
    source: str = "api",
) -> list[RecordResult]:
    """Apply one station's batch; every outcome is in the returned list, in order."""
    submissions = [Submission(station, r) for r in records]
    return ingest(uow, submissions, index_key=index_key, signing=signing, now=now, source=source)


def ingest(
    uow: UnitOfWork,
    submissions: Sequence[Submission],
    *,
    index_key: bytes,
    signing: Signing,
    now: datetime,
    source: str,
    sign: SignStart | None = None,
    defer_signing: bool = False,
) -> list[RecordResult]:
    """Apply records from any stations in one transaction; every outcome is in the returned list, in order.

    `sign` signs the batch's certificates elsewhere while the rest is written (CertificateIssuer.start_issue).
    With `defer_signing`, certificates are stored pending, with their number and status entry, for
    `bloodcert certs sign-pending` to sign (services/pending_certificates.py).
    """
    prepared = [prepare(s.raw, index_key=index_key, now=now) for s in submissions]
    # Checking needs no turn; planning and writing hold the batch's identities and donations.
    uow.take_ingest_turn(p.hashes[1] for p in prepared if p.hashes)
    uow.donations.lock_by_keys(
        (s.station.id, p.check.report.donation_no)
        for s, p in zip(submissions, prepared, strict=True)
        if p.check.report
    )
    plan = _Plan(index_key, now, source)
    _prefetch(uow, plan, submissions, prepared)
    for submission, ready in zip(submissions, prepared, strict=True):
        _plan_record(plan, submission, ready)
    _write(uow, plan, signing, sign, defer_signing=defer_signing)
    if source == "api":  # back-filled history is no news; a station reporting today's donations is
        notices.records_arrived(uow, _arrivals(plan), now)
    return [_resolved(result, slot) for result, slot in plan.results]


# How many times a batch runs when it keeps losing races with concurrent writers (storage/contention.py).
RACE_ATTEMPTS = 5
T = TypeVar("T")


def retrying(attempt: Callable[[], T]) -> T:
    """Run `attempt` (one whole transaction) again when it lost a race with another writer: a deadlock,
    or the same new donation inserted by both at once. Rare; the rerun sees the other's committed rows."""
    for n in range(1, RACE_ATTEMPTS + 1):
        try:
            return attempt()
        except Exception as exc:
            if n == RACE_ATTEMPTS or not lost_a_race(exc):
                raise
            time.sleep(random.uniform(0, 0.05 * n))
    raise AssertionError("unreachable")  # pragma: no cover


def _arrivals(plan: _Plan) -> list[notices.Arrival]:
    """The batch's new certificates, for the donors' messages."""
    return [
        notices.Arrival(
            _id(c.person.id),
            _id(c.donation.id),
            c.station.id,
            c.station.name,
            c.number or "",
            c.report.donated_on,
            c.report.kind.value,
        )
        for result, c in plan.results
        if c is not None and c.status == "active" and result.outcome == "created"  # corrections are no news
    ]


def _hashes(index_key: bytes, report: DonationReport) -> tuple[bytes, bytes]:
    donor = report.donor
    return (
        blind_index(index_key, merge_key(donor.id_type, donor.id_number, donor.name, donor.abo)),
        identity_hash_of(index_key, donor.id_type, donor.id_number),
    )


def _prefetch(
    uow: UnitOfWork, plan: _Plan, submissions: Sequence[Submission], prepared: Sequence[Prepared]
) -> None:
    """Load, in a few queries, everything the batch's records refer to."""
    ready = [(s.station.id, p) for s, p in zip(submissions, prepared, strict=True) if p.check.report]
    reports = [(sid, p.check.report) for sid, p in ready if p.check.report]
    hashes = [p.hashes for _, p in ready if p.hashes]
    existing = uow.donations.current_by_keys((sid, r.donation_no) for sid, r in reports)
    by_merge = uow.persons.ids_by_merge_hashes(m for m, _ in hashes)
    by_identity = uow.persons.ids_by_identity_hashes(i for _, i in hashes)
    person_ids = set(by_merge.values()) | {d.person_id for d in existing.values()}
    person_ids |= {pid for ids in by_identity.values() for pid in ids}
    slots = {pid: _PersonSlot(pid) for pid in person_ids}
    for pid, past in uow.donations.valid_of_persons(person_ids).items():
        slots[pid].history = [(p.donation_id, p.kind, p.donated_on) for p in past]
    plan.persons_by_merge = {h: slots[pid] for h, pid in by_merge.items()}
    plan.persons_by_identity = {h: [slots[pid] for pid in ids] for h, ids in by_identity.items()}
    donor_ids = uow.persons.donor_ids((sid, m) for (sid, _), (m, _) in zip(reports, hashes, strict=True))
    plan.donors = {key: _DonorSlot(did) for key, did in donor_ids.items()}
    plan.donations = {key: _existing_slot(row, slots[row.person_id]) for key, row in existing.items()}


def _existing_slot(row: DonationRow, person: _PersonSlot) -> _DonationSlot:
    return _DonationSlot(
        id=row.id,
        station_id=row.station_id,
        donation_no=row.donation_no,
        version=row.version,
        content_hash=row.content_hash,
        status=row.status,
        person=person,
        known_certificate_no=row.certificate_no,
    )


def _plan_record(plan: _Plan, submission: Submission, ready: Prepared) -> None:
    station = submission.station
    check = ready.check
    report = check.report
    if report is None or ready.hashes is None:
        _reject(plan, station, check.donation_no, check.errors, submission.raw)
        return
    current = plan.donations.get((station.id, report.donation_no))
    if current is not None:
        if report.version == current.version:
            if report.content_hash == current.content_hash:
                result = RecordResult(report.donation_no, "unchanged", current.known_certificate_no)
                plan.results.append((result, current.certificate))
                return
            problem = FieldProblem(
                "version", "version_conflict", "this version was already received with other content"
            )
            _reject(plan, station, report.donation_no, [problem], submission.raw)
            return
        if report.version < current.version:
            problem = FieldProblem(
                "version", "stale_version", f"version {current.version} is already recorded"
            )
            _reject(plan, station, report.donation_no, [problem], submission.raw)
            return
    _accept(plan, station, report, check.warnings, current, hashes=ready.hashes)


def _accept(
    plan: _Plan,
    station: StationRow,
    report: DonationReport,
    warnings: list[RecordWarning],
    current: _DonationSlot | None,
    *,
    hashes: tuple[bytes, bytes],
) -> None:
    merge_hash, identity_hash = hashes
    person = _person(plan, report, merge_hash, identity_hash)
    others = [p for p in plan.persons_by_identity[identity_hash] if p is not person]
    donor = _donor(plan, station.id, person, merge_hash, report)
    slot = current or _DonationSlot(None, station.id, report.donation_no, 0, b"", "valid", None)
    warnings = [*warnings, *_interval_warnings(person, slot, report)]
    if others:
        # The same document under another name or ABO type: keep both persons apart for a person to decide.
        warnings.append(
            RecordWarning(
                "identity_conflict",
                "this ID type and number is known with another name or ABO type; kept apart for review",
                "donor",
            )
        )
    if current is not None and current.person is not person and current.person and current.person.id:
        plan.touched.add(current.person.id)  # a correction moved the donation away from this person
    _move_history(slot, person, report)
    _replace_certificate(plan, slot, person, station, report)
    slot.version, slot.content_hash, slot.status = report.version, report.content_hash, report.status.value
    slot.person, slot.donor = person, donor
    slot.accepted = report
    plan.donations[(station.id, report.donation_no)] = slot
    plan.versions.append((slot, report))
    for warning in warnings:
        other = others[0] if warning.code == "identity_conflict" else None
        row = _issue_row(plan, station, report.donation_no, warning, record=None)
        plan.issues.append((row, slot, person, other))
    outcome = "created" if current is None else "updated"
    plan.results.append((RecordResult(report.donation_no, outcome, None, [], warnings), slot.certificate))


def _person(plan: _Plan, report: DonationReport, merge_hash: bytes, identity_hash: bytes) -> _PersonSlot:
    person = plan.persons_by_merge.get(merge_hash)
    if person is None:
        donor = report.donor
        person = _PersonSlot(
            None,
            NewPerson(
                merge_hash=merge_hash,
                identity_hash=identity_hash,
                name_hash=name_hash_of(plan.index_key, donor.name),
                id_type=donor.id_type.value,
                id_number=donor.id_number,
                name=donor.name,
                sex=donor.sex,
                birth_date=donor.birth_date,
                abo=donor.abo,
                rhd=donor.rhd,
                created_at=plan.stamp,
                updated_at=plan.stamp,
            ),
        )
        plan.persons_by_merge[merge_hash] = person
    same_document = plan.persons_by_identity.setdefault(identity_hash, [])
    if person not in same_document:
        same_document.append(person)
    return person


def _donor(
    plan: _Plan, station_id: int, person: _PersonSlot, merge_hash: bytes, report: DonationReport
) -> _DonorSlot:
    key = (station_id, merge_hash)
    donor = plan.donors.get(key)
    if donor is None:
        donor = _DonorSlot(None, _DonorDraft(station_id, person, merge_hash, report.donor))
        plan.donors[key] = donor
    return donor


def _interval_warnings(
    person: _PersonSlot, slot: _DonationSlot, report: DonationReport
) -> list[RecordWarning]:
    if report.status is Status.VOID:
        return []
    own = slot.id if slot.id is not None else slot
    past = [(kind, day) for ref, kind, day in person.history if ref != own]
    day = report.donated_on
    for kind, other_day in past:
        if _too_close(kind, other_day, report.kind, day):
            message = f"{report.kind.value} on {day} is closer to {kind} on {other_day} than GB 18467 allows"
            return [RecordWarning("interval_too_short", message, "donated_at")]
    if report.kind is Kind.PLATELETS:
        dates = [d for k, d in past if k == Kind.PLATELETS.value] + [day]
        if platelet_donations_in_year_exceeded(dates, day.year):
            return [
                RecordWarning(
                    "interval_too_short", "more than 24 platelet donations in one year", "donated_at"
                )
            ]
    return []


def _too_close(kind: str, other_day: date, new_kind: Kind, day: date) -> bool:
    # Back-filled history arrives in any order, so check the interval in whichever direction applies.
    if other_day <= day:
        return interval_too_short(Kind(kind), other_day, new_kind, day)
    return interval_too_short(new_kind, day, Kind(kind), other_day)


def _move_history(slot: _DonationSlot, person: _PersonSlot, report: DonationReport) -> None:
    own = slot.id if slot.id is not None else slot
    if slot.person is not None:
        slot.person.history = [h for h in slot.person.history if h[0] != own]
    if report.status is Status.VALID:
        person.history.append((own, report.kind.value, report.donated_on))


def _replace_certificate(
    plan: _Plan, slot: _DonationSlot, person: _PersonSlot, station: StationRow, report: DonationReport
) -> None:
    """Issue the certificate at once; a correction supersedes the old one and a void revokes it."""
    ending = "revoked" if report.status is Status.VOID else "superseded"
    if slot.certificate is not None:
        slot.certificate.status = ending
    elif slot.id is not None:
        plan.ended_in_db.setdefault(slot.id, ending)
    slot.certificate = None
    slot.known_certificate_no = None
    if report.status is Status.VALID:
        slot.certificate = _CertSlot(slot, person, report.version, station, report)
        plan.certificates.append(slot.certificate)


def _reject(
    plan: _Plan, station: StationRow, donation_no: str | None, errors: list[FieldProblem], raw: object
) -> None:
    record = raw if isinstance(raw, dict) else {"value": raw}
    for i, error in enumerate(errors):
        # The whole record is kept once, with the first error, so a rejection never loses what was sent.
        row = _issue_row(plan, station, donation_no, error, record=record if i == 0 else None)
        plan.issues.append((row, None, None, None))
    plan.results.append((RecordResult(donation_no, "rejected", None, errors, []), None))


def _issue_row(
    plan: _Plan,
    station: StationRow,
    donation_no: str | None,
    problem: FieldProblem | RecordWarning,
    *,
    record: dict[str, Any] | None,
) -> NewQualityIssue:
    """A quality issue: errors are rejections, warnings accepted records (ids are added when written)."""
    return NewQualityIssue(
        station_id=station.id,
        donation_no=donation_no[:64] if donation_no else None,
        severity="error" if isinstance(problem, FieldProblem) else "warning",
        code=problem.code,
        field=problem.field,
        message=problem.message[:300],
        record=record,
        status="open",
        created_at=plan.stamp,
        source=plan.source,
    )


def _write(
    uow: UnitOfWork, plan: _Plan, signing: Signing, sign: SignStart | None, *, defer_signing: bool
) -> None:
    """Write the plan with bulk statements, parents before children; certificates are signed meanwhile
    (or stored pending)."""
    _write_people(uow, plan)
    _number_certificates(uow, plan)
    issuer = CertificateIssuer.open(uow, signing) if plan.certificates or plan.ended_in_db else None
    issuing: Callable[[], Sequence[tuple[CertificateContent, str | None]]] | None = None
    if issuer is not None:
        # The lists of ended certificates are locked (in order) before new entries are taken from a list no
        # other writer holds, so that no two writers ever wait for each other's lists.
        ended: list[tuple[str, int]] = []
        for status in ("superseded", "revoked"):
            ids = [did for did, st in plan.ended_in_db.items() if st == status]
            ended += uow.certificates.end_active(ids, status, plan.stamp)
        issuer.revoke(ended)
        contents = [_content(c) for c in plan.certificates]
        if defer_signing:
            unsigned: list[tuple[CertificateContent, str | None]] = [
                (c, None) for c in issuer.stamp(contents, plan.now)
            ]
            issuing = lambda: unsigned  # noqa: E731
        else:
            issuing = issuer.start_issue(contents, plan.now, sign)
    changed = [s for s in plan.donations.values() if s.accepted is not None]
    fresh = [s for s in changed if s.id is None]
    known = [(s.id, _donation_state(s, plan.stamp)) for s in changed if s.id is not None]
    states = [_donation_state(s, plan.stamp) for s in fresh]
    for slot, did in zip(fresh, uow.donations.insert_many(states), strict=True):
        slot.id = did
    uow.donations.update_many(known)
    uow.donations.add_versions(
        [
            NewDonationVersion(_id(slot.id), r.version, r.content_hash, r.record, plan.stamp, plan.source)
            for slot, r in plan.versions
        ]
    )
    if issuer is not None and issuing is not None:
        _write_certificates(uow, plan, issuer, issuing())
    uow.quality.add_many([_with_ids(row, d, p, o) for row, d, p, o in plan.issues])
    # Donors the stations reported before and again now: note when they were last reported.
    uow.persons.touch_donors(
        {s.donor.id for s in changed if s.donor and s.donor.draft is None and s.donor.id}, plan.stamp
    )
    touched = {s.person.id for s in changed if s.person and s.person.id is not None}
    uow.persons.recompute_totals(touched | plan.touched, plan.stamp)


def _write_people(uow: UnitOfWork, plan: _Plan) -> None:
    new_persons = [p for p in plan.persons_by_merge.values() if p.id is None]
    rows = [p.row for p in new_persons if p.row is not None]
    for person, pid in zip(new_persons, uow.persons.create_many(rows), strict=True):
        person.id = pid
    drafts = [(d, d.draft) for d in plan.donors.values() if d.id is None and d.draft is not None]
    donor_rows = [
        NewDonor(
            station_id=draft.station_id,
            person_id=_id(draft.person.id),
            merge_hash=draft.merge_hash,
            sex=draft.facts.sex,
            birth_date=draft.facts.birth_date,
            rhd=draft.facts.rhd,
            first_reported_at=plan.stamp,
            last_reported_at=plan.stamp,
        )
        for _, draft in drafts
    ]
    for (donor, _), did in zip(drafts, uow.persons.add_donors(donor_rows), strict=True):
        donor.id = did


def _write_certificates(
    uow: UnitOfWork,
    plan: _Plan,
    issuer: CertificateIssuer,
    issued: Sequence[tuple[CertificateContent, str | None]],
) -> None:
    """Store every new certificate (signed, or pending when its text is None) and set the revocation bits
    of those the batch itself ended, in this transaction."""
    ended: list[tuple[str, int]] = []
    rows = []
    for cert, (content, qr) in zip(plan.certificates, issued, strict=True):
        if cert.status != "active":
            ended.append(content.status_list)
        rows.append(
            NewCertificate(
                certificate_no=content.certificate_no,
                donation_id=_id(cert.donation.id),
                donation_version=cert.version,
                person_id=_id(cert.person.id),
                status=cert.status,
                issued_at=plan.stamp,
                status_changed_at=None if cert.status == "active" else plan.stamp,
                kid=issuer.key.kid if qr is not None else None,
                status_list_id=content.status_list[0],
                status_index=content.status_list[1],
                qr=qr,
                pending=pending_of(content) if qr is None else None,
            )
        )
    uow.certificates.issue_many(rows)
    issuer.revoke(ended)
    issuer.flush(plan.now)


def _content(cert: _CertSlot) -> CertificateContent:
    report, donor = cert.report, cert.report.donor
    assert cert.number is not None
    return CertificateContent(
        certificate_no=cert.number,
        donation_no=report.donation_no,
        station_code=cert.station.code,
        station_name=cert.station.name,
        donated_on=report.donated_on,
        kind=report.kind.value,
        volume_ml=report.volume_ml,
        units=report.units,
        holder_name=donor.name,
        id_number_masked=mask_id_number(donor.id_number),
        abo=donor.abo,
        rhd=donor.rhd,
        status_list=("", 0),
    )


def _number_certificates(uow: UnitOfWork, plan: _Plan) -> None:
    if not plan.certificates:
        return
    first = uow.donations.allocate_serials(CERTIFICATE_COUNTER, len(plan.certificates))
    for offset, cert in enumerate(plan.certificates):
        # The year is the donation's (a 2025 donation reads 2025…); the serial alone makes it unique.
        cert.number = make_certificate_no(cert.report.donated_on.year, first + offset)


def _id(value: int | None) -> int:
    """The id of a row the batch has written by now (parents are written before their children)."""
    assert value is not None
    return value


def _donation_state(slot: _DonationSlot, stamp: datetime) -> DonationState:
    report = slot.accepted
    assert report is not None
    assert slot.person is not None
    assert slot.donor is not None
    offset = report.donated_at.utcoffset()
    return DonationState(
        station_id=slot.station_id,
        donation_no=slot.donation_no,
        version=report.version,
        status=report.status.value,
        person_id=_id(slot.person.id),
        donor_id=_id(slot.donor.id),
        donated_at=naive_utc(report.donated_at),
        donated_on=report.donated_on,
        utc_offset_min=int(offset.total_seconds() // 60) if offset is not None else 0,
        kind=report.kind.value,
        volume_ml=report.volume_ml,
        units=report.units,
        site_name=report.site_name,
        site_type=report.site_type,
        site_region=report.site_region,
        test_result=report.test_result,
        certificate_no=slot.certificate.number if slot.certificate else None,
        updated_at=stamp,
    )


def _with_ids(
    row: NewQualityIssue,
    donation: _DonationSlot | None,
    person: _PersonSlot | None,
    other: _PersonSlot | None,
) -> NewQualityIssue:
    """The issue with the ids of what it concerns, now that the batch has written them."""
    if donation is None and person is None and other is None:
        return row
    return msgspec.structs.replace(
        row,
        donation_id=donation.id if donation else None,
        person_id=person.id if person else None,
        other_person_id=other.id if other else None,
    )


def _resolved(result: RecordResult, certificate: _CertSlot | None) -> RecordResult:
    if certificate is not None:
        result.certificate_no = certificate.number
    return result
