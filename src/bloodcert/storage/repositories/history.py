"""Read queries behind the donor's national history (爱心历程), on the raw driver connection.

These are the hottest queries of the platform (every donor page and API read): named read models over the
tables' own columns (storage/reads.py), compiled once per dialect and run on the DBAPI cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Dialect,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)

from bloodcert.storage.reads import Query, ReadModel
from bloodcert.storage.rows import HistoryRow, OwnedCertificate, PersonRow, SessionRow
from bloodcert.storage.tables import certificates, donations, donor_sessions, persons, stations

PERSON = ReadModel(PersonRow, persons)
HISTORY = ReadModel(
    HistoryRow,
    {
        "donation_id": donations.c.id,
        "person_id": donations.c.person_id,
        "certificate_no": donations.c.certificate_no,
        "donation_no": donations.c.donation_no,
        "donated_at": donations.c.donated_at,
        "utc_offset_min": donations.c.utc_offset_min,
        "kind": donations.c.kind,
        "volume_ml": donations.c.volume_ml,
        "units": donations.c.units,
        "station_code": stations.c.code,
        "station_name": stations.c.name,
        "site_name": donations.c.site_name,
        "site_type": donations.c.site_type,
        "site_region": donations.c.site_region,
        "test_result": donations.c.test_result,
    },
)
OWNED_CERTIFICATE = ReadModel(OwnedCertificate, certificates)


class _SessionPerson(msgspec.Struct):
    """A session joined with one person of its ID (None when there is none) and whether the name matches."""

    id: int
    identity_hash: bytes
    name_hash: bytes
    method: str
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    session_person_id: int | None
    person_id: int | None
    same_name: bool | None
    settled_at: datetime | None
    merged_into: int | None


_SESSION_PERSON = ReadModel(
    _SessionPerson,
    {
        **{c.name: c for c in donor_sessions.c},
        "session_person_id": donor_sessions.c.person_id,
        "person_id": persons.c.id,
        "same_name": (persons.c.name_hash == donor_sessions.c.name_hash).label("same_name"),
        "settled_at": persons.c.identity_settled_at,
        "merged_into": persons.c.merged_into,
    },
)


class _SessionPersonReplayed(_SessionPerson):
    """The same, read on a standby, with the WAL position the standby had replayed (as a number)."""

    replayed: int | None


# The WAL position a standby has replayed, as a number.
_REPLAYED: ColumnElement[Any] = literal_column("(pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint")
_SESSION_PERSON_REPLAYED = ReadModel(
    _SessionPersonReplayed,
    {
        **dict(zip(_SessionPerson.__struct_fields__, _SESSION_PERSON.columns, strict=True)),
        "replayed": _REPLAYED.label("replayed"),
    },
)

_PERSON_IDS = persons.c.id.in_(bindparam("person_ids", expanding=True))
_OF_PERSONS = donations.c.person_id.in_(bindparam("person_ids", expanding=True))
_HISTORY_FROM = HISTORY.select().select_from(
    donations.join(stations, stations.c.id == donations.c.station_id)
)

_PERSONS_BY_IDS = Query(PERSON, PERSON.select().where(_PERSON_IDS).order_by(persons.c.id), ("person_ids",))
_CERTIFICATE_OF_PERSONS = Query(
    OWNED_CERTIFICATE,
    OWNED_CERTIFICATE.select().where(
        certificates.c.certificate_no == bindparam("certificate_no"),
        certificates.c.person_id.in_(bindparam("person_ids", expanding=True)),
    ),
    ("person_ids",),
)
_DONATION = Query(HISTORY, _HISTORY_FROM.where(donations.c.id == bindparam("donation_id")))
_SESSION_FROM = donor_sessions.outerjoin(persons, persons.c.identity_hash == donor_sessions.c.identity_hash)
M = TypeVar("M")


def _session_query(model: ReadModel[M]) -> Query[M]:
    """A session and every person under its ID (one row each), read with `model`."""
    statement = (
        model.select()
        .select_from(_SESSION_FROM)
        .where(donor_sessions.c.token_hash == bindparam("token_hash"))
        .order_by(persons.c.id)
    )
    return Query(model, statement)


_SESSION = _session_query(_SESSION_PERSON)
_SESSION_ON_STANDBY = _session_query(_SESSION_PERSON_REPLAYED)


def _filters(
    where: list[ColumnElement[Any]], since: bool, until: bool, region: bool
) -> list[ColumnElement[Any]]:
    """The donations' conditions: valid, and the date and region filters asked for."""
    where.append(donations.c.status == "valid")
    if since:
        where.append(donations.c.donated_at >= bindparam("since"))
    if until:
        where.append(donations.c.donated_at < bindparam("until"))
    if region:
        where.append(donations.c.site_region.like(bindparam("region")))
    return where


@lru_cache(maxsize=8)
def _donations_query(since: bool, until: bool, region: bool) -> Query[HistoryRow]:
    """Valid donations of persons, newest first, with the filters asked for."""
    where = _filters([_OF_PERSONS], since, until, region)
    statement = _HISTORY_FROM.where(*where).order_by(donations.c.donated_at.desc(), donations.c.id.desc())
    return Query(HISTORY, statement, ("person_ids",))


# The persons a session reaches, in SQL, as session_with_persons decides it from the session's rows: a
# real-name login reaches every unmerged person under its ID + name; a donation-number login the one person
# it reached, or the person that one was merged into.
_REACHED = (
    select(
        case(
            (donor_sessions.c.person_id.is_(None), persons.c.id),
            else_=func.coalesce(persons.c.merged_into, persons.c.id),
        )
    )
    .select_from(donor_sessions.join(persons, persons.c.identity_hash == donor_sessions.c.identity_hash))
    .where(
        donor_sessions.c.token_hash == bindparam("token_hash"),
        # A CASE, not an OR: planners would otherwise combine an index of every unmerged person.
        case(
            (
                donor_sessions.c.person_id.is_(None),
                and_(persons.c.merged_into.is_(None), persons.c.name_hash == donor_sessions.c.name_hash),
            ),
            else_=persons.c.id == donor_sessions.c.person_id,
        ),
    )
)


def _of_reached(postgres: bool) -> ColumnElement[bool]:
    """Donations of the persons the session reaches. On PostgreSQL as `= ANY(ARRAY(…))`: the persons are
    found once (an InitPlan) and their donations by index, whatever the planner believes of the tables
    (an IN would let stale statistics turn it into a scan of every donation)."""
    if postgres:
        return donations.c.person_id == any_(func.array(_REACHED.scalar_subquery()))
    return donations.c.person_id.in_(_REACHED)


_SESSION_WIDTH = len(_SESSION_PERSON.columns)


@lru_cache(maxsize=16)
def _session_donations_query(
    postgres: bool, standby: bool, since: bool, until: bool, region: bool
) -> Query[tuple[Any, ...]]:
    """The session's rows (those of _SESSION) and the valid donations of the persons it reaches (those of
    _donations_query) in one statement, as plain rows: first `0` and a session row (with the replayed
    position on a standby), by person; then `1` and a donation, newest first."""
    session_columns: list[ColumnElement[Any]] = list(_SESSION_PERSON.columns)
    if standby:
        session_columns.append(_REPLAYED)
    history_columns = HISTORY.columns
    sessions_part = (
        select(
            literal(0).label("tag"),
            *(c.label(f"s{i}") for i, c in enumerate(session_columns)),
            *(cast(null(), c.type).label(f"d{i}") for i, c in enumerate(history_columns)),
        )
        .select_from(_SESSION_FROM)
        .where(donor_sessions.c.token_hash == bindparam("token_hash"))
    )
    donations_part = (
        select(
            literal(1),
            *(cast(null(), BigInteger() if c is _REPLAYED else c.type) for c in session_columns),
            *history_columns,
        )
        .select_from(donations.join(stations, stations.c.id == donations.c.station_id))
        .where(*_filters([_of_reached(postgres)], since, until, region))
    )
    person = _SessionPerson.__struct_fields__.index("person_id")
    donated_at, donation_id = (HistoryRow.__struct_fields__.index(f) for f in ("donated_at", "donation_id"))
    statement = union_all(sessions_part, donations_part).order_by(
        literal_column("tag"),
        literal_column(f"s{person}"),
        literal_column(f"d{donated_at}").desc(),
        literal_column(f"d{donation_id}").desc(),
    )
    return Query(ReadModel.of_columns(list(sessions_part.selected_columns)), statement)


def _reach(rows: Sequence[_SessionPerson]) -> tuple[SessionRow, list[int], bool] | None:
    """The session of its rows (one per person under its ID), the persons it reaches, and whether its ID
    is under review (see session_with_persons); None without rows (no such session)."""
    if not rows:
        return None
    r = rows[0]
    session = SessionRow(
        r.id,
        r.identity_hash,
        r.name_hash,
        r.method,
        r.last_seen_at,
        r.expires_at,
        r.ended_at,
        r.session_person_id,
    )
    # A person an administrator merged into another no longer holds the ID; a session opened on it
    # reaches the person it was merged into.
    active = [row for row in rows if row.person_id is not None and row.merged_into is None]
    same_id = [row.person_id for row in active if row.person_id is not None]
    if session.person_id is None:
        mine = [row.person_id for row in active if row.person_id is not None and row.same_name]
    else:
        reached = {row.merged_into or row.person_id for row in rows if row.person_id == session.person_id}
        mine = [person for person in reached if person is not None]
    # Decided by an administrator to be different people: no longer under review.
    unsettled = any(row.settled_at is None for row in active)
    return session, mine, len(same_id) > 1 and unsettled


def _filter_values(
    since: datetime | None, until: datetime | None, region_prefix: str | None
) -> dict[str, Any]:
    """The values of a donations query's filters (the UTC time range and the site region prefix)."""
    values: dict[str, Any] = {}
    if since is not None:
        values["since"] = since
    if until is not None:
        values["until"] = until
    if region_prefix:
        values["region"] = region_prefix + "%"  # validated digits: no LIKE metacharacters
    return values


class HistoryRepository:
    """Queries over persons, donations, certificates and sessions for one donor.

    On a PostgreSQL standby (`standby`), the session's query also reads the WAL position the standby has
    replayed, kept in `replayed` (storage/replica.py decides with it whether the standby may answer).
    """

    def __init__(self, dbapi_connection: Any, dialect: Dialect, *, standby: bool = False) -> None:
        self.raw = dbapi_connection
        self.dialect = dialect
        self.standby = standby
        self.replayed: int | None = None

    def session_with_persons(self, token_hash: bytes) -> tuple[SessionRow, list[int], bool] | None:
        """A session, the person ids it reaches and whether its ID number is shared: one query.

        A session with a person (a donation-number login) reaches that person only; one without (a real-name
        platform login) reaches every person under its ID + name. Shared means another person carries the
        same ID number (another name or ABO type): an identity under review, until an administrator merges
        them (the merged person is left out) or decides they are different people (settled).
        """
        rows: Sequence[_SessionPerson]
        if self.standby:
            on_standby = _SESSION_ON_STANDBY.all(self.raw, self.dialect, token_hash=token_hash)
            self.replayed = on_standby[0].replayed if on_standby else None
            rows = on_standby
        else:
            rows = _SESSION.all(self.raw, self.dialect, token_hash=token_hash)
        return _reach(rows)

    def session_with_donations(
        self,
        token_hash: bytes,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        region_prefix: str | None = None,
    ) -> tuple[tuple[SessionRow, list[int], bool] | None, list[HistoryRow]]:
        """session_with_persons and donations_of_persons of the persons it reaches, in one query.

        The donations are read whether or not the session is still live; the caller checks that first.
        """
        self.replayed = None  # this read's, never an earlier request's on the same connection
        filtered = (since is not None, until is not None, bool(region_prefix))
        query = _session_donations_query(self.dialect.name == "postgresql", self.standby, *filtered)
        values = {"token_hash": token_hash, **_filter_values(since, until, region_prefix)}
        sessions: list[_SessionPerson] = []
        found: list[HistoryRow] = []
        end = 1 + _SESSION_WIDTH
        for row in query.all(self.raw, self.dialect, **values):
            if row[0] == 0:
                sessions.append(_SessionPerson(*row[1:end]))
                if self.standby:
                    self.replayed = row[end]
            else:
                found.append(HistoryRow(*row[end + self.standby :]))
        return _reach(sessions), found

    def persons_by_ids(self, person_ids: Sequence[int]) -> list[PersonRow]:
        """Persons by id, in id order."""
        if not person_ids:
            return []
        return _PERSONS_BY_IDS.all(self.raw, self.dialect, person_ids=person_ids)

    def donations_of_persons(
        self,
        person_ids: Sequence[int],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        region_prefix: str | None = None,
    ) -> list[HistoryRow]:
        """Valid donations of the persons, newest first, filtered by UTC time range and site region prefix."""
        if not person_ids:
            return []
        query = _donations_query(since is not None, until is not None, bool(region_prefix))
        values = {"person_ids": person_ids, **_filter_values(since, until, region_prefix)}
        return query.all(self.raw, self.dialect, **values)

    def certificate_of_persons(
        self, certificate_no: str, person_ids: Sequence[int]
    ) -> OwnedCertificate | None:
        """A certificate when it belongs to one of the persons, else None."""
        if not person_ids:
            return None
        return _CERTIFICATE_OF_PERSONS.first(
            self.raw, self.dialect, certificate_no=certificate_no, person_ids=person_ids
        )

    def donation(self, donation_id: int) -> HistoryRow | None:
        """One donation with its station, whatever its status."""
        return _DONATION.first(self.raw, self.dialect, donation_id=donation_id)
