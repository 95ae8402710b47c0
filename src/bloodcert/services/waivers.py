"""Blood-fee waivers at the hospital counter (医院直免): quote, claim, reverse and list.

Each use case runs in its own unit of work: the hospital's signature, the waiver and its audit entry commit
together. A refused request (bad input, not eligible, conflict) is audited on its own afterwards, since its
transaction rolls back.

Concurrency: a claim reads a donor's pools, plans the draws and appends them. Two claims planned at once
against one pool would both see the same balance, so a claim holds the donor's pools (and the hospital's
invoice number) until it commits: SQLite's writers take turns anyway (BEGIN IMMEDIATE); PostgreSQL takes
transaction-scoped advisory locks (storage/repositories/waivers.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import msgspec

from bloodcert.domain.clock import BEIJING, beijing_midnight_utc, naive_utc
from bloodcert.domain.identity import IdType, normalize_id_number, validate_id_number
from bloodcert.domain.keyed import identity_hash_of, name_hash_of
from bloodcert.domain.staff import Role, StaffPrincipal, require_role
from bloodcert.domain.waivers import (
    COMPONENTS,
    ML_COMPONENTS,
    PROOFS,
    RELATIONSHIPS,
    Balance,
    Draw,
    Entitlement,
    Item,
    Reason,
    RuleBook,
    Unit,
    donor_pools,
    entitlements,
    plan,
)
from bloodcert.errors import AppError, Conflict, NotFound, ProblemField, ValidationFailed
from bloodcert.services import audit
from bloodcert.services.audit import AuditEvent, AuditSink
from bloodcert.services.console import station_of
from bloodcert.services.hospitals import authenticate_hospital
from bloodcert.services.station_auth import NonceStore, SignedRequest
from bloodcert.storage.repositories.waivers import (
    HospitalKeyRow,
    LedgerEntry,
    LedgerRow,
    NewWaiver,
    PaidByStation,
    WaiverRow,
)
from bloodcert.storage.rows import StationRow
from bloodcert.storage.uow import Database, UnitOfWork

MAX_INVOICE_NO = 64
MAX_ITEMS = 50
MAX_AMOUNT_FEN = 10**10  # 一亿元: far above any bill, far below integer limits
MAX_VOLUME_ML = 100_000
MAX_UNITS = 100

T = TypeVar("T")


class NotEligible(AppError):
    """The request is well formed but nothing may be waived; `errors` carries the reasons."""

    status = 422
    slug = "not_eligible"
    title = "Not eligible"


@dataclass(frozen=True, slots=True)
class Party:
    """A patient or a donor as the hospital names them."""

    id_type: str
    id_number: str
    name: str


@dataclass(frozen=True, slots=True)
class WaiverRequest:
    """A checked quote or claim."""

    invoice_no: str
    patient: Party
    donor: Party
    relationship: str
    proof: str
    transfused_on: date
    items: tuple[Item, ...]

    @property
    def digest(self) -> bytes:
        """What makes two claims with one invoice number the same claim."""
        return hashlib.sha256(msgspec.json.encode(self)).digest()


@dataclass(frozen=True, slots=True)
class Basis:
    """One pool a quote or a waiver rests on."""

    province: str
    pool: str
    rule: str
    unlimited: bool
    remaining_before_ml: int | None
    remaining_before_fen: int | None
    ml: int = 0
    fen: int = 0
    station: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    eligible: bool
    waivable_fen: int
    waivable_ml: int
    unlimited: bool
    reasons: tuple[Reason, ...]
    basis: tuple[Basis, ...]


@dataclass(frozen=True, slots=True)
class Waiver:
    """A recorded waiver as the hospital sees it."""

    waiver_id: str
    invoice_no: str
    relationship: str
    transfused_on: date
    billed_fen: int
    waived_fen: int
    waived_ml: int
    unlimited: bool
    created_at: datetime
    reversed_at: datetime | None
    basis: tuple[Basis, ...]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claim's outcome: `created` is False when the same claim was made before."""

    created: bool
    waiver: Waiver


@dataclass(frozen=True, slots=True)
class Context:
    """What every hospital request needs beyond the request itself."""

    book: RuleBook
    index_key: bytes
    audit_key: bytes
    window_s: int
    nonces: NonceStore | None = None
    sink: AuditSink | None = None
    client: str | None = None
    now: datetime | None = None

    @property
    def at(self) -> datetime:
        """The request's time (UTC)."""
        return self.now or datetime.now(UTC)


# ---- the use cases ---------------------------------------------------------------------------------------


def quote(db: Database, ctx: Context, request: SignedRequest) -> Quote:
    """What a claim with this body would waive now; changes nothing but the audit trail."""

    def work(uow: UnitOfWork, key: HospitalKeyRow) -> tuple[Quote, str]:
        req = parse_request(request.body, ctx)
        evaluation = _evaluate(uow, ctx, req, lock=False)
        return evaluation.quote, f"invoice {req.invoice_no}"

    return _run(db, ctx, request, "waiver.quote", work)


def claim(db: Database, ctx: Context, request: SignedRequest) -> Claimed:
    """Waive what the pools allow and record every draw; the same invoice and body again replays it."""

    def work(uow: UnitOfWork, key: HospitalKeyRow) -> tuple[Claimed, str]:
        req = parse_request(request.body, ctx)
        uow.waivers.lock_invoice(key.hospital_id, req.invoice_no)
        existing = uow.waivers.by_invoice(key.hospital_id, req.invoice_no)
        if existing is not None:
            if existing.request_hash != req.digest:
                raise Conflict(
                    f"invoice {req.invoice_no} was claimed with another body", slug="invoice_conflict"
                )
            return Claimed(False, _waiver_of(uow, existing)), f"waiver {existing.waiver_id} replayed"
        evaluation = _evaluate(uow, ctx, req, lock=True)
        if not evaluation.quote.eligible:
            raise _not_eligible(evaluation.quote.reasons)
        waiver = _record(uow, ctx, key, req, evaluation)
        return Claimed(True, _waiver_of(uow, waiver)), f"waiver {waiver.waiver_id}"

    return _run(db, ctx, request, "waiver.claim", work)


def reverse(db: Database, ctx: Context, request: SignedRequest, waiver_id: str) -> Waiver:
    """Undo a waiver (a cancelled bill): new ledger entries give back exactly what it drew."""

    def work(uow: UnitOfWork, key: HospitalKeyRow) -> tuple[Waiver, str]:
        waiver = uow.waivers.by_waiver_id(key.hospital_id, waiver_id)
        if waiver is None:
            raise NotFound("no such waiver of this hospital")
        uow.waivers.lock_pools_of(waiver.person_id)
        if not uow.waivers.mark_reversed(waiver.id, naive_utc(ctx.at)):
            raise Conflict("this waiver was already reversed", slug="already_reversed")
        lines = [line for line in uow.waivers.ledger_of([waiver.id]) if line.entry == "draw"]
        uow.waivers.append([_reversal(waiver, line, ctx.at) for line in lines])
        reversed_row = uow.waivers.by_waiver_id(key.hospital_id, waiver_id)
        assert reversed_row is not None
        return _waiver_of(uow, reversed_row), f"waiver {waiver_id} reversed"

    return _run(db, ctx, request, "waiver.reverse", work)


def list_waivers(
    db: Database, ctx: Context, request: SignedRequest, since: str | None, until: str | None
) -> list[Waiver]:
    """The calling hospital's waivers recorded between two days (Beijing time), for reconciliation."""

    def work(uow: UnitOfWork, key: HospitalKeyRow) -> tuple[list[Waiver], str]:
        start, end = _day_bound(since, "from"), _day_bound(until, "to", next_day=True)
        rows = uow.waivers.of_hospital(key.hospital_id, start, end)
        ledger = _ledger_by_waiver(uow, [r.id for r in rows])
        return [_to_waiver(r, ledger.get(r.id, [])) for r in rows], f"{len(rows)} waivers"

    return _run(db, ctx, request, "waiver.list", work)


def _run(
    db: Database,
    ctx: Context,
    request: SignedRequest,
    action: str,
    work: Callable[[UnitOfWork, HospitalKeyRow], tuple[T, str]],
) -> T:
    """Authenticate the hospital, do the work and audit it in one transaction; audit a refusal apart."""
    actor = "hospital:unknown"
    try:
        with db.transaction() as uow:
            key = authenticate_hospital(uow, request, now=ctx.at, window_s=ctx.window_s, nonces=ctx.nonces)
            actor = f"hospital:{key.hospital_code}"
            result, obj = work(uow, key)
            audit.append(uow, ctx.audit_key, AuditEvent(actor, action, obj, ctx.client), ctx.at)
            return result
    except AppError as exc:
        # 401s are audited where every denial is (web/problems.py); the rest here, once rolled back.
        if exc.status != 401 and ctx.sink is not None:
            ctx.sink.record(AuditEvent(actor, action, None, ctx.client, exc.slug[:16]))
        raise


# ---- parsing ---------------------------------------------------------------------------------------------


def parse_request(body: bytes, ctx: Context) -> WaiverRequest:
    """Check a quote or claim body; every problem found is reported at once as a 400 with field errors."""
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object")
    problems: list[ProblemField] = []
    invoice_no = _text(data, "invoice_no", MAX_INVOICE_NO, problems)
    patient = _party(data, "patient", problems)
    donor = _party(data, "donor", problems)
    relationship = _choice(data, "relationship", RELATIONSHIPS, problems)
    proof = _choice(data, "proof", PROOFS, problems)
    transfused_on = _transfusion_day(data, ctx, problems)
    items = _items(data, problems)
    if patient and donor and relationship:
        _check_parties(patient, donor, relationship, problems)
    if problems:
        raise ValidationFailed("the request is malformed", errors=problems)
    assert patient
    assert donor
    assert relationship
    assert proof
    assert transfused_on
    return WaiverRequest(invoice_no, patient, donor, relationship, proof, transfused_on, tuple(items))


def _text(data: dict[str, Any], name: str, limit: int, problems: list[ProblemField], field: str = "") -> str:
    value = data.get(name)
    field = field or name
    if value is None or value == "":
        problems.append(ProblemField(field, "missing_field", f"{field} is required"))
        return ""
    if not isinstance(value, str):
        problems.append(ProblemField(field, "invalid_value", f"{field} must be a string"))
        return ""
    if len(value) > limit:
        problems.append(ProblemField(field, "invalid_value", f"{field} is at most {limit} characters"))
    return value.strip()


def _choice(data: dict[str, Any], name: str, allowed: tuple[str, ...], problems: list[ProblemField]) -> str:
    value = data.get(name)
    if value is None:
        problems.append(ProblemField(name, "missing_field", f"{name} is required"))
        return ""
    if value not in allowed:
        problems.append(ProblemField(name, "invalid_value", f"{name} must be one of {', '.join(allowed)}"))
        return ""
    return str(value)


def _party(data: dict[str, Any], name: str, problems: list[ProblemField]) -> Party | None:
    value = data.get(name)
    if not isinstance(value, dict):
        problems.append(ProblemField(name, "missing_field", f"{name} must be an object"))
        return None
    before = len(problems)
    id_type = _choice(value, "id_type", tuple(IdType), [])
    if not id_type:
        problems.append(ProblemField(f"{name}.id_type", "invalid_value", "unknown or missing ID type"))
    raw_number = _text(value, "id_number", 40, problems, f"{name}.id_number")
    person_name = _text(value, "name", 50, problems, f"{name}.name")
    number = normalize_id_number(raw_number) if raw_number else ""
    if id_type and number:
        for p in validate_id_number(
            IdType(id_type), number, sex=None, birth_date=None, field=f"{name}.id_number"
        ):
            problems.append(ProblemField(p.field, p.code, p.message))
    return Party(id_type, number, person_name) if len(problems) == before else None


def _transfusion_day(data: dict[str, Any], ctx: Context, problems: list[ProblemField]) -> date | None:
    value = data.get("transfused_at")
    if not isinstance(value, str):
        problems.append(ProblemField("transfused_at", "missing_field", "transfused_at is a date YYYY-MM-DD"))
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems.append(ProblemField("transfused_at", "invalid_format", "transfused_at is a date YYYY-MM-DD"))
        return None
    if len(value) != 10:
        problems.append(ProblemField("transfused_at", "invalid_format", "transfused_at is a date YYYY-MM-DD"))
        return None
    if day > ctx.at.astimezone(BEIJING).date():
        problems.append(ProblemField("transfused_at", "future_date", "the transfusion date is in the future"))
        return None
    earliest = ctx.book.earliest()
    if earliest is None or day < earliest:
        problems.append(
            ProblemField("transfused_at", "invalid_value", f"no waiver rule was in force before {earliest}")
        )
        return None
    return day


def _items(data: dict[str, Any], problems: list[ProblemField]) -> list[Item]:
    value = data.get("items")
    if not isinstance(value, list) or not value:
        problems.append(ProblemField("items", "missing_field", "items must list at least one component"))
        return []
    if len(value) > MAX_ITEMS:
        problems.append(ProblemField("items", "invalid_value", f"at most {MAX_ITEMS} items"))
        return []
    items = []
    for i, raw in enumerate(value):
        item = _item(raw, f"items[{i}]", problems)
        if item is not None:
            items.append(item)
    return items


def _count(
    raw: dict[str, Any], name: str, field: str, limit: int, problems: list[ProblemField]
) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= limit:
        problems.append(
            ProblemField(f"{field}.{name}", "invalid_value", f"{name} is a whole number 1–{limit}")
        )
        return None
    return value


def _item(raw: object, field: str, problems: list[ProblemField]) -> Item | None:
    if not isinstance(raw, dict):
        problems.append(ProblemField(field, "invalid_value", "an item is an object"))
        return None
    before = len(problems)
    component = raw.get("component")
    if component not in COMPONENTS:
        problems.append(
            ProblemField(
                f"{field}.component", "invalid_value", f"component is one of {', '.join(COMPONENTS)}"
            )
        )
    volume = _count(raw, "volume_ml", field, MAX_VOLUME_ML, problems)
    units = _count(raw, "units", field, MAX_UNITS, problems)
    amount = _count(raw, "amount_fen", field, MAX_AMOUNT_FEN, problems)
    if raw.get("amount_fen") is None:
        problems.append(ProblemField(f"{field}.amount_fen", "missing_field", "amount_fen is required"))
    if component in ML_COMPONENTS and raw.get("volume_ml") is None:
        problems.append(
            ProblemField(f"{field}.volume_ml", "missing_field", f"volume_ml is required for {component}")
        )
    if component == "platelets" and raw.get("units") is None:
        problems.append(ProblemField(f"{field}.units", "missing_field", "units is required for platelets"))
    if len(problems) != before:
        return None
    assert isinstance(component, str)
    assert amount is not None
    return Item(component, volume, units, amount)


def _check_parties(patient: Party, donor: Party, relationship: str, problems: list[ProblemField]) -> None:
    same = (patient.id_type, patient.id_number) == (donor.id_type, donor.id_number)
    if relationship == "self" and not same:
        problems.append(ProblemField("patient", "invalid_value", "for `self` the patient is the donor"))
    if relationship != "self" and same:
        problems.append(
            ProblemField(
                "relationship", "invalid_value", "the patient is the donor: the relationship is `self`"
            )
        )


# ---- evaluating and recording ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Evaluation:
    quote: Quote
    person_id: int | None
    draws: tuple[Draw, ...]


def _refused(*reasons: Reason) -> _Evaluation:
    return _Evaluation(Quote(False, 0, 0, False, reasons, ()), None, ())


def _evaluate(uow: UnitOfWork, ctx: Context, req: WaiverRequest, *, lock: bool) -> _Evaluation:
    identity = identity_hash_of(ctx.index_key, IdType(req.donor.id_type), req.donor.id_number)
    matches = uow.waivers.persons_with_identity(identity, name_hash_of(ctx.index_key, req.donor.name))
    mine = [m.person_id for m in matches if m.name_matches]
    if not mine:
        return _refused(Reason("unknown_donor", "no donor with this ID and name"))
    if len(matches) > 1 and not all(m.settled for m in matches):
        return _refused(
            Reason("identity_under_review", "this ID is held by more than one record, under review")
        )
    if req.relationship != "self" and req.proof == "none":
        return _refused(Reason("proof_required", "a relative's waiver needs proof of the relationship"))
    person_id = mine[0]
    if lock:
        uow.waivers.lock_pools_of(person_id)
    donations = uow.waivers.counted_donations(person_id)
    report = entitlements(ctx.book, donations, relationship=req.relationship, on=req.transfused_on)
    drawn = {(d.jurisdiction, d.pool): d for d in uow.waivers.drawn(person_id)}
    balances = [_balance(e, drawn) for e in report.entitlements]
    draws = plan(req.items, balances)
    reasons = [*report.reasons, *(r for e in report.entitlements for r in e.reasons)]
    if report.entitlements and not draws:
        reasons.append(Reason("pool_exhausted", "the pools that apply are used up"))
    waived_fen = sum(d.fen for d in draws)
    result = Quote(
        eligible=waived_fen > 0,
        waivable_fen=waived_fen,
        waivable_ml=sum(d.ml for d in draws),
        unlimited=any(d.unlimited for d in draws),
        reasons=tuple(reasons),
        basis=tuple(_basis_of(b) for b in balances),
    )
    return _Evaluation(result, person_id, tuple(draws))


def _balance(entitlement: Entitlement, drawn: dict[tuple[str, str], Any]) -> Balance:
    line = drawn.get((entitlement.jurisdiction, entitlement.pool.value))
    return Balance(entitlement, line.ml, line.fen) if line is not None else Balance(entitlement)


def _basis_of(balance: Balance) -> Basis:
    e = balance.entitlement
    remaining = None if e.unlimited else balance.remaining
    return Basis(
        e.jurisdiction,
        e.pool.value,
        e.rule_id,
        e.unlimited,
        remaining if e.unit is Unit.ML else None,
        remaining if e.unit is Unit.FEN else None,
    )


def _not_eligible(reasons: tuple[Reason, ...]) -> NotEligible:
    fields = {"proof_required": "proof", "relationship_not_covered": "relationship"}
    errors = [ProblemField(fields.get(r.code, "donor"), r.code, r.message) for r in reasons]
    codes = ", ".join(dict.fromkeys(r.code for r in reasons))
    return NotEligible(f"nothing can be waived: {codes}", errors=errors)


def _record(
    uow: UnitOfWork, ctx: Context, key: HospitalKeyRow, req: WaiverRequest, evaluation: _Evaluation
) -> WaiverRow:
    assert evaluation.person_id is not None
    now = naive_utc(ctx.at)
    pk = uow.waivers.add(
        NewWaiver(
            waiver_id="wv_" + secrets.token_hex(12),
            hospital_id=key.hospital_id,
            invoice_no=req.invoice_no,
            request_hash=req.digest,
            person_id=evaluation.person_id,
            relationship=req.relationship,
            proof=req.proof,
            patient_id_type=req.patient.id_type,
            patient_id_number=req.patient.id_number,
            patient_name=req.patient.name,
            patient_identity_hash=identity_hash_of(
                ctx.index_key, IdType(req.patient.id_type), req.patient.id_number
            ),
            transfused_on=req.transfused_on,
            billed_fen=sum(i.amount_fen for i in req.items),
            waived_fen=evaluation.quote.waivable_fen,
            waived_ml=evaluation.quote.waivable_ml,
            unlimited=evaluation.quote.unlimited,
            created_at=now,
        )
    )
    uow.waivers.append([_entry(pk, evaluation.person_id, d, now) for d in evaluation.draws])
    row = uow.waivers.by_invoice(key.hospital_id, req.invoice_no)
    assert row is not None
    return row


def _entry(waiver_pk: int, person_id: int, d: Draw, now: datetime) -> LedgerEntry:
    return LedgerEntry(
        waiver_pk,
        person_id,
        d.jurisdiction,
        d.pool.value,
        d.rule_id,
        d.payer_station_id,
        "draw",
        d.ml,
        d.fen,
        d.unlimited,
        d.remaining_before_ml,
        d.remaining_before_fen,
        now,
    )


def _reversal(waiver: WaiverRow, line: LedgerRow, at: datetime) -> LedgerEntry:
    return LedgerEntry(
        waiver.id,
        waiver.person_id,
        line.jurisdiction,
        line.pool,
        line.rule_id,
        line.station_id,
        "reversal",
        -line.ml,
        -line.fen,
        line.unlimited,
        None,
        None,
        naive_utc(at),
    )


def _ledger_by_waiver(uow: UnitOfWork, pks: list[int]) -> dict[int, list[LedgerRow]]:
    found: dict[int, list[LedgerRow]] = {}
    for line in uow.waivers.ledger_of(pks):
        found.setdefault(line.waiver_pk, []).append(line)
    return found


def _waiver_of(uow: UnitOfWork, row: WaiverRow) -> Waiver:
    return _to_waiver(row, _ledger_by_waiver(uow, [row.id]).get(row.id, []))


def _to_waiver(row: WaiverRow, lines: list[LedgerRow]) -> Waiver:
    basis = tuple(
        Basis(
            line.jurisdiction,
            line.pool,
            line.rule_id,
            line.unlimited,
            line.remaining_before_ml,
            line.remaining_before_fen,
            line.ml,
            line.fen,
            line.station_code,
        )
        for line in lines
        if line.entry == "draw"
    )
    return Waiver(
        row.waiver_id,
        row.invoice_no,
        row.relationship,
        row.transfused_on,
        row.billed_fen,
        row.waived_fen,
        row.waived_ml,
        row.unlimited,
        row.created_at,
        row.reversed_at,
        basis,
    )


def _day_bound(text: str | None, field: str, *, next_day: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        problem = ProblemField(field, "invalid_format", f"{field} is a date YYYY-MM-DD")
        raise ValidationFailed(f"{field} is a date YYYY-MM-DD", errors=[problem]) from exc
    if next_day:
        day += timedelta(days=1)
    return beijing_midnight_utc(day)


# ---- the donor's view ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolView:
    """One pool as its donor sees it: what the rule gives, what was drawn and what is left."""

    pool: str
    unit: str
    unlimited: bool
    entitled: int
    drawn: int
    remaining: int | None  # None: unlimited
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class DrawView:
    """A waiver drawn on one of the donor's pools, net of any reversal."""

    province: str
    pool: str
    hospital: str
    transfused_on: date
    created_at: datetime
    relationship: str
    ml: int
    fen: int
    reversed: bool


@dataclass(frozen=True, slots=True)
class ProvinceView:
    province: str
    name: str
    rule: str
    source: str
    effective_from: date
    covered: tuple[str, ...]
    pools: tuple[PoolView, ...]


@dataclass(frozen=True, slots=True)
class DonorEntitlements:
    """用血权益: each donating province's pools at a date, and every waiver drawn on them."""

    on: date
    provinces: tuple[ProvinceView, ...]
    waivers: tuple[DrawView, ...]


def donor_entitlements(
    uow: UnitOfWork, book: RuleBook, person_ids: Sequence[int], on: date
) -> DonorEntitlements:
    """The donor's pools in every donating province at `on`, with what was drawn on them and by whom."""
    provinces: list[ProvinceView] = []
    draws: list[DrawView] = []
    for person_id in person_ids:
        drawn = {(d.jurisdiction, d.pool): d for d in uow.waivers.drawn(person_id)}
        for found in donor_pools(book, uow.waivers.counted_donations(person_id), on):
            pools = tuple(_pool_view(Balance(e), drawn) for e in (found.self_pool, found.relatives_pool))
            rule = found.rule
            provinces.append(
                ProvinceView(
                    rule.jurisdiction,
                    rule.name,
                    rule.rule_id,
                    rule.source,
                    rule.effective_from,
                    tuple(r for r in RELATIONSHIPS if r in found.covered),
                    pools,
                )
            )
        rows = uow.waivers.of_person([person_id])
        ledger = _ledger_by_waiver(uow, [r.id for r in rows])
        for row in rows:
            for line in ledger.get(row.id, []):
                if line.entry == "draw":
                    draws.append(
                        DrawView(
                            line.jurisdiction,
                            line.pool,
                            row.hospital_name,
                            row.transfused_on,
                            row.created_at,
                            row.relationship,
                            line.ml,
                            line.fen,
                            row.reversed_at is not None,
                        )
                    )
    return DonorEntitlements(on, tuple(provinces), tuple(draws))


def _pool_view(balance: Balance, drawn: dict[tuple[str, str], Any]) -> PoolView:
    e = balance.entitlement
    line = drawn.get((e.jurisdiction, e.pool.value))
    used = 0 if line is None else (line.fen if e.unit is Unit.FEN else line.ml)
    remaining = None if e.unlimited else max(e.amount - used, 0)
    return PoolView(e.pool.value, e.unit.value, e.unlimited, e.amount, used, remaining, e.reasons)


# ---- the console: what stations pay ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaidReport:
    """Waivers paid (net of reversals), by paying station, hospital and month (UTC)."""

    station: StationRow | None
    rows: tuple[PaidByStation, ...]

    @property
    def count(self) -> int:
        return sum(r.count for r in self.rows)

    @property
    def ml(self) -> int:
        return sum(r.ml for r in self.rows)

    @property
    def fen(self) -> int:
        return sum(r.fen for r in self.rows)


def waivers_paid(uow: UnitOfWork, principal: StaffPrincipal, code: str | None = None) -> PaidReport:
    """Every station's waivers for administrators and auditors; one station's for those who may reach it."""
    if code is None:
        require_role(principal, (Role.NATIONAL_ADMIN, Role.AUDITOR))
        return PaidReport(None, tuple(uow.waivers.paid_by_stations(None)))
    station = station_of(uow, principal, code)
    return PaidReport(station, tuple(uow.waivers.paid_by_stations(station.id)))


def paid_csv(report: PaidReport) -> str:
    """The report as CSV (UTF-8 with a BOM, so that spreadsheet programs read the Chinese names)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["station", "hospital", "hospital_name", "month", "waivers", "waived_ml", "waived_fen"])
    for r in report.rows:
        writer.writerow([r.station_code, r.hospital_code, r.hospital_name, r.month, r.count, r.ml, r.fen])
    return "\ufeff" + out.getvalue()
