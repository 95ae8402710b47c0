"""Registered relatives, online claims, their shares, documents and timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from bloodcert.storage.reads import Query, ReadModel
from bloodcert.storage.tables import (
    claim_events,
    claim_files,
    claim_shares,
    claims,
    donations,
    relatives,
    stations,
    waiver_ledger,
)
from bloodcert.storage.writes import NewClaim, NewClaimEvent, NewClaimFile, NewClaimShare, NewRelative


@dataclass(frozen=True, slots=True)
class RelativeRow:
    id: int
    public_id: str
    person_id: int
    station_id: int
    station_code: str
    relationship: str
    id_type: str
    id_number: str
    name: str
    identity_hash: bytes
    status: str
    message: str | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    removed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimRow:
    id: int
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
    escalated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class ShareRow:
    id: int
    claim_id: int
    station_id: int
    station_code: str
    station_name: str
    province: str
    plan: str
    planned_ml: int
    planned_fen: int
    status: str
    approved_ml: int | None
    approved_fen: int | None
    payout_reference: str | None
    decided_at: datetime | None
    decided_by: str | None


@dataclass(frozen=True, slots=True)
class FileMeta:
    """An uploaded document without its content."""

    id: int
    token: str
    person_id: int
    claim_id: int | None
    relative_id: int | None
    kind: str
    media_type: str
    size: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    claim_id: int
    share_id: int | None
    actor: str
    kind: str
    message: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimDraw:
    """A ledger line an approved claim share drew, with its claim's hospital and patient."""

    jurisdiction: str
    pool: str
    hospital_name: str
    transfused_on: date
    created_at: datetime
    relationship: str
    ml: int
    fen: int


@dataclass(frozen=True, slots=True)
class ClaimVolume:
    """Claims a station reviewed (or every station, `station_code` None): counts and decision times."""

    station_code: str | None
    shares: int
    open: int
    approved: int
    rejected: int
    need_info: int
    overdue: int
    approved_fen: int
    decision_seconds: list[float]


_RELATIVE_COLUMNS = (
    relatives.c.id,
    relatives.c.public_id,
    relatives.c.person_id,
    relatives.c.station_id,
    stations.c.code,
    relatives.c.relationship,
    relatives.c.id_type,
    relatives.c.id_number,
    relatives.c.name,
    relatives.c.identity_hash,
    relatives.c.status,
    relatives.c.message,
    relatives.c.created_at,
    relatives.c.decided_at,
    relatives.c.decided_by,
    relatives.c.removed_at,
)
_CLAIM_COLUMNS = tuple(claims.c[name] for name in ClaimRow.__dataclass_fields__)
_CLAIM = ReadModel(ClaimRow, claims)
# Every hospital waiver claim asks it (storage/reads.py: compiled once, run on the driver connection).
_HOLDING_INVOICE = Query(
    _CLAIM,
    _CLAIM.select().where(claims.c.invoice_key == bindparam("invoice_key"), claims.c.status != "rejected"),
)
_SHARE_COLUMNS = (
    claim_shares.c.id,
    claim_shares.c.claim_id,
    claim_shares.c.station_id,
    stations.c.code,
    stations.c.name,
    claim_shares.c.province,
    claim_shares.c.plan,
    claim_shares.c.planned_ml,
    claim_shares.c.planned_fen,
    claim_shares.c.status,
    claim_shares.c.approved_ml,
    claim_shares.c.approved_fen,
    claim_shares.c.payout_reference,
    claim_shares.c.decided_at,
    claim_shares.c.decided_by,
)
_FILE_COLUMNS = tuple(claim_files.c[name] for name in FileMeta.__dataclass_fields__)
_EVENT_COLUMNS = tuple(claim_events.c[name] for name in EventRow.__dataclass_fields__)


def _values(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__struct_fields__}


def _relative(row: Any) -> RelativeRow:
    values: list[Any] = list(row)
    values[9] = bytes(values[9])
    return RelativeRow(*values)


def _share(row: Any) -> ShareRow:
    values: list[Any] = list(row)
    return ShareRow(*values)


class RelativeRepository:
    """Queries over `relatives`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, row: NewRelative) -> int:
        """Register a relative; returns its row id."""
        result = self.conn.execute(insert(relatives).values(**_values(row)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def _select(self) -> Any:
        return select(*_RELATIVE_COLUMNS).join(stations, stations.c.id == relatives.c.station_id)

    def of_persons(self, person_ids: Sequence[int]) -> list[RelativeRow]:
        """A donor's relatives that were not removed, oldest first."""
        if not person_ids:
            return []
        query = self._select().where(relatives.c.person_id.in_(person_ids), relatives.c.removed_at.is_(None))
        return [_relative(r) for r in self.conn.execute(query.order_by(relatives.c.id))]

    def by_public_id(self, public_id: str) -> RelativeRow | None:
        """A relative by its public id (removed ones too), or None."""
        row = self.conn.execute(self._select().where(relatives.c.public_id == public_id)).first()
        return _relative(row) if row else None

    def by_id(self, pk: int) -> RelativeRow | None:
        """A relative by row id, or None."""
        row = self.conn.execute(self._select().where(relatives.c.id == pk)).first()
        return _relative(row) if row else None

    def by_ids(self, pks: Sequence[int]) -> list[RelativeRow]:
        """Relatives by row id (removed ones too)."""
        if not pks:
            return []
        return [_relative(r) for r in self.conn.execute(self._select().where(relatives.c.id.in_(pks)))]

    def for_station(self, station_id: int | None, status: str | None) -> list[RelativeRow]:
        """Relatives a station reviews (every station's when None), optionally in one status, oldest first."""
        query = self._select().where(relatives.c.removed_at.is_(None))
        if station_id is not None:
            query = query.where(relatives.c.station_id == station_id)
        if status:
            query = query.where(relatives.c.status == status)
        return [_relative(r) for r in self.conn.execute(query.order_by(relatives.c.id).limit(500))]

    def approved_match(self, person_id: int, identity_hash: bytes, relationship: str) -> bool:
        """Whether the person registered this relative (by ID) with this relationship, approved and kept."""
        row = self.conn.execute(
            select(relatives.c.id).where(
                relatives.c.person_id == person_id,
                relatives.c.identity_hash == identity_hash,
                relatives.c.relationship == relationship,
                relatives.c.status == "approved",
                relatives.c.removed_at.is_(None),
            )
        ).first()
        return row is not None

    def decide(self, pk: int, status: str, message: str | None, by: str, now: datetime) -> bool:
        """Record a review; False when the relative was removed or already decided for good."""
        result = self.conn.execute(
            update(relatives)
            .where(
                relatives.c.id == pk,
                relatives.c.removed_at.is_(None),
                relatives.c.status.in_(("pending", "need_info")),
            )
            .values(status=status, message=message, decided_by=by, decided_at=now)
        )
        return result.rowcount == 1

    def reopen(self, pk: int, message: str | None) -> bool:
        """The donor answered a request for more: back to pending, with the donor's note."""
        result = self.conn.execute(
            update(relatives)
            .where(relatives.c.id == pk, relatives.c.status == "need_info", relatives.c.removed_at.is_(None))
            .values(status="pending", message=message)
        )
        return result.rowcount == 1

    def remove(self, pk: int, now: datetime) -> bool:
        """Mark a relative removed (the row stays, so that past waivers keep their story)."""
        result = self.conn.execute(
            update(relatives)
            .where(relatives.c.id == pk, relatives.c.removed_at.is_(None))
            .values(removed_at=now)
        )
        return result.rowcount == 1

    def station_with_most_donations(self, person_ids: Sequence[int]) -> int | None:
        """The station holding most of these persons' valid donations (the latest one on a tie), or None."""
        if not person_ids:
            return None
        row = self.conn.execute(
            select(donations.c.station_id)
            .where(donations.c.person_id.in_(person_ids), donations.c.status == "valid")
            .group_by(donations.c.station_id)
            .order_by(func.count().desc(), func.max(donations.c.donated_at).desc())
            .limit(1)
        ).first()
        return int(row[0]) if row else None


class ClaimRepository:
    """Queries over `claims`, `claim_shares`, `claim_files` and `claim_events`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, row: NewClaim) -> int:
        """Record a claim; returns its row id."""
        result = self.conn.execute(insert(claims).values(**_values(row)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def add_share(self, row: NewClaimShare) -> int:
        """Record one station's share; returns its row id."""
        result = self.conn.execute(insert(claim_shares).values(**_values(row)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def add_file(self, row: NewClaimFile) -> int:
        """Store an uploaded document (encrypted by the column type); returns its row id."""
        result = self.conn.execute(insert(claim_files).values(**_values(row)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def add_event(self, row: NewClaimEvent) -> None:
        """Append a line to a claim's timeline."""
        self.conn.execute(insert(claim_events).values(**_values(row)))

    def by_public_id(self, public_id: str) -> ClaimRow | None:
        """A claim by its public id, or None."""
        row = self.conn.execute(select(*_CLAIM_COLUMNS).where(claims.c.public_id == public_id)).first()
        return ClaimRow(*row) if row else None

    def holding_invoice(self, invoice_key: str) -> ClaimRow | None:
        """The claim that holds an invoice (any but a rejected one), or None."""
        raw = self.conn.connection.driver_connection
        return _HOLDING_INVOICE.first(raw, self.conn.dialect, invoice_key=invoice_key)

    def of_persons(self, person_ids: Sequence[int]) -> list[ClaimRow]:
        """A donor's claims, newest first."""
        if not person_ids:
            return []
        query = select(*_CLAIM_COLUMNS).where(claims.c.person_id.in_(person_ids)).order_by(claims.c.id.desc())
        return [ClaimRow(*r) for r in self.conn.execute(query)]

    def by_ids(self, pks: Sequence[int]) -> list[ClaimRow]:
        """Claims by row id, newest first."""
        if not pks:
            return []
        query = select(*_CLAIM_COLUMNS).where(claims.c.id.in_(pks)).order_by(claims.c.id.desc())
        return [ClaimRow(*r) for r in self.conn.execute(query)]

    def shares_of(self, claim_pks: Sequence[int]) -> list[ShareRow]:
        """The shares of some claims, in the order they were planned."""
        if not claim_pks:
            return []
        query = (
            select(*_SHARE_COLUMNS)
            .join(stations, stations.c.id == claim_shares.c.station_id)
            .where(claim_shares.c.claim_id.in_(claim_pks))
            .order_by(claim_shares.c.id)
        )
        return [_share(r) for r in self.conn.execute(query)]

    def share_of_station(self, claim_pk: int, station_id: int) -> ShareRow | None:
        """A station's share of a claim, or None."""
        for share in self.shares_of([claim_pk]):
            if share.station_id == station_id:
                return share
        return None

    def events_of(self, claim_pks: Sequence[int]) -> list[EventRow]:
        """The timelines of some claims, oldest line first."""
        if not claim_pks:
            return []
        query = (
            select(*_EVENT_COLUMNS).where(claim_events.c.claim_id.in_(claim_pks)).order_by(claim_events.c.id)
        )
        return [EventRow(*r) for r in self.conn.execute(query)]

    def files_of(self, claim_pks: Sequence[int] = (), relative_pks: Sequence[int] = ()) -> list[FileMeta]:
        """The documents of some claims and relatives (without their content), in upload order."""
        if not claim_pks and not relative_pks:
            return []
        query = select(*_FILE_COLUMNS).where(
            claim_files.c.claim_id.in_(claim_pks) | claim_files.c.relative_id.in_(relative_pks)
        )
        return [FileMeta(*r) for r in self.conn.execute(query.order_by(claim_files.c.id))]

    def file_by_token(self, token: str) -> tuple[FileMeta, bytes] | None:
        """A document and its decrypted content by token, or None."""
        row = self.conn.execute(
            select(*_FILE_COLUMNS, claim_files.c.content).where(claim_files.c.token == token)
        ).first()
        return (FileMeta(*row[:-1]), bytes(row[-1])) if row else None

    def approved_draws(self, person_ids: Sequence[int]) -> list[ClaimDraw]:
        """What approved shares of these persons' claims drew on their pools, newest first."""
        if not person_ids:
            return []
        query = (
            select(
                waiver_ledger.c.jurisdiction,
                waiver_ledger.c.pool,
                claims.c.hospital_name,
                claims.c.transfused_on,
                waiver_ledger.c.created_at,
                claims.c.relationship,
                waiver_ledger.c.ml,
                waiver_ledger.c.fen,
            )
            .join(claim_shares, claim_shares.c.id == waiver_ledger.c.claim_share_id)
            .join(claims, claims.c.id == claim_shares.c.claim_id)
            .where(claims.c.person_id.in_(person_ids), waiver_ledger.c.entry == "draw")
            .order_by(waiver_ledger.c.id.desc())
        )
        return [
            ClaimDraw(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]))
            for r in self.conn.execute(query)
        ]

    def count_files(self, claim_pk: int) -> int:
        """How many documents a claim holds."""
        query = select(func.count()).select_from(claim_files).where(claim_files.c.claim_id == claim_pk)
        return int(self.conn.execute(query).scalar_one())

    def queue(
        self,
        station_id: int | None,
        status: str | None,
        due_before: datetime | None,
        province: str | None = None,
    ) -> list[ShareRow]:
        """Shares a station reviews (every station's when None), by due date: one status, or only overdue;
        optionally only those a province's stations pay."""
        query = (
            select(*_SHARE_COLUMNS)
            .join(stations, stations.c.id == claim_shares.c.station_id)
            .join(claims, claims.c.id == claim_shares.c.claim_id)
        )
        if station_id is not None:
            query = query.where(claim_shares.c.station_id == station_id)
        if status:
            query = query.where(claim_shares.c.status == status)
        if province:
            query = query.where(claim_shares.c.province.startswith(province[:2]))
        if due_before is not None:
            query = query.where(
                claims.c.due_at <= due_before, claim_shares.c.status.in_(("submitted", "need_info"))
            )
        query = query.order_by(claims.c.due_at, claim_shares.c.id).limit(500)
        return [_share(r) for r in self.conn.execute(query)]

    def decide_share(  # noqa: PLR0917 - one argument per column the decision writes
        self,
        share_pk: int,
        status: str,
        approved: tuple[int, int] | None,
        payout_reference: str | None,
        by: str,
        now: datetime,
    ) -> bool:
        """Record a station's decision; False when the share was already approved or rejected."""
        values: dict[str, Any] = {"status": status, "decided_at": now, "decided_by": by}
        if approved is not None:
            values |= {"approved_ml": approved[0], "approved_fen": approved[1]}
        if payout_reference is not None:
            values["payout_reference"] = payout_reference
        result = self.conn.execute(
            update(claim_shares)
            .where(claim_shares.c.id == share_pk, claim_shares.c.status.in_(("submitted", "need_info")))
            .values(**values)
        )
        return result.rowcount == 1

    def reopen_shares(self, claim_pk: int) -> None:
        """The donor answered: every share that asked for more is back in its station's queue."""
        self.conn.execute(
            update(claim_shares)
            .where(claim_shares.c.claim_id == claim_pk, claim_shares.c.status == "need_info")
            .values(status="submitted")
        )

    def set_status(self, claim_pk: int, status: str, now: datetime, decided: bool) -> None:
        """A claim's status after a decision or an answer (and when it was decided for good)."""
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if decided:
            values["decided_at"] = now
        self.conn.execute(update(claims).where(claims.c.id == claim_pk).values(**values))

    def overdue_unescalated(self, now: datetime) -> list[ClaimRow]:
        """Open claims past their due date that were not escalated yet."""
        query = select(*_CLAIM_COLUMNS).where(
            claims.c.due_at <= now,
            claims.c.escalated_at.is_(None),
            claims.c.status.in_(("submitted", "in_review", "need_info")),
        )
        return [ClaimRow(*r) for r in self.conn.execute(query.order_by(claims.c.id).limit(10_000))]

    def mark_escalated(self, claim_pk: int, now: datetime) -> bool:
        """Mark a claim escalated; False when it already was."""
        result = self.conn.execute(
            update(claims)
            .where(and_(claims.c.id == claim_pk, claims.c.escalated_at.is_(None)))
            .values(escalated_at=now)
        )
        return result.rowcount == 1

    def volumes(self, station_id: int | None, now: datetime) -> list[ClaimVolume]:
        """Per station (one, or all): shares by status, overdue, paid, and each decision's time in seconds."""
        query = (
            select(
                stations.c.code,
                claim_shares.c.status,
                claims.c.due_at,
                claims.c.created_at,
                claim_shares.c.decided_at,
                claim_shares.c.approved_fen,
            )
            .join(stations, stations.c.id == claim_shares.c.station_id)
            .join(claims, claims.c.id == claim_shares.c.claim_id)
        )
        if station_id is not None:
            query = query.where(claim_shares.c.station_id == station_id)
        found: dict[str, dict[str, Any]] = {}
        for code, status, due_at, created_at, decided_at, fen in self.conn.execute(query):
            v = found.setdefault(code, {"statuses": [], "overdue": 0, "fen": 0, "seconds": []})
            v["statuses"].append(status)
            if status in ("submitted", "need_info") and due_at <= now:
                v["overdue"] += 1
            if status in ("approved", "rejected") and decided_at is not None:
                v["seconds"].append((decided_at - created_at).total_seconds())
            v["fen"] += int(fen or 0)
        return [
            ClaimVolume(
                code,
                len(v["statuses"]),
                v["statuses"].count("submitted"),
                v["statuses"].count("approved"),
                v["statuses"].count("rejected"),
                v["statuses"].count("need_info"),
                v["overdue"],
                v["fen"],
                v["seconds"],
            )
            for code, v in sorted(found.items())
        ]
