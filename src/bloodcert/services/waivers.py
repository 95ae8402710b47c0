"""Blood-fee waivers at the hospital counter (医院直免): quote, claim, reverse and list.

Each use case verifies the hospital's signature and checks the body first, outside any write: that is
most of a request's cost, and on SQLite writers take turns, so it must not be paid while holding the turn.
Then one unit of work remembers the signature's nonce, does the work and appends the audit entry, which
therefore commit together with the waiver. A quote writes nothing but its nonce; its audit entry goes
through the audit sink, as every read's does. A refused request (bad input, not eligible, conflict) is
audited on its own afterwards, since its transaction rolls back.

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import msgspec

from bloodcert.domain.claims import hospital_invoice_key
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
from bloodcert.services.hospitals import verify_hospital
from bloodcert.services.station_auth import SignedRequest, Verified, remember_nonce
from bloodcert.storage.repositories.waivers import HospitalKeyRow, LedgerRow, PaidByStation, WaiverRow
from bloodcert.storage.rows import StationRow
from bloodcert.storage.uow import Database, UnitOfWork
from bloodcert.storage.writes import LedgerEntry, NewWaiver

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
    with _refusals_audited(ctx, "waiver.quote") as call:
        with db.reading() as uow:
            verified = _verified(uow.hospitals.get_key, ctx, request, call)
            req = parse_request(request.body, ctx)
            evaluation = _evaluate(uow, ctx, req, lock=False)
        with db.transaction() as uow:
            remember_nonce(uow.nonces, verified, now=ctx.at)
        if ctx.sink is not None:
            ctx.sink.record(AuditEvent(call.actor, "waiver.quote", f"invoice {req.invoice_no}", ctx.client))
        return evaluation.quote


def claim(db: Database, ctx: Context, request: SignedRequest) -> Claimed:
    """Waive what the pools allow and record every draw; the same invoice and body again replays it."""

    def work(uow: UnitOfWork, key: HospitalKeyRow, req: WaiverRequest | None) -> tuple[Claimed, str]:
        assert req is not None
        uow.waivers.lock_invoice(key.hospital_id, req.invoice_no)
        existing = uow.waivers.by_invoice(key.hospital_id, req.invoice_no)
        if existing is not None:
            if existing.request_hash != req.digest:
                raise Conflict(
                    f"invoice {req.invoice_no} was claimed with another body", slug="invoice_conflict"
                )
            return Claimed(False, _waiver_of(uow, existing)), f"waiver {existing.waiver_id} replayed"
        online = uow.claims.holding_invoice(hospital_invoice_key(key.hospital_id, req.invoice_no))
        if online is not None:
            raise Conflict(
                f"invoice {req.invoice_no} was claimed online (claim {online.public_id}, {online.status})",
                slug="invoice_conflict",
            )
        evaluation = _evaluate(uow, ctx, req, lock=True)
        if not evaluation.quote.eligible:
            raise not_eligible(evaluation.quote.reasons)
        waiver = _record(uow, ctx, key, req, evaluation)
        return Claimed(True, waiver), f"waiver {waiver.waiver_id}"

    return _run(db, ctx, request, "waiver.claim", work, parse=True)


def reverse(db: Database, ctx: Context, request: SignedRequest, waiver_id: str) -> Waiver:
    """Undo a waiver (a cancelled bill): new ledger entries give back exactly what it drew."""

    def work(uow: UnitOfWork, key: HospitalKeyRow, _req: WaiverRequest | None) -> tuple[Waiver, str]:
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

    def work(uow: UnitOfWork, key: HospitalKeyRow, _req: WaiverRequest | None) -> tuple[list[Waiver], str]:
        start, end = _day_bound(since, "from"), _day_bound(until, "to", next_day=True)
        rows = uow.waivers.of_hospital(key.hospital_id, start, end)
        ledger = _ledger_by_waiver(uow, [r.id for r in rows])
        return [_to_waiver(r, ledger.get(r.id, [])) for r in rows], f"{len(rows)} waivers"

    return _run(db, ctx, request, "waiver.list", work)


@dataclass(slots=True)
class _Call:
    """Who is calling, once their signature verified (refusals before that are the unknown hospital's)."""

    actor: str = "hospital:unknown"


@contextmanager
def _refusals_audited(ctx: Context, action: str) -> Iterator[_Call]:
    call = _Call()
    try:
        yield call
    except AppError as exc:
        # 401s are audited where every denial is (web/problems.py); the rest here, once rolled back.
        if exc.status != 401 and ctx.sink is not None:
            ctx.sink.record(AuditEvent(call.actor, action, None, ctx.client, exc.slug[:16]))
        raise


def _verified(
    keys: Callable[[str], HospitalKeyRow | None], ctx: Context, request: SignedRequest, call: _Call
) -> Verified[HospitalKeyRow]:
    verified = verify_hospital(keys, request, now=ctx.at, window_s=ctx.window_s)
    call.actor = f"hospital:{verified.key.hospital_code}"
    return verified


def _run(
    db: Database,
    ctx: Context,
    request: SignedRequest,
    action: str,
    work: Callable[[UnitOfWork, HospitalKeyRow, WaiverRequest | None], tuple[T, str]],
    *,
    parse: bool = False,
) -> T:
    """Verify the signature (and check the body) first; then the nonce, the work and its audit entry in
    one transaction."""
    with _refusals_audited(ctx, action) as call:
        with db.donor_reads() as reads:
            verified = _verified(reads.hospital_keys.get, ctx, request, call)
        req = parse_request(request.body, ctx) if parse else None
        with db.transaction() as uow:
            remember_nonce(uow.nonces, verified, now=ctx.at)
            result, obj = work(uow, verified.key, req)
            audit.append(uow, ctx.audit_key, AuditEvent(call.actor, action, obj, ctx.client), ctx.at)
        return result


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
    invoice_no = parse_text(data, "invoice_no", MAX_INVOICE_NO, problems)
    patient = parse_party(data, "patient", problems)
    donor = parse_party(data, "donor", problems)
    relationship = parse_choice(data, "relationship", RELATIONSHIPS, problems)
    proof = parse_choice(data, "proof", PROOFS, problems)
    transfused_on = parse_transfusion_day(data, ctx.book, ctx.at, problems)
    items = parse_items(data, problems)
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


def parse_text(
    data: dict[str, Any], name: str, limit: int, problems: list[ProblemField], field: str = ""
) -> str:
    """A required string field of at most `limit` characters."""
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


def parse_choice(
    data: dict[str, Any], name: str, allowed: tuple[str, ...], problems: list[ProblemField]
) -> str:
    """A required field holding one of `allowed`."""
    value = data.get(name)
    if value is None:
        problems.append(ProblemField(name, "missing_field", f"{name} is required"))
        return ""
    if value not in allowed:
        problems.append(ProblemField(name, "invalid_value", f"{name} must be one of {', '.join(allowed)}"))
        return ""
    return str(value)


def parse_party(data: dict[str, Any], name: str, problems: list[ProblemField]) -> Party | None:
    """A person named by ID type, checked ID number and name."""
    value = data.get(name)
    if not isinstance(value, dict):
        problems.append(ProblemField(name, "missing_field", f"{name} must be an object"))
        return None
    before = len(problems)
    id_type = parse_choice(value, "id_type", tuple(IdType), [])
    if not id_type:
        problems.append(ProblemField(f"{name}.id_type", "invalid_value", "unknown or missing ID type"))
    raw_number = parse_text(value, "id_number", 40, problems, f"{name}.id_number")
    person_name = parse_text(value, "name", 50, problems, f"{name}.name")
    number = normalize_id_number(raw_number) if raw_number else ""
    if id_type and number:
        for p in validate_id_number(
            IdType(id_type), number, sex=None, birth_date=None, field=f"{name}.id_number"
        ):
            problems.append(ProblemField(p.field, p.code, p.message))
    return Party(id_type, number, person_name) if len(problems) == before else None


def parse_transfusion_day(
    data: dict[str, Any], book: RuleBook, at: datetime, problems: list[ProblemField]
) -> date | None:
    """`transfused_at`: a day, not in the future, on which some waiver rule was in force."""
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
    if day > at.astimezone(BEIJING).date():
        problems.append(ProblemField("transfused_at", "future_date", "the transfusion date is in the future"))
        return None
    earliest = book.earliest()
    if earliest is None or day < earliest:
        problems.append(
            ProblemField("transfused_at", "invalid_value", f"no waiver rule was in force before {earliest}")
        )
        return None
    return day


def parse_items(data: dict[str, Any], problems: list[ProblemField]) -> list[Item]:
    """`items`: the transfused components and what each cost, as on the hospital bill."""
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
class Evaluation:
    """A quote, the donor it rests on, and the draws a claim would append to the ledger."""

    quote: Quote
    person_id: int | None
    draws: tuple[Draw, ...]


def refused(*reasons: Reason) -> Evaluation:
    """An evaluation that waives nothing, for these reasons."""
    return Evaluation(Quote(False, 0, 0, False, reasons, ()), None, ())


def _evaluate(uow: UnitOfWork, ctx: Context, req: WaiverRequest, *, lock: bool) -> Evaluation:
    identity = identity_hash_of(ctx.index_key, IdType(req.donor.id_type), req.donor.id_number)
    matches = uow.waivers.persons_with_identity(identity, name_hash_of(ctx.index_key, req.donor.name))
    mine = [m.person_id for m in matches if m.name_matches]
    if not mine:
        return refused(Reason("unknown_donor", "no donor with this ID and name"))
    if len(matches) > 1 and not all(m.settled for m in matches):
        return refused(
            Reason("identity_under_review", "this ID is held by more than one record, under review")
        )
    if req.relationship != "self" and req.proof == "none":
        return refused(Reason("proof_required", "a relative's waiver needs proof of the relationship"))
    if req.proof == "registered_relative" and not uow.relatives.approved_match(
        mine[0],
        identity_hash_of(ctx.index_key, IdType(req.patient.id_type), req.patient.id_number),
        req.relationship,
    ):
        return refused(
            Reason(
                "relative_not_registered",
                "the donor has no approved registration of this patient as a " + req.relationship,
            )
        )
    return evaluate(uow, ctx.book, mine[0], req.relationship, req.transfused_on, req.items, lock=lock)


def evaluate(  # noqa: PLR0917 - the pools of a donor, for a relationship, on a day, for items
    uow: UnitOfWork,
    book: RuleBook,
    person_id: int,
    relationship: str,
    on: date,
    items: Sequence[Item],
    *,
    lock: bool,
) -> Evaluation:
    """What the donor's pools would waive of these items for this relationship on a day: the one plan that
    the hospital counter and online claims share. With `lock`, the pools are held until the transaction
    ends, so that the draws can be appended without another claim planning against the same balance."""
    if lock:
        uow.waivers.lock_pools_of(person_id)
    donations = uow.waivers.counted_donations(person_id)
    report = entitlements(book, donations, relationship=relationship, on=on)
    drawn = {(d.jurisdiction, d.pool): d for d in uow.waivers.drawn(person_id)}
    balances = [_balance(e, drawn) for e in report.entitlements]
    draws = plan(items, balances)
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
    return Evaluation(result, person_id, tuple(draws))


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


def not_eligible(reasons: tuple[Reason, ...]) -> NotEligible:
    """The 422 for a request that waives nothing, with its reasons as field errors."""
    fields = {
        "proof_required": "proof",
        "relative_not_registered": "proof",
        "relationship_not_covered": "relationship",
    }
    errors = [ProblemField(fields.get(r.code, "donor"), r.code, r.message) for r in reasons]
    codes = ", ".join(dict.fromkeys(r.code for r in reasons))
    return NotEligible(f"nothing can be waived: {codes}", errors=errors)


def _record(
    uow: UnitOfWork, ctx: Context, key: HospitalKeyRow, req: WaiverRequest, evaluation: Evaluation
) -> Waiver:
    """Append the waiver and its draws; the answer is built from what was written, not read back."""
    assert evaluation.person_id is not None
    now = naive_utc(ctx.at)
    new = NewWaiver(
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
    pk = uow.waivers.add(new)
    uow.waivers.append([entry_of(d, evaluation.person_id, now, waiver_pk=pk) for d in evaluation.draws])
    codes = uow.waivers.station_codes([d.payer_station_id for d in evaluation.draws])
    basis = tuple(
        Basis(
            d.jurisdiction,
            d.pool.value,
            d.rule_id,
            d.unlimited,
            d.remaining_before_ml,
            d.remaining_before_fen,
            d.ml,
            d.fen,
            codes[d.payer_station_id],
        )
        for d in evaluation.draws
    )
    return Waiver(
        new.waiver_id,
        new.invoice_no,
        new.relationship,
        new.transfused_on,
        new.billed_fen,
        new.waived_fen,
        new.waived_ml,
        new.unlimited,
        now,
        None,
        basis,
    )


def entry_of(
    d: Draw, person_id: int, now: datetime, *, waiver_pk: int | None = None, share_pk: int | None = None
) -> LedgerEntry:
    """The ledger line of a draw, for a hospital waiver or for an approved claim share."""
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
        share_pk,
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
        for c in uow.claims.approved_draws([person_id]):
            draws.append(
                DrawView(
                    c.jurisdiction,
                    c.pool,
                    c.hospital_name,
                    c.transfused_on,
                    c.created_at,
                    c.relationship,
                    c.ml,
                    c.fen,
                    False,
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
