"""Relatives a donor registers (登记亲属) once, with a proof of kinship, instead of proving it at every
hospital: the station holding most of the donor's donations reviews the registration, and an approved
relative is `proof: registered_relative` at any hospital (services/waivers.py checks it).

Removing a relative marks the registration removed; waivers already drawn for them stay in the ledger.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from bloodcert.domain.claims import DECIDED, MAX_MESSAGE, Decision
from bloodcert.domain.clock import naive_utc
from bloodcert.domain.identity import IdType, mask_id_number
from bloodcert.domain.keyed import identity_hash_of
from bloodcert.domain.waivers import RELATIONSHIPS
from bloodcert.errors import Conflict, NotFound, ProblemField, ValidationFailed
from bloodcert.services import audit, notices, uploads
from bloodcert.services.audit import AuditEvent
from bloodcert.services.waivers import NotEligible, parse_choice, parse_party
from bloodcert.storage.repositories.claims import FileMeta, RelativeRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewRelative


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts (as the audit log names them), from where, when, with which keys."""

    actor: str
    client: str | None
    index_key: bytes
    audit_key: bytes
    now: datetime

    def record(self, uow: UnitOfWork, action: str, obj: str | None) -> None:
        """The audit entry of this change, in its transaction."""
        audit.append(uow, self.audit_key, AuditEvent(self.actor, action, obj, self.client), self.now)


@dataclass(frozen=True, slots=True)
class RelativeView:
    """A registration as the donor and the reviewing station see it (the ID number masked)."""

    id: str
    name: str
    id_type: str
    id_number_masked: str
    relationship: str
    status: str
    message: str | None
    station_code: str
    created_at: datetime
    decided_at: datetime | None
    documents: tuple[FileMeta, ...]


def _view(row: RelativeRow, files: Sequence[FileMeta]) -> RelativeView:
    return RelativeView(
        row.public_id,
        row.name,
        row.id_type,
        mask_id_number(row.id_number),
        row.relationship,
        row.status,
        row.message,
        row.station_code,
        row.created_at,
        row.decided_at,
        tuple(f for f in files if f.relative_id == row.id),
    )


def _views(uow: UnitOfWork, rows: Sequence[RelativeRow]) -> list[RelativeView]:
    files = uow.claims.files_of(relative_pks=[r.id for r in rows])
    return [_view(r, files) for r in rows]


def parse_relative(body: bytes) -> dict[str, Any]:
    """The `relative` part: name, ID type and number, relationship (not `self`); 400 with field errors."""
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed("the relative part is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("the relative part must be a JSON object")
    problems: list[ProblemField] = []
    party = parse_party({"relative": data}, "relative", problems)
    relationship = parse_choice(data, "relationship", RELATIONSHIPS[1:], problems)
    if problems or party is None:
        raise ValidationFailed("the relative is malformed", errors=problems)
    return {"party": party, "relationship": relationship}


def register(
    uow: UnitOfWork, who: Actor, person_ids: Sequence[int], body: bytes, proof: Sequence[uploads.Upload]
) -> RelativeView:
    """Register a relative with a proof document; it waits for the reviewing station."""
    parsed = parse_relative(body)
    if len(proof) != 1:
        raise ValidationFailed(
            "one proof document is required",
            errors=[ProblemField("proof", "missing_field", "attach the proof of kinship as `proof`")],
        )
    checked = uploads.check_uploads(proof)
    station_id = uow.relatives.station_with_most_donations(person_ids)
    if station_id is None:
        raise NotEligible(
            "no donation on record to review the registration",
            errors=[ProblemField("donor", "unknown_donor", "no donation on record")],
        )
    party = parsed["party"]
    identity = identity_hash_of(who.index_key, IdType(party.id_type), party.id_number)
    if any(r.identity_hash == identity for r in uow.relatives.of_persons(person_ids)):
        raise Conflict("this relative is registered already", slug="already_registered")
    now = naive_utc(who.now)
    public_id = "rel_" + secrets.token_hex(10)
    pk = uow.relatives.add(
        NewRelative(
            public_id=public_id,
            person_id=person_ids[0],
            station_id=station_id,
            relationship=parsed["relationship"],
            id_type=party.id_type,
            id_number=party.id_number,
            name=party.name,
            identity_hash=identity,
            status="pending",
            created_at=now,
        )
    )
    uploads.store(uow, checked, person_id=person_ids[0], now=who.now, relative_pk=pk)
    who.record(uow, "relative.register", public_id)
    row = uow.relatives.by_id(pk)
    assert row is not None
    return _views(uow, [row])[0]


def of_donor(uow: UnitOfWork, person_ids: Sequence[int]) -> list[RelativeView]:
    """The donor's registered relatives (removed ones left out)."""
    return _views(uow, uow.relatives.of_persons(person_ids))


def _mine(uow: UnitOfWork, person_ids: Sequence[int], public_id: str) -> RelativeRow:
    row = uow.relatives.by_public_id(public_id[:40])
    if row is None or row.person_id not in person_ids or row.removed_at is not None:
        raise NotFound("no such relative")
    return row


def remove(uow: UnitOfWork, who: Actor, person_ids: Sequence[int], public_id: str) -> None:
    """Remove a registration; waivers already drawn for the relative stay."""
    row = _mine(uow, person_ids, public_id)
    uow.relatives.remove(row.id, naive_utc(who.now))
    who.record(uow, "relative.remove", row.public_id)


def answer(  # noqa: PLR0917 - each argument is a separate part of the request
    uow: UnitOfWork,
    who: Actor,
    person_ids: Sequence[int],
    public_id: str,
    message: str,
    proof: Sequence[uploads.Upload],
) -> RelativeView:
    """The donor answers a request for more: a note and, if asked, another proof document."""
    row = _mine(uow, person_ids, public_id)
    checked = uploads.check_uploads(proof, already=len(uow.claims.files_of(relative_pks=[row.id])))
    if not uow.relatives.reopen(row.id, message.strip()[:MAX_MESSAGE] or None):
        raise Conflict("the station did not ask for more", slug="not_waiting")
    uploads.store(uow, checked, person_id=row.person_id, now=who.now, relative_pk=row.id)
    who.record(uow, "relative.answer", row.public_id)
    fresh = uow.relatives.by_id(row.id)
    assert fresh is not None
    return _views(uow, [fresh])[0]


def queue(uow: UnitOfWork, station_id: int | None, status: str | None) -> list[RelativeView]:
    """Registrations a station reviews (every station's for None)."""
    return _views(uow, uow.relatives.for_station(station_id, status))


def decide(  # noqa: PLR0917 - each argument is a separate part of the request
    uow: UnitOfWork,
    who: Actor,
    station_id: int | None,
    public_id: str,
    decision: str,
    message: str,
) -> RelativeView:
    """A station's review of a registration it holds (`station_id` None: an administrator's)."""
    row = uow.relatives.by_public_id(public_id[:40])
    if row is None or row.removed_at is not None or (station_id is not None and row.station_id != station_id):
        raise NotFound("no such registration for this station")
    try:
        chosen = Decision(decision)
    except ValueError:
        raise ValidationFailed(
            "decision is approve, reject or need_info",
            errors=[ProblemField("decision", "invalid_value", "approve, reject or need_info")],
        ) from None
    text = message.strip()[:MAX_MESSAGE]
    if chosen is not Decision.APPROVE and not text:
        raise ValidationFailed(
            "a reason is required", errors=[ProblemField("message", "missing_field", "give the reason")]
        )
    if not uow.relatives.decide(row.id, DECIDED[chosen], text or None, who.actor, naive_utc(who.now)):
        raise Conflict("this registration was decided already", slug="already_decided")
    who.record(uow, f"relative.{chosen.value}", row.public_id)
    notices.request_answered(
        uow,
        row.person_id,
        what="relative",
        reference=row.public_id,
        status=DECIDED[chosen],
        link="/me/relatives",
        now=who.now,
    )
    fresh = uow.relatives.by_id(row.id)
    assert fresh is not None
    return _views(uow, [fresh])[0]


def document(uow: UnitOfWork, token: str) -> uploads.Document | None:
    """A stored document by token (the caller checks who may read it)."""
    found = uow.claims.file_by_token(token[:64])
    return uploads.Document(*found) if found else None
