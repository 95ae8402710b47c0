"""Hospitals, their signing keys, waivers and the waiver ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, and_, bindparam, func, insert, or_, select, text, update

from bloodcert.domain.waivers import CountedDonation
from bloodcert.storage.bulk import insert_rows, insert_rows_returning_ids
from bloodcert.storage.reads import Query, ReadModel
from bloodcert.storage.tables import (
    donations,
    hospital_keys,
    hospitals,
    persons,
    stations,
    waiver_ledger,
    waivers,
)
from bloodcert.storage.writes import LedgerEntry, NewWaiver

# Advisory lock classes (two-int form) for PostgreSQL: one donor's pools, one hospital's invoice number.
POOL_LOCK = 0x77616976  # "waiv"
INVOICE_LOCK = 0x696E766F  # "invo"


@dataclass(frozen=True, slots=True)
class HospitalRow:
    id: int
    code: str
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class HospitalKeyRow:
    key_id: str
    hospital_id: int
    hospital_code: str
    alg: str
    public_key_pem: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IdentityMatch:
    """A merged person holding an ID type + number, and whether the name matches too."""

    person_id: int
    name_matches: bool
    settled: bool = False  # an administrator decided the persons under this ID are different people


@dataclass(frozen=True, slots=True)
class WaiverRow:
    id: int
    waiver_id: str
    hospital_id: int
    hospital_code: str
    hospital_name: str
    invoice_no: str
    request_hash: bytes
    person_id: int
    relationship: str
    proof: str
    transfused_on: date
    billed_fen: int
    waived_fen: int
    waived_ml: int
    unlimited: bool
    created_at: datetime
    reversed_at: datetime | None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A ledger line as read back, with the paying station's code."""

    waiver_pk: int
    jurisdiction: str
    pool: str
    rule_id: str
    station_id: int
    station_code: str
    entry: str
    ml: int
    fen: int
    unlimited: bool
    remaining_before_ml: int | None
    remaining_before_fen: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Drawn:
    """What a pool has given so far (draws less reversals), counting only draws on a limited pool."""

    jurisdiction: str
    pool: str
    ml: int
    fen: int


@dataclass(frozen=True, slots=True)
class PaidByStation:
    """Waivers a station pays, grouped by hospital and month."""

    station_code: str
    hospital_code: str
    hospital_name: str
    month: str
    count: int
    ml: int
    fen: int


_HOSPITAL_COLUMNS = (hospitals.c.id, hospitals.c.code, hospitals.c.name, hospitals.c.region)


@dataclass(frozen=True, slots=True)
class _Holder:
    """A person holding an ID type + number."""

    id: int
    name_hash: bytes
    identity_settled_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Counted:
    """A valid donation with what the waiver rules read of it, its donor and its station."""

    donated_on: date
    kind: str
    volume_ml: int | None
    units: int | None
    test_result: str | None
    rhd: str | None
    region: str
    station_id: int


@dataclass(frozen=True, slots=True)
class _Sum:
    jurisdiction: str
    pool: str
    ml: Any
    fen: Any


@dataclass(frozen=True, slots=True)
class _Code:
    id: int
    code: str


# The claim path's reads: read models compiled once per dialect and run on the driver connection of the unit
# of work (storage/reads.py), since building and compiling a statement costs more than running it on an
# index. A person an administrator merged into another is no longer a holder of the ID
# (services/identity_review.py).
_HOLDER = ReadModel(_Holder, persons)
_PERSONS_WITH_IDENTITY = Query(
    _HOLDER,
    _HOLDER.select()
    .where(persons.c.identity_hash == bindparam("identity_hash"), persons.c.merged_into.is_(None))
    .order_by(persons.c.id),
)
_COUNTED = ReadModel(
    _Counted,
    {
        "donated_on": donations.c.donated_on,
        "kind": donations.c.kind,
        "volume_ml": donations.c.volume_ml,
        "units": donations.c.units,
        "test_result": donations.c.test_result,
        "rhd": persons.c.rhd,
        "region": stations.c.region,
        "station_id": donations.c.station_id,
    },
)
_COUNTED_DONATIONS = Query(
    _COUNTED,
    _COUNTED.select()
    .select_from(
        donations.join(stations, stations.c.id == donations.c.station_id).join(
            persons, persons.c.id == donations.c.person_id
        )
    )
    .where(donations.c.person_id == bindparam("person_id"), donations.c.status == "valid")
    .order_by(donations.c.donated_on, donations.c.id),
)
_SUM = ReadModel(
    _Sum,
    {
        "jurisdiction": waiver_ledger.c.jurisdiction,
        "pool": waiver_ledger.c.pool,
        "ml": func.coalesce(func.sum(waiver_ledger.c.ml), 0).label("ml"),
        "fen": func.coalesce(func.sum(waiver_ledger.c.fen), 0).label("fen"),
    },
)
_DRAWN = Query(
    _SUM,
    _SUM.select()
    .where(
        # The draws of persons merged into this one count against it too (and go back when a merge is undone).
        or_(
            waiver_ledger.c.person_id == bindparam("person_id"),
            waiver_ledger.c.person_id.in_(
                select(persons.c.id).where(persons.c.merged_into == bindparam("person_id"))
            ),
        ),
        waiver_ledger.c.unlimited.is_(False),
    )
    .group_by(waiver_ledger.c.jurisdiction, waiver_ledger.c.pool),
)
_WAIVER = ReadModel(
    WaiverRow,
    {**{c.name: c for c in waivers.c}, "hospital_code": hospitals.c.code, "hospital_name": hospitals.c.name},
)
_WAIVER_BY_INVOICE = Query(
    _WAIVER,
    _WAIVER.select()
    .select_from(waivers.join(hospitals, hospitals.c.id == waivers.c.hospital_id))
    .where(
        waivers.c.hospital_id == bindparam("hospital_id"), waivers.c.invoice_no == bindparam("invoice_no")
    ),
)
_CODE = ReadModel(_Code, stations)
_STATION_CODES = Query(
    _CODE, _CODE.select().where(stations.c.id.in_(bindparam("ids", expanding=True))), ("ids",)
)
_KEY = ReadModel(HospitalKeyRow, {**{c.name: c for c in hospital_keys.c}, "hospital_code": hospitals.c.code})
_KEY_BY_ID = Query(
    _KEY,
    _KEY.select()
    .select_from(hospital_keys.join(hospitals, hospitals.c.id == hospital_keys.c.hospital_id))
    .where(hospital_keys.c.key_id == bindparam("key_id")),
)


class HospitalKeyReads:
    """Hospital keys by id on a driver connection: what a signature check reads before any write."""

    def __init__(self, dbapi_connection: Any, dialect: Dialect) -> None:
        self.raw = dbapi_connection
        self.dialect = dialect

    def get(self, key_id: str) -> HospitalKeyRow | None:
        """A hospital key by its key id, with the owning hospital's code."""
        return _KEY_BY_ID.first(self.raw, self.dialect, key_id=key_id)


def _any(row: Any) -> Any:
    return row


def _waiver(row: Any) -> WaiverRow:
    return WaiverRow(*row)


class HospitalRepository:
    """Queries over `hospitals` and `hospital_keys`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, *, code: str, name: str, region: str, now: datetime) -> int:
        """Register a hospital; returns its id."""
        result = self.conn.execute(
            insert(hospitals).values(code=code, name=name, region=region, created_at=now)
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def get_by_code(self, code: str) -> HospitalRow | None:
        """The hospital with this code, or None."""
        row = self.conn.execute(select(*_HOSPITAL_COLUMNS).where(hospitals.c.code == code)).first()
        return HospitalRow(*row) if row else None

    def all(self) -> list[HospitalRow]:
        """Every registered hospital, by code."""
        return [
            HospitalRow(*r) for r in self.conn.execute(select(*_HOSPITAL_COLUMNS).order_by(hospitals.c.code))
        ]

    def add_key(self, *, hospital_id: int, key_id: str, alg: str, public_key_pem: str, now: datetime) -> None:
        """Register a public key for a hospital."""
        self.conn.execute(
            insert(hospital_keys).values(
                key_id=key_id, hospital_id=hospital_id, alg=alg, public_key_pem=public_key_pem, created_at=now
            )
        )

    def get_key(self, key_id: str) -> HospitalKeyRow | None:
        """A hospital key by its key id, with the owning hospital's code."""
        return HospitalKeyReads(self.conn.connection.driver_connection, self.conn.dialect).get(key_id)

    def keys_of_hospital(self, hospital_id: int) -> list[HospitalKeyRow]:
        """All keys a hospital has ever had, newest first."""
        rows = self.conn.execute(
            _KEY.select()
            .join(hospitals, hospitals.c.id == hospital_keys.c.hospital_id)
            .where(hospital_keys.c.hospital_id == hospital_id)
            .order_by(hospital_keys.c.created_at.desc(), hospital_keys.c.id.desc())
        )
        return [HospitalKeyRow(*r) for r in rows]

    def revoke_key(self, key_id: str, now: datetime) -> bool:
        """Revoke a key; False when it does not exist or was already revoked."""
        result = self.conn.execute(
            update(hospital_keys)
            .where(hospital_keys.c.key_id == key_id, hospital_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1


class WaiverRepository:
    """Queries over `waivers` and the append-only `waiver_ledger`, and what a waiver reads of donations."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @property
    def _raw(self) -> Any:
        return self.conn.connection.driver_connection

    def _advisory(self, cls: int, key: int) -> None:
        # SQLite's writers already take turns (BEGIN IMMEDIATE); PostgreSQL waits here until the holder ends.
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": cls, "k": key})

    def lock_pools_of(self, person_id: int) -> None:
        """Hold one donor's pools until the transaction ends, so that concurrent claims never overdraw."""
        self._advisory(POOL_LOCK, person_id % 2**31)

    def lock_invoice(self, hospital_id: int, invoice_no: str) -> None:
        """Hold a hospital's invoice number until the transaction ends (a retry waits, then replays)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(
                text("SELECT pg_advisory_xact_lock(:c, hashtext(:k))"),
                {"c": INVOICE_LOCK, "k": f"{hospital_id}|{invoice_no}"},
            )

    def persons_with_identity(self, identity_hash: bytes, name_hash: bytes) -> list[IdentityMatch]:
        """Every merged person with this ID type + number, and whether each has this name."""
        rows = _PERSONS_WITH_IDENTITY.all(self._raw, self.conn.dialect, identity_hash=identity_hash)
        return [
            IdentityMatch(r.id, bytes(r.name_hash) == name_hash, r.identity_settled_at is not None)
            for r in rows
        ]

    def counted_donations(self, person_id: int) -> list[CountedDonation]:
        """A person's valid donations as the waiver rules count them, with the collecting station's region."""
        rows = _COUNTED_DONATIONS.all(self._raw, self.conn.dialect, person_id=person_id)
        return [
            CountedDonation(
                r.donated_on,
                r.kind,
                r.volume_ml,
                r.units,
                r.test_result != "unqualified",
                r.rhd == "negative",
                r.region,
                int(r.station_id),
            )
            for r in rows
        ]

    def drawn(self, person_id: int) -> list[Drawn]:
        """Net draws on each of a person's limited pools."""
        rows = _DRAWN.all(self._raw, self.conn.dialect, person_id=person_id)
        return [Drawn(r.jurisdiction, r.pool, int(r.ml), int(r.fen)) for r in rows]

    def by_invoice(self, hospital_id: int, invoice_no: str) -> WaiverRow | None:
        """A hospital's waiver for an invoice number, or None."""
        return _WAIVER_BY_INVOICE.first(
            self._raw, self.conn.dialect, hospital_id=hospital_id, invoice_no=invoice_no
        )

    def station_codes(self, station_ids: Sequence[int]) -> dict[int, str]:
        """The codes of some stations, by id."""
        if not station_ids:
            return {}
        rows = _STATION_CODES.all(self._raw, self.conn.dialect, ids=sorted(set(station_ids)))
        return {int(r.id): str(r.code) for r in rows}

    def by_waiver_id(self, hospital_id: int, waiver_id: str) -> WaiverRow | None:
        """A hospital's own waiver by its public id, or None (another hospital's is None too)."""
        return self._one(and_(waivers.c.hospital_id == hospital_id, waivers.c.waiver_id == waiver_id))

    def _one(self, condition: object) -> WaiverRow | None:
        row = self.conn.execute(
            _WAIVER.select().join(hospitals, hospitals.c.id == waivers.c.hospital_id).where(condition)  # type: ignore[arg-type]
        ).first()
        return _waiver(row) if row else None

    def of_hospital(
        self, hospital_id: int, since: datetime | None, until: datetime | None
    ) -> list[WaiverRow]:
        """A hospital's waivers recorded in [since, until), oldest first."""
        query = _WAIVER.select().join(hospitals, hospitals.c.id == waivers.c.hospital_id)
        query = query.where(waivers.c.hospital_id == hospital_id)
        if since is not None:
            query = query.where(waivers.c.created_at >= since)
        if until is not None:
            query = query.where(waivers.c.created_at < until)
        return [_waiver(r) for r in self.conn.execute(query.order_by(waivers.c.id).limit(10_000))]

    def of_person(self, person_ids: Sequence[int]) -> list[WaiverRow]:
        """Waivers drawn on these persons' pools, newest first."""
        if not person_ids:
            return []
        query = (
            _WAIVER.select()
            .join(hospitals, hospitals.c.id == waivers.c.hospital_id)
            .where(waivers.c.person_id.in_(person_ids))
            .order_by(waivers.c.id.desc())
        )
        return [_waiver(r) for r in self.conn.execute(query)]

    def add(self, waiver: NewWaiver) -> int:
        """Record a waiver; returns its row id."""
        return insert_rows_returning_ids(self.conn, waivers, [waiver])[0]

    def mark_reversed(self, waiver_pk: int, now: datetime) -> bool:
        """Mark a waiver reversed; False when it already was."""
        result = self.conn.execute(
            update(waivers)
            .where(waivers.c.id == waiver_pk, waivers.c.reversed_at.is_(None))
            .values(reversed_at=now)
        )
        return result.rowcount == 1

    def append(self, entries: Sequence[LedgerEntry]) -> None:
        """Append ledger lines (never updated, never deleted)."""
        insert_rows(self.conn, waiver_ledger, entries)

    def ledger_of(self, waiver_pks: Sequence[int]) -> list[LedgerRow]:
        """The ledger lines of some waivers, in the order they were written."""
        if not waiver_pks:
            return []
        rows = self.conn.execute(
            select(
                waiver_ledger.c.waiver_id,
                waiver_ledger.c.jurisdiction,
                waiver_ledger.c.pool,
                waiver_ledger.c.rule_id,
                waiver_ledger.c.station_id,
                stations.c.code,
                waiver_ledger.c.entry,
                waiver_ledger.c.ml,
                waiver_ledger.c.fen,
                waiver_ledger.c.unlimited,
                waiver_ledger.c.remaining_before_ml,
                waiver_ledger.c.remaining_before_fen,
                waiver_ledger.c.created_at,
            )
            .join(stations, stations.c.id == waiver_ledger.c.station_id)
            .where(waiver_ledger.c.waiver_id.in_(waiver_pks))
            .order_by(waiver_ledger.c.id)
        )
        return [LedgerRow(*_any(r)) for r in rows]

    def paid_by_stations(self, station_id: int | None) -> list[PaidByStation]:
        """Net waivers paid, by paying station, hospital and month (one station's, or all)."""
        month = func.substr(func.cast(waiver_ledger.c.created_at, type_=waivers.c.invoice_no.type), 1, 7)
        query = (
            select(
                stations.c.code,
                hospitals.c.code,
                hospitals.c.name,
                month,
                func.count(func.distinct(waiver_ledger.c.waiver_id)),
                func.sum(waiver_ledger.c.ml),
                func.sum(waiver_ledger.c.fen),
            )
            .join(stations, stations.c.id == waiver_ledger.c.station_id)
            .join(waivers, waivers.c.id == waiver_ledger.c.waiver_id)
            .join(hospitals, hospitals.c.id == waivers.c.hospital_id)
            .where(waivers.c.reversed_at.is_(None))
            .group_by(stations.c.code, hospitals.c.code, hospitals.c.name, month)
            .order_by(stations.c.code, month, hospitals.c.code)
        )
        if station_id is not None:
            query = query.where(waiver_ledger.c.station_id == station_id)
        return [
            PaidByStation(r[0], r[1], r[2], r[3], int(r[4]), int(r[5] or 0), int(r[6] or 0))
            for r in self.conn.execute(query)
        ]
