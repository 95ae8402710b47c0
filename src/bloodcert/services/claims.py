"""Online claims (线上申请, 异地报销): for when the hospital did not waive the fee at the counter.

A claim is quoted and planned with the hospital path's own code (services/waivers.py `evaluate`), split
into one share per station whose pools it would draw on, and each station reviews its share. Approval
appends the share's draws to the same append-only waiver ledger as a hospital waiver, so a pool never
gives twice, whichever way the bill came. The invoice itself is held by the first path that takes it: a
claim names it by the registered hospital and invoice number (or, for a hospital the platform does not
know, by region and written name), and the hospital path refuses an invoice a claim holds, and the
other way round; both take the same invoice lock (storage/repositories/waivers.py `lock_invoice`).

Planned draws are capped at approval by what the pool still holds (other waivers may have drawn on it
since the claim was filed): a share never pays more than planned, nor more than is left.

Each claim is due a configurable number of working days after it is filed (the holiday calendar skips
public holidays, domain/workdays.py); an open claim past its due date is overdue to the donor and in
the console, and `escalate_overdue` (run by `bloodcert claims escalate`, from cron) records its
escalation to the administrators of the provinces whose stations have not decided.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from bloodcert.domain.claims import (
    DECIDED,
    FINAL_SHARES,
    MAX_MESSAGE,
    MAX_PAYOUT_REFERENCE,
    Decision,
    capped,
    claim_status,
    hospital_invoice_key,
    is_open,
    named_invoice_key,
    overdue,
    shares_of,
)
from bloodcert.domain.clock import BEIJING, beijing_midnight_utc, naive_utc
from bloodcert.domain.regions import is_known_region
from bloodcert.domain.staff import Role, StaffPrincipal, require_role, require_station
from bloodcert.domain.waivers import Draw, Item, Pool, Reason, RuleBook
from bloodcert.domain.workdays import HolidayCalendar, builtin_calendar, parse_calendar
from bloodcert.errors import Conflict, NotFound, ProblemField, ValidationFailed
from bloodcert.services import notices, uploads, waivers
from bloodcert.services.relatives import Actor
from bloodcert.storage.repositories.claims import ClaimRow, ClaimVolume, EventRow, FileMeta, ShareRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewClaim, NewClaimEvent, NewClaimShare

MAX_HOSPITAL_NAME = 100


@cache
def calendar_from(path: Path | None) -> HolidayCalendar:
    """The holiday calendar an operator configured (BLOODCERT_HOLIDAY_CALENDAR), or the shipped one."""
    if path is None:
        return builtin_calendar()
    return parse_calendar(str(path), path.read_text(encoding="utf-8"))


def rules_of(book: RuleBook, calendar_path: Path | None, due_working_days: int) -> Rules:
    """The claim rules of the settings."""
    return Rules(book, calendar_from(calendar_path), due_working_days)


def now() -> datetime:
    """The current time (UTC); tests move this clock rather than sleep."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Rules:
    """What a claim needs beyond the request: the waiver rules, the calendar and the review period."""

    book: RuleBook
    calendar: HolidayCalendar
    due_working_days: int


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A checked `claim` part."""

    beneficiary: str
    hospital_code: str | None
    hospital_name: str | None
    hospital_region: str | None
    invoice_no: str
    transfused_on: date
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class ShareView:
    """One station's part of a claim."""

    station_code: str
    station_name: str
    province: str
    status: str
    planned_ml: int
    planned_fen: int
    approved_ml: int | None
    approved_fen: int | None
    payout_reference: str | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventView:
    """A line of the timeline: who did what, with their message."""

    at: datetime
    actor: str
    kind: str
    station_code: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class ClaimView:
    """A claim as the donor and the reviewing stations see it."""

    id: str
    status: str
    beneficiary: str
    relationship: str
    patient_name: str | None
    hospital_code: str | None
    hospital_name: str
    hospital_region: str
    invoice_no: str
    transfused_on: date
    items: tuple[dict[str, Any], ...]
    billed_fen: int
    created_at: datetime
    due_at: datetime
    overdue: bool
    escalated_at: datetime | None
    shares: tuple[ShareView, ...]
    events: tuple[EventView, ...]
    documents: tuple[FileMeta, ...]


# ---- parsing -------------------------------------------------------------------------------------------


def parse_claim(body: bytes, rules: Rules, at: datetime) -> ClaimRequest:
    """Check the `claim` part; every problem at once, as a 400 with field errors."""
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed("the claim part is not valid JSON") from exc
    except RecursionError as exc:
        raise ValidationFailed("the claim part is nested too deeply") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("the claim part must be a JSON object")
    problems: list[ProblemField] = []
    beneficiary = waivers.parse_text(data, "beneficiary", 40, problems)
    invoice_no = waivers.parse_text(data, "invoice_no", waivers.MAX_INVOICE_NO, problems)
    transfused_on = waivers.parse_transfusion_day(data, rules.book, at, problems)
    items = waivers.parse_items(data, problems)
    code, name, region = _hospital(data, problems)
    if problems:
        raise ValidationFailed("the claim is malformed", errors=problems)
    assert transfused_on is not None
    return ClaimRequest(beneficiary, code, name, region, invoice_no, transfused_on, tuple(items))


def _hospital(
    data: dict[str, Any], problems: list[ProblemField]
) -> tuple[str | None, str | None, str | None]:
    if data.get("hospital_code") is not None:
        return waivers.parse_text(data, "hospital_code", 16, problems), None, None
    name = waivers.parse_text(data, "hospital_name", MAX_HOSPITAL_NAME, problems)
    region = waivers.parse_text(data, "hospital_region", 6, problems)
    if region and not (len(region) == 6 and region.isdigit() and is_known_region(region)):
        problems.append(ProblemField("hospital_region", "unknown_region", "a GB/T 2260 county code"))
    return None, name, region


# ---- filing --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """Whose pools a claim draws on, for which relationship, and where the invoice was issued."""

    person_id: int
    relationship: str
    relative_pk: int | None
    hospital_id: int | None
    hospital_name: str
    hospital_region: str
    invoice_key: str


def _person(person_ids: Sequence[int], under_review: bool) -> int:
    if not person_ids:
        raise waivers.not_eligible((Reason("unknown_donor", "no donation on record"),))
    if under_review or len(person_ids) > 1:
        reason = Reason("identity_under_review", "this ID is held by more than one record, under review")
        raise waivers.not_eligible((reason,))
    return person_ids[0]


def _target(uow: UnitOfWork, person_id: int, req: ClaimRequest) -> _Target:
    relationship, relative_pk = "self", None
    if req.beneficiary != "self":
        relative = uow.relatives.by_public_id(req.beneficiary)
        if relative is None or relative.person_id != person_id or relative.removed_at is not None:
            problem = ProblemField(
                "beneficiary", "invalid_value", "`self` or the id of a registered relative"
            )
            raise ValidationFailed("unknown beneficiary", errors=[problem])
        if relative.status != "approved":
            reason = Reason("relative_not_registered", "this relative's registration is not approved yet")
            raise waivers.not_eligible((reason,))
        relationship, relative_pk = relative.relationship, relative.id
    if req.hospital_code is not None:
        hospital = uow.hospitals.get_by_code(req.hospital_code)
        if hospital is None:
            problem = ProblemField("hospital_code", "invalid_value", "no registered hospital with this code")
            raise ValidationFailed("unknown hospital", errors=[problem])
        key = hospital_invoice_key(hospital.id, req.invoice_no)
        return _Target(person_id, relationship, relative_pk, hospital.id, hospital.name, hospital.region, key)
    assert req.hospital_name is not None
    assert req.hospital_region is not None
    # A registered hospital written out by name is that hospital, so that its invoices cannot be claimed
    # past the counter's ledger by spelling them differently.
    written = named_invoice_key(req.hospital_region, req.hospital_name, "")
    for hospital in uow.hospitals.all():
        if named_invoice_key(hospital.region, hospital.name, "") == written:
            key = hospital_invoice_key(hospital.id, req.invoice_no)
            return _Target(
                person_id, relationship, relative_pk, hospital.id, hospital.name, hospital.region, key
            )
    key = named_invoice_key(req.hospital_region, req.hospital_name, req.invoice_no)
    return _Target(person_id, relationship, relative_pk, None, req.hospital_name, req.hospital_region, key)


def _hold_invoice(uow: UnitOfWork, target: _Target, invoice_no: str) -> None:
    """Take the invoice's lock (the one the hospital path takes) and refuse an invoice already settled."""
    uow.waivers.lock_invoice(
        target.hospital_id or 0, invoice_no if target.hospital_id else target.invoice_key
    )
    if target.hospital_id is not None:
        waived = uow.waivers.by_invoice(target.hospital_id, invoice_no)
        if waived is not None and waived.reversed_at is None:
            raise Conflict(
                f"invoice {invoice_no} was waived at the hospital counter (waiver {waived.waiver_id})",
                slug="invoice_conflict",
            )
    held = uow.claims.holding_invoice(target.invoice_key)
    if held is not None:
        raise Conflict(
            f"invoice {invoice_no} was claimed online already (claim {held.public_id}, {held.status})",
            slug="invoice_conflict",
        )


def quote(
    uow: UnitOfWork, rules: Rules, person_ids: Sequence[int], under_review: bool, body: bytes
) -> waivers.Quote:
    """What a claim with this `claim` part would be paid now, if every station approved; changes nothing."""
    req = parse_claim(body, rules, now())
    target = _target(uow, _person(person_ids, under_review), req)
    evaluation = waivers.evaluate(
        uow, rules.book, target.person_id, target.relationship, req.transfused_on, req.items, lock=False
    )
    return evaluation.quote


def due_at(rules: Rules, filed: datetime) -> datetime:
    """The end (Beijing midnight, as naive UTC) of the last working day a claim filed at `filed` has."""
    day = rules.calendar.add_working_days(filed.astimezone(BEIJING).date(), rules.due_working_days)
    return beijing_midnight_utc(day + timedelta(days=1))


def file_claim(  # noqa: PLR0917 - each argument is a separate part of the request
    uow: UnitOfWork,
    who: Actor,
    rules: Rules,
    person_ids: Sequence[int],
    under_review: bool,
    body: bytes,
    files: Sequence[uploads.Upload],
) -> ClaimView:
    """File a claim: checked, quoted, split by paying station and stored with its documents."""
    req = parse_claim(body, rules, who.now)
    _require_documents(files)
    checked = uploads.check_uploads(files)
    target = _target(uow, _person(person_ids, under_review), req)
    _hold_invoice(uow, target, req.invoice_no)
    evaluation = waivers.evaluate(
        uow, rules.book, target.person_id, target.relationship, req.transfused_on, req.items, lock=True
    )
    if not evaluation.quote.eligible:
        raise waivers.not_eligible(evaluation.quote.reasons)
    claim_pk = _record(uow, who, rules, target, req, evaluation.draws)
    uploads.store(uow, checked, person_id=target.person_id, now=who.now, claim_pk=claim_pk)
    row = uow.claims.by_ids([claim_pk])[0]
    who.record(uow, "claim.file", row.public_id)
    return _views(uow, [row], naive_utc(who.now))[0]


def _require_documents(files: Sequence[uploads.Upload]) -> None:
    kinds = {f.kind for f in files}
    missing = [k for k in ("invoice", "itemised_bill") if k not in kinds]
    if missing:
        raise ValidationFailed(
            "the invoice and the itemised bill are required",
            errors=[ProblemField(k, "missing_field", f"attach the {k.replace('_', ' ')}") for k in missing],
        )


def _record(  # noqa: PLR0917 - each argument is a separate part of the request
    uow: UnitOfWork, who: Actor, rules: Rules, target: _Target, req: ClaimRequest, draws: Sequence[Draw]
) -> int:
    at = naive_utc(who.now)
    items = [
        {"component": i.component, "volume_ml": i.volume_ml, "units": i.units, "amount_fen": i.amount_fen}
        for i in req.items
    ]
    claim_pk = uow.claims.add(
        NewClaim(
            public_id="cl_" + secrets.token_hex(10),
            person_id=target.person_id,
            relative_id=target.relative_pk,
            relationship=target.relationship,
            hospital_id=target.hospital_id,
            hospital_name=target.hospital_name,
            hospital_region=target.hospital_region,
            invoice_no=req.invoice_no,
            invoice_key=target.invoice_key,
            transfused_on=req.transfused_on,
            items=msgspec.json.encode(items).decode(),
            billed_fen=sum(i.amount_fen for i in req.items),
            status="submitted",
            due_at=due_at(rules, who.now),
            created_at=at,
            updated_at=at,
        )
    )
    for share in shares_of(draws):
        uow.claims.add_share(
            NewClaimShare(
                claim_id=claim_pk,
                station_id=share.station_id,
                province=share.jurisdictions[0],
                plan=msgspec.json.encode(share.draws).decode(),
                planned_ml=share.ml,
                planned_fen=share.fen,
                status="submitted",
            )
        )
    uow.claims.add_event(NewClaimEvent(claim_pk, None, who.actor, "submitted", None, at))
    return claim_pk


# ---- reading -------------------------------------------------------------------------------------------


def _share_view(s: ShareRow) -> ShareView:
    return ShareView(
        s.station_code,
        s.station_name,
        s.province,
        s.status,
        s.planned_ml,
        s.planned_fen,
        s.approved_ml,
        s.approved_fen,
        s.payout_reference,
        s.decided_at,
    )


def _event_view(e: EventRow, shares: dict[int, ShareRow]) -> EventView:
    share = shares.get(e.share_id) if e.share_id is not None else None
    actor = "donor" if e.actor.startswith("donor:") else e.actor.split(":", 1)[0]
    return EventView(e.created_at, actor, e.kind, share.station_code if share else None, e.message)


def _views(uow: UnitOfWork, rows: Sequence[ClaimRow], at: datetime) -> list[ClaimView]:
    pks = [r.id for r in rows]
    shares = uow.claims.shares_of(pks)
    by_id = {s.id: s for s in shares}
    events = uow.claims.events_of(pks)
    files = uow.claims.files_of(claim_pks=pks)
    wanted = {r.relative_id for r in rows if r.relative_id is not None}
    found = {rel.id: rel for rel in uow.relatives.by_ids(list(wanted))}
    names = {
        r.id: (found[r.relative_id].public_id, found[r.relative_id].name)
        for r in rows
        if r.relative_id in found
    }
    hospitals = {h.id: h.code for h in uow.hospitals.all()} if any(r.hospital_id for r in rows) else {}
    return [
        ClaimView(
            r.public_id,
            r.status,
            names.get(r.id, ("self", ""))[0],
            r.relationship,
            names.get(r.id, (None, None))[1],
            hospitals.get(r.hospital_id) if r.hospital_id else None,
            r.hospital_name,
            r.hospital_region,
            r.invoice_no,
            r.transfused_on,
            tuple(msgspec.json.decode(r.items)),
            r.billed_fen,
            r.created_at,
            r.due_at,
            overdue(r.status, r.due_at, at),
            r.escalated_at,
            tuple(_share_view(s) for s in shares if s.claim_id == r.id),
            tuple(_event_view(e, by_id) for e in events if e.claim_id == r.id),
            tuple(f for f in files if f.claim_id == r.id),
        )
        for r in rows
    ]


def of_donor(uow: UnitOfWork, person_ids: Sequence[int]) -> list[ClaimView]:
    """The donor's claims, newest first, with shares, timeline, documents and deadlines."""
    return _views(uow, uow.claims.of_persons(person_ids), naive_utc(now()))


def _mine(uow: UnitOfWork, person_ids: Sequence[int], public_id: str) -> ClaimRow:
    row = uow.claims.by_public_id(public_id[:40])
    if row is None or row.person_id not in person_ids:
        raise NotFound("no such claim")
    return row


def answer(  # noqa: PLR0917 - each argument is a separate part of the request
    uow: UnitOfWork,
    who: Actor,
    person_ids: Sequence[int],
    public_id: str,
    message: str,
    files: Sequence[uploads.Upload],
) -> ClaimView:
    """The donor answers a station's request for more: a message and up to the file limit in documents."""
    row = _mine(uow, person_ids, public_id)
    if row.status != "need_info":
        raise Conflict("no station asked for more on this claim", slug="not_waiting")
    text = message.strip()[:MAX_MESSAGE]
    if not text and not files:
        raise ValidationFailed(
            "write an answer or attach a document",
            errors=[ProblemField("message", "missing_field", "write an answer")],
        )
    checked = uploads.check_uploads(files, already=uow.claims.count_files(row.id))
    uploads.store(uow, checked, person_id=row.person_id, now=who.now, claim_pk=row.id)
    at = naive_utc(who.now)
    uow.claims.add_event(NewClaimEvent(row.id, None, who.actor, "answered", text or None, at))
    uow.claims.reopen_shares(row.id)
    _update_status(uow, row.id, at)
    who.record(uow, "claim.answer", row.public_id)
    return _views(uow, uow.claims.by_ids([row.id]), at)[0]


def donor_document(uow: UnitOfWork, person_ids: Sequence[int], token: str) -> uploads.Document:
    """One of the donor's own documents (a claim's or a relative's); anyone else's is 404."""
    found = uow.claims.file_by_token(token[:64])
    if found is None or found[0].person_id not in person_ids:
        raise NotFound("no such document")
    return uploads.Document(*found)


def station_document(uow: UnitOfWork, station_id: int | None, token: str) -> uploads.Document:
    """A document of a claim or registration the station reviews (any, for `station_id` None)."""
    found = uow.claims.file_by_token(token[:64])
    if found is None:
        raise NotFound("no such document")
    meta = found[0]
    if station_id is not None:
        allowed = False
        if meta.claim_id is not None:
            allowed = uow.claims.share_of_station(meta.claim_id, station_id) is not None
        elif meta.relative_id is not None:
            relative = uow.relatives.by_id(meta.relative_id)
            allowed = relative is not None and relative.station_id == station_id
        if not allowed:
            raise NotFound("no such document")
    return uploads.Document(*found)


# ---- the stations' review ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A share in a station's queue, with its claim."""

    share: ShareView
    claim: ClaimView


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose shares a reviewer sees: one station's, one province's stations', or every one (both None)."""

    station_id: int | None = None
    province: str | None = None


def queue(
    uow: UnitOfWork,
    scope: Scope,
    *,
    status: str | None = None,
    only_overdue: bool = False,
    province: str | None = None,
) -> list[QueueItem]:
    """Shares in the scope, soonest due first; filtered by status, overdue and the province that pays (an
    administrator following a province's escalations; a provincial administrator's is always their own)."""
    at = naive_utc(now())
    paying = scope.province or province
    shares = uow.claims.queue(scope.station_id, status or None, at if only_overdue else None, paying)
    rows = uow.claims.by_ids(list({s.claim_id for s in shares}))
    views = dict(zip((r.id for r in rows), _views(uow, rows, at), strict=True))
    return [QueueItem(_share_view(s), views[s.claim_id]) for s in shares]


def claim_for_station(uow: UnitOfWork, scope: Scope, public_id: str) -> ClaimView:
    """One claim as a reviewer sees it: 404 unless a station in the scope holds a share of it."""
    row = uow.claims.by_public_id(public_id[:40])
    shares = uow.claims.shares_of([row.id]) if row is not None else []
    seen = [
        s
        for s in shares
        if (scope.station_id is None or s.station_id == scope.station_id)
        and (scope.province is None or s.province.startswith(scope.province))
    ]
    if row is None or not seen:
        raise NotFound("no such claim for this station")
    return _views(uow, [row], naive_utc(now()))[0]


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    decision: Decision
    message: str
    payout_reference: str | None


def parse_decision(data: Any) -> DecisionRequest:
    """`{"decision", "message", "payout_reference"?}`; a reason is required unless approving."""
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object")
    problems: list[ProblemField] = []
    decision = waivers.parse_choice(data, "decision", tuple(Decision), problems)
    message = data.get("message") or ""
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        problems.append(ProblemField("message", "invalid_value", f"at most {MAX_MESSAGE} characters"))
        message = ""
    payout = data.get("payout_reference")
    if payout is not None and (not isinstance(payout, str) or not 0 < len(payout) <= MAX_PAYOUT_REFERENCE):
        problems.append(ProblemField("payout_reference", "invalid_value", "a transfer id, 1–64 characters"))
    if decision and decision != "approve" and not message.strip():
        problems.append(ProblemField("message", "missing_field", "give the reason"))
    if problems:
        raise ValidationFailed("the decision is malformed", errors=problems)
    return DecisionRequest(Decision(decision), message.strip(), payout)


def decide(  # noqa: PLR0917 - each argument is a separate part of the request
    uow: UnitOfWork, who: Actor, rules: Rules, station_id: int, public_id: str, data: Any
) -> QueueItem:
    """A station's decision on its share of a claim; an approval draws on the waiver ledger."""
    req = parse_decision(data)
    row = uow.claims.by_public_id(public_id[:40])
    share = uow.claims.share_of_station(row.id, station_id) if row is not None else None
    if row is None or share is None:
        raise NotFound("no such claim for this station")
    if share.status in FINAL_SHARES:
        raise Conflict(f"this share was {share.status} already", slug="already_decided")
    at = naive_utc(who.now)
    approved = _approve(uow, rules, row, share, at) if req.decision is Decision.APPROVE else None
    payout = req.payout_reference if req.decision is Decision.APPROVE else None
    if not uow.claims.decide_share(share.id, DECIDED[req.decision], approved, payout, who.actor, at):
        raise Conflict("this share was decided already", slug="already_decided")
    uow.claims.add_event(
        NewClaimEvent(row.id, share.id, who.actor, DECIDED[req.decision], req.message or None, at)
    )
    _update_status(uow, row.id, at)
    who.record(uow, f"claim.{req.decision.value}", f"{row.public_id} {share.station_code}")
    notices.request_answered(
        uow,
        row.person_id,
        what="claim",
        reference=f"{row.public_id}:{share.station_code}",
        status=DECIDED[req.decision],
        link="/me/claims",
        now=who.now,
    )
    fresh = uow.claims.share_of_station(row.id, station_id)
    assert fresh is not None
    return QueueItem(_share_view(fresh), _views(uow, uow.claims.by_ids([row.id]), at)[0])


def _approve(uow: UnitOfWork, rules: Rules, row: ClaimRow, share: ShareRow, at: datetime) -> tuple[int, int]:
    """Append the share's draws to the ledger, each capped by what its pool holds now."""
    if row.hospital_id is not None:
        uow.waivers.lock_invoice(row.hospital_id, row.invoice_no)
        waived = uow.waivers.by_invoice(row.hospital_id, row.invoice_no)
        if waived is not None and waived.reversed_at is None:
            raise Conflict(
                f"invoice {row.invoice_no} was waived at the hospital counter (waiver {waived.waiver_id})",
                slug="invoice_conflict",
            )
    items = tuple(Item(**i) for i in msgspec.json.decode(row.items))
    evaluation = waivers.evaluate(
        uow, rules.book, row.person_id, row.relationship, row.transfused_on, items, lock=True
    )
    left = {(b.province, b.pool): b for b in evaluation.quote.basis}
    draws = []
    for planned in msgspec.json.decode(share.plan, type=list[Draw]):
        basis = left.get((planned.jurisdiction, Pool(planned.pool).value))
        if basis is None:
            continue  # the rule no longer gives this pool anything
        money = basis.remaining_before_fen is not None
        remaining = (
            None if basis.unlimited else (basis.remaining_before_fen if money else basis.remaining_before_ml)
        )
        draw = capped(planned, remaining)
        if draw is not None:
            draws.append(draw)
    if not draws:
        raise Conflict("the pools this share draws on are used up", slug="pool_exhausted")
    uow.waivers.append([waivers.entry_of(d, row.person_id, at, share_pk=share.id) for d in draws])
    return sum(d.ml for d in draws), sum(d.fen for d in draws)


def _update_status(uow: UnitOfWork, claim_pk: int, at: datetime) -> None:
    status = claim_status(s.status for s in uow.claims.shares_of([claim_pk]))
    uow.claims.set_status(claim_pk, status, at, decided=not is_open(status))


# ---- deadlines -----------------------------------------------------------------------------------------


def escalate_overdue(uow: UnitOfWork, who: Actor) -> list[str]:
    """Escalate every open claim past its due date to the administrators of the provinces whose stations
    have not decided; each once. Returns the escalated claims' ids."""
    at = naive_utc(who.now)
    done = []
    for row in uow.claims.overdue_unescalated(at):
        if not uow.claims.mark_escalated(row.id, at):
            continue
        pending = [s for s in uow.claims.shares_of([row.id]) if s.status not in FINAL_SHARES]
        provinces = ", ".join(sorted({s.province[:2] for s in pending}))
        note = f"overdue: escalated to the administrators of province {provinces}"
        uow.claims.add_event(NewClaimEvent(row.id, None, "system", "escalated", note, at))
        who.record(uow, "claim.escalate", f"{row.public_id} {provinces}")
        done.append(row.public_id)
    return done


# ---- the console ---------------------------------------------------------------------------------------


def console_scope(uow: UnitOfWork, principal: StaffPrincipal, station_code: str | None) -> Scope:
    """Whose claims a console user reviews: an operator's own station's, whatever was asked; for an
    administrator the station asked for, or every station (a provincial administrator's: in their province,
    where escalated claims are theirs to follow)."""
    require_role(principal, (Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR))
    if principal.role is Role.STATION_OPERATOR:
        assert principal.station_id is not None
        return Scope(principal.station_id)
    province = principal.province if principal.role is Role.PROVINCIAL_ADMIN else None
    if station_code:
        station = uow.stations.get_by_code(station_code[:16])
        if station is None:
            raise NotFound("no such station")
        require_station(principal, station.id, station.region)
        return Scope(station.id, province)
    return Scope(None, province)


def decide_in_console(  # noqa: PLR0917 - the console user, the claim and the posted form
    uow: UnitOfWork, who: Actor, rules: Rules, principal: StaffPrincipal, public_id: str, data: Any
) -> QueueItem:
    """An operator's decision on their station's share (administrators do not decide for stations)."""
    require_role(principal, (Role.STATION_OPERATOR,))
    assert principal.station_id is not None
    return decide(uow, who, rules, principal.station_id, public_id, data)


@dataclass(frozen=True, slots=True)
class VolumeRow:
    """One station's claims: counts by state, overdue, paid, and time to decision."""

    volume: ClaimVolume

    @property
    def median_days(self) -> float | None:
        """The median days from filing to a final decision."""
        seconds = self.volume.decision_seconds
        return statistics.median(seconds) / 86400 if seconds else None


@dataclass(frozen=True, slots=True)
class VolumeReport:
    """Claim volumes per station, and the national total (the sum of the rows)."""

    rows: tuple[VolumeRow, ...]
    total: VolumeRow


def volumes(uow: UnitOfWork, principal: StaffPrincipal) -> VolumeReport:
    """Every station's claim volumes for administrators and auditors; an operator's own station's."""
    station_id = principal.station_id if principal.role is Role.STATION_OPERATOR else None
    found = uow.claims.volumes(station_id, naive_utc(now()))
    total = ClaimVolume(
        None,
        sum(v.shares for v in found),
        sum(v.open for v in found),
        sum(v.approved for v in found),
        sum(v.rejected for v in found),
        sum(v.need_info for v in found),
        sum(v.overdue for v in found),
        sum(v.approved_fen for v in found),
        [s for v in found for s in v.decision_seconds],
    )
    return VolumeReport(tuple(VolumeRow(v) for v in found), VolumeRow(total))
