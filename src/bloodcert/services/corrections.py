"""Donors' correction and back-fill requests (纠错与补录): filing, routing, the station's answers, the donor's
replies and escalation past the due time (domain/corrections.py has the states and rules).

Every step appends to the request's conversation and to the audit log, in the step's transaction.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bloodcert.domain import deadlines
from bloodcert.domain.clock import BEIJING, naive_utc
from bloodcert.domain.corrections import (
    ANSWERABLE,
    FINAL,
    Answer,
    Draft,
    Kind,
    Status,
    after_answer,
    after_reply,
    check_draft,
    check_photo,
    parse_answer,
)
from bloodcert.domain.identity import mask_id_number
from bloodcert.domain.staff import Role, StaffPrincipal, reaches_province, require_role
from bloodcert.errors import Conflict, NotFound, ProblemField, ValidationFailed
from bloodcert.services import audit, notices
from bloodcert.services.audit import AuditEvent
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.storage.rows import CorrectionMessageRow, CorrectionRow, StationRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewCorrection, NewCorrectionMessage

LISTED = 200
SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on a request, for its conversation and the audit log."""

    author: str  # donor | station | staff | system
    name: str  # donor:session:1, station:33000001, staff:ada
    client: str | None
    audit_key: bytes


@dataclass(frozen=True, slots=True)
class Holder:
    """Who filed a request, as its station sees them: the ID number masked."""

    name: str
    id_type: str
    id_number_masked: str
    abo: str


@dataclass(frozen=True, slots=True)
class Request:
    """A request with its conversation (and, for stations and administrators, who filed it)."""

    row: CorrectionRow
    messages: list[CorrectionMessageRow]
    holder: Holder | None = None


# ---- escalation ------------------------------------------------------------------------------------------


def escalate_overdue(uow: UnitOfWork, now: datetime, audit_key: bytes) -> int:
    """Escalate every open request past its due time to the province's administrators; how many were."""
    stamp = naive_utc(now)
    done = uow.corrections.escalate(uow.corrections.overdue(stamp), stamp)
    for cid in done:
        text = "past due: escalated to the province's administrators / 已逾期，转省级管理员督办"
        uow.corrections.add_message(NewCorrectionMessage(cid, "system", SYSTEM, "escalated", text, stamp))
    if done:
        events = [(AuditEvent(SYSTEM, "correction.escalate", f"request {cid}"), now) for cid in done]
        audit.append_many(uow, audit_key, events)
    return len(done)


# ---- the donor -------------------------------------------------------------------------------------------


def file_request(
    uow: UnitOfWork,
    principal: DonorPrincipal,
    body: dict[str, object],
    *,
    actor: Actor,
    now: datetime,
    due_days: int,
) -> CorrectionRow:
    """File a request: check it, route it to its station, set its due time, audit it."""
    if not principal.person_ids:
        raise Conflict("there is no donation record under your identity yet", slug="no_donor_record")
    draft = check_draft(
        kind=str(body.get("kind", "")),
        message=body.get("message"),
        donation_no=body.get("donation_no"),
        field=body.get("field"),
        proposed=body.get("proposed"),
        station_code=body.get("station_code"),
        region=body.get("region"),
        donated_on=body.get("donated_on"),
        site=body.get("site"),
        volume_ml=body.get("volume_ml"),
        today=now.astimezone(BEIJING).date(),
    )
    photo = check_photo(body.get("photo"))
    person_id, donation_id, station = _route(uow, principal, draft)
    stamp = naive_utc(now)
    site = draft.site
    if draft.volume_ml is not None:
        site = f"{site or ''} ({draft.volume_ml} ml)".strip()[:100]
    cid = uow.corrections.add(
        NewCorrection(
            person_id=person_id,
            station_id=station.id,
            province=station.region[:2],
            kind=draft.kind.value,
            donation_id=donation_id,
            field=draft.field,
            proposed=draft.proposed,
            donated_on=draft.donated_on,
            site=site,
            status=Status.OPEN.value,
            due_at=deadlines.due_at(stamp, due_days),
            created_at=stamp,
            updated_at=stamp,
            photo=photo[1] if photo else None,
            photo_type=photo[0] if photo else None,
        )
    )
    _say(uow, cid, actor, "filed", draft.message, stamp)
    _audit(uow, actor, "correction.file", f"request {cid} to {station.code}", now)
    row = uow.corrections.get(cid)
    assert row is not None
    return row


def _route(uow: UnitOfWork, principal: DonorPrincipal, draft: Draft) -> tuple[int, int | None, StationRow]:
    """The person, donation and station a request concerns and goes to."""
    if draft.kind is Kind.WRONG_RECORD:
        assert draft.donation_no is not None
        mine = [
            d
            for d in uow.history.donations_of_persons(principal.person_ids)
            if d.donation_no == draft.donation_no
            and (draft.station_code is None or d.station_code == draft.station_code)
        ]
        if not mine:
            raise ValidationFailed(
                "you have no donation with this number",
                errors=[
                    ProblemField("donation_no", "unknown_donation", "none of your donations has this number")
                ],
            )
        found = mine[0]
        station = uow.stations.get_by_code(found.station_code)
        assert station is not None
        return found.person_id, found.donation_id, station
    person_id = principal.person_ids[0]
    if draft.station_code:
        named = uow.stations.get_by_code(draft.station_code)
        if named is None:
            raise ValidationFailed(
                "no station with this code",
                errors=[ProblemField("station_code", "unknown_station", "no station with this code")],
            )
        return person_id, None, named
    assert draft.region is not None
    centre_id = uow.corrections.blood_centre_of(draft.region[:2])
    centre = uow.stations.get_by_id(centre_id) if centre_id is not None else None
    if centre is None:
        raise ValidationFailed(
            "no station serves this region",
            errors=[ProblemField("region", "unknown_region", "no station is registered in this province")],
        )
    return person_id, None, centre


def my_requests(uow: UnitOfWork, principal: DonorPrincipal) -> list[Request]:
    """The donor's requests, newest first, each with its conversation."""
    return _with_messages(uow, uow.corrections.of_persons(principal.person_ids))


def reply(
    uow: UnitOfWork,
    principal: DonorPrincipal,
    correction_id: int,
    message: str,
    *,
    actor: Actor,
    now: datetime,
) -> CorrectionRow:
    """The donor answers a station's question; the request is open again."""
    row = uow.corrections.get(correction_id)
    if row is None or row.person_id not in principal.person_ids:
        raise NotFound("no such request")
    text = " ".join(message.split())
    if not text or len(text) > 1000:
        raise ValidationFailed(
            "the answer is empty or too long",
            errors=[ProblemField("message", "invalid_value", "1–1000 characters")],
        )
    status = after_reply(Status(row.status))
    stamp = naive_utc(now)
    if not uow.corrections.set_status(row.id, expected=[row.status], status=status.value, now=stamp):
        raise Conflict("the request changed meanwhile; reload it")
    _say(uow, row.id, actor, "reply", text, stamp)
    _audit(uow, actor, "correction.reply", f"request {row.id}", now)
    return _reloaded(uow, row.id)


# ---- stations and administrators --------------------------------------------------------------------------


def check_status(status: str | None) -> str | None:
    """A status filter: one of the request states, or None for all."""
    if status is not None and status not in {s.value for s in Status}:
        raise ValidationFailed(
            "unknown status",
            errors=[
                ProblemField("status", "invalid_value", "open, need_info, resolved, rejected or escalated")
            ],
        )
    return status


def of_station(uow: UnitOfWork, station_id: int, status: str | None) -> list[Request]:
    """A station's requests (of one status if given), oldest due first, with conversations and holders."""
    rows = uow.corrections.of_station(station_id, check_status(status), limit=LISTED)
    return _with_holders(uow, _with_messages(uow, rows))


def of_province(uow: UnitOfWork, province: str | None, status: str | None) -> list[Request]:
    """Requests of a province (all when None), of one status if given, with conversations and holders."""
    rows = uow.corrections.of_province(province, check_status(status), limit=LISTED)
    return _with_holders(uow, _with_messages(uow, rows))


def _with_holders(uow: UnitOfWork, requests: list[Request]) -> list[Request]:
    people = {}
    for pid in {r.row.person_id for r in requests}:
        person = uow.persons.get(pid)
        if person is not None:
            people[pid] = Holder(person.name, person.id_type, mask_id_number(person.id_number), person.abo)
    return [Request(r.row, r.messages, people.get(r.row.person_id)) for r in requests]


def answer(
    uow: UnitOfWork,
    row: CorrectionRow,
    *,
    action: str,
    message: str,
    donation_no: str | None,
    actor: Actor,
    now: datetime,
) -> CorrectionRow:
    """Answer a request (its station, or an administrator who reaches it): resolved, naming the donation
    the station reported or corrected (its own, this donor's, changed since the request); rejected; asked.
    """
    parsed, text, number = parse_answer(action, message, donation_no)
    status = after_answer(Status(row.status), parsed)
    stamp = naive_utc(now)
    resolved_id = _resolution(uow, row, number) if parsed is Answer.RESOLVED else None
    changed = uow.corrections.set_status(
        row.id,
        expected=[s.value for s in ANSWERABLE],
        status=status.value,
        now=stamp,
        resolved_donation_id=resolved_id,
        closed=status in FINAL,
    )
    if not changed:
        raise Conflict("the request changed meanwhile; reload it")
    _say(uow, row.id, actor, parsed.value, text, stamp)
    _audit(uow, actor, f"correction.{parsed.value}", f"request {row.id}", now)
    what = "backfill" if row.kind == Kind.MISSING_DONATION else "correction"
    notices.request_answered(
        uow,
        row.person_id,
        what=what,
        reference=str(row.id),
        status=status.value,
        link="/me/corrections",
        now=now,
    )
    return _reloaded(uow, row.id)


def _resolution(uow: UnitOfWork, row: CorrectionRow, donation_no: str | None) -> int:
    assert donation_no is not None
    found = uow.corrections.donation_of_station(row.station_id, donation_no)
    refused = ValidationFailed(
        "the donation named is not one this station reported or corrected for this donor",
        slug="resolution_refused",
        errors=[
            ProblemField(
                "donation_no",
                "not_reported_here",
                "name a donation of this station, for this donor, reported or corrected since the request",
            )
        ],
    )
    if found is None:
        raise refused
    donation_id, identity, changed_at = found
    if donation_id == row.donation_id:
        return donation_id  # the record the donor pointed at, corrected (or re-examined) by its station
    if identity != uow.corrections.identity_hash_of(row.person_id) or changed_at < row.created_at:
        raise refused
    return donation_id


def station_request(uow: UnitOfWork, station_id: int, correction_id: int) -> CorrectionRow:
    """One of a station's requests; another station's is not found."""
    row = uow.corrections.get(correction_id)
    if row is None or row.station_id != station_id:
        raise NotFound("this station has no such request")
    return row


# ---- helpers ---------------------------------------------------------------------------------------------


def _with_messages(uow: UnitOfWork, rows: Sequence[CorrectionRow]) -> list[Request]:
    messages = uow.corrections.messages_of(r.id for r in rows)
    return [Request(r, messages[r.id]) for r in rows]


def _reloaded(uow: UnitOfWork, correction_id: int) -> CorrectionRow:
    row = uow.corrections.get(correction_id)
    assert row is not None
    return row


def _say(uow: UnitOfWork, cid: int, actor: Actor, action: str, text: str, stamp: datetime) -> None:  # noqa: PLR0917
    uow.corrections.add_message(NewCorrectionMessage(cid, actor.author, actor.name, action, text, stamp))


def _audit(uow: UnitOfWork, actor: Actor, action: str, obj: str, now: datetime) -> None:
    audit.append(uow, actor.audit_key, AuditEvent(actor.name, action, obj, actor.client), now)


# ---- the console -----------------------------------------------------------------------------------------

CONSOLE_ROLES = (Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR)


def console_requests(uow: UnitOfWork, principal: StaffPrincipal, status: str | None) -> list[Request]:
    """The requests the caller reaches: every one (national), the province's, or the own station's."""
    require_role(principal, CONSOLE_ROLES)
    if principal.role is Role.STATION_OPERATOR:
        assert principal.station_id is not None
        return of_station(uow, principal.station_id, status)
    province = principal.province if principal.role is Role.PROVINCIAL_ADMIN else None
    return of_province(uow, province, status)


def console_answer(
    uow: UnitOfWork,
    principal: StaffPrincipal,
    correction_id: int,
    *,
    action: str,
    message: str,
    donation_no: str | None,
    client: str,
    audit_key: bytes,
    now: datetime,
) -> CorrectionRow:
    """Answer a request from the console: an operator for their station, an administrator within reach."""
    require_role(principal, CONSOLE_ROLES)
    row = uow.corrections.get(correction_id)
    if row is None or not _reaches(principal, row):
        raise NotFound("no such request")
    author = "station" if principal.role is Role.STATION_OPERATOR else "staff"
    actor = Actor(author, principal.actor, client, audit_key)
    return answer(uow, row, action=action, message=message, donation_no=donation_no, actor=actor, now=now)


def _reaches(principal: StaffPrincipal, row: CorrectionRow) -> bool:
    if principal.role is Role.STATION_OPERATOR:
        return principal.station_id == row.station_id
    return reaches_province(principal, row.province)


def photo(uow: UnitOfWork, row: CorrectionRow) -> tuple[str, bytes]:
    """The request's photo as (media type, bytes); NotFound without one."""
    found = uow.corrections.photo_of(row.id)
    if found is None:
        raise NotFound("this request has no photo")
    return found[0], base64.b64decode(found[1])


def console_request(uow: UnitOfWork, principal: StaffPrincipal, correction_id: int) -> CorrectionRow:
    """One request the console user reaches."""
    require_role(principal, CONSOLE_ROLES)
    row = uow.corrections.get(correction_id)
    if row is None or not _reaches(principal, row):
        raise NotFound("no such request")
    return row
