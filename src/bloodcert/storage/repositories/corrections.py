"""Donors' correction and back-fill requests and their conversations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, insert, select, update
from sqlalchemy.sql import Select

from bloodcert.storage.rows import CorrectionMessageRow, CorrectionRow
from bloodcert.storage.tables import correction_messages, corrections, donations, persons, stations
from bloodcert.storage.writes import NewCorrection, NewCorrectionMessage, column_values

_asked = donations.alias("asked")
_resolved = donations.alias("resolved")
_COLUMNS = (
    corrections.c.id,
    corrections.c.person_id,
    corrections.c.station_id,
    stations.c.code,
    stations.c.name,
    corrections.c.province,
    corrections.c.kind,
    corrections.c.donation_id,
    _asked.c.donation_no,
    corrections.c.field,
    corrections.c.proposed,
    corrections.c.donated_on,
    corrections.c.site,
    corrections.c.status,
    corrections.c.due_at,
    corrections.c.escalated_at,
    corrections.c.resolved_donation_id,
    _resolved.c.donation_no,
    corrections.c.closed_at,
    corrections.c.created_at,
    corrections.c.updated_at,
    corrections.c.photo_type,
)


def _select() -> Select[Any]:
    joined = (
        corrections.join(stations, stations.c.id == corrections.c.station_id)
        .outerjoin(_asked, _asked.c.id == corrections.c.donation_id)
        .outerjoin(_resolved, _resolved.c.id == corrections.c.resolved_donation_id)
    )
    return select(*_COLUMNS).select_from(joined)


class CorrectionRepository:
    """Queries over `corrections` and `correction_messages`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, row: NewCorrection) -> int:
        """Store a new request; returns its id."""
        result = self.conn.execute(insert(corrections).values(**column_values(row)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def add_message(self, row: NewCorrectionMessage) -> None:
        """Append one entry to a request's conversation."""
        self.conn.execute(insert(correction_messages).values(**column_values(row)))

    def get(self, correction_id: int) -> CorrectionRow | None:
        """One request by id."""
        row = self.conn.execute(_select().where(corrections.c.id == correction_id)).first()
        return CorrectionRow(*row) if row else None

    def of_persons(self, person_ids: Sequence[int]) -> list[CorrectionRow]:
        """A donor's requests, newest first."""
        if not person_ids:
            return []
        rows = self.conn.execute(
            _select().where(corrections.c.person_id.in_(person_ids)).order_by(corrections.c.id.desc())
        )
        return [CorrectionRow(*r) for r in rows]

    def of_station(self, station_id: int, status: str | None, *, limit: int) -> list[CorrectionRow]:
        """A station's requests (of one status, if given), oldest due first."""
        query = _select().where(corrections.c.station_id == station_id)
        if status:
            query = query.where(corrections.c.status == status)
        rows = self.conn.execute(query.order_by(corrections.c.due_at, corrections.c.id).limit(limit))
        return [CorrectionRow(*r) for r in rows]

    def of_province(self, province: str | None, status: str | None, *, limit: int) -> list[CorrectionRow]:
        """Requests of a province (every province when None), of one status if given, oldest due first."""
        query = _select()
        if province is not None:
            query = query.where(corrections.c.province == province)
        if status:
            query = query.where(corrections.c.status == status)
        rows = self.conn.execute(query.order_by(corrections.c.due_at, corrections.c.id).limit(limit))
        return [CorrectionRow(*r) for r in rows]

    def messages_of(self, correction_ids: Iterable[int]) -> dict[int, list[CorrectionMessageRow]]:
        """The conversations of requests, oldest entry first."""
        ids = list(correction_ids)
        out: dict[int, list[CorrectionMessageRow]] = {i: [] for i in ids}
        if not ids:
            return out
        rows = self.conn.execute(
            select(
                correction_messages.c.id,
                correction_messages.c.correction_id,
                correction_messages.c.author,
                correction_messages.c.actor,
                correction_messages.c.action,
                correction_messages.c.message,
                correction_messages.c.created_at,
            )
            .where(correction_messages.c.correction_id.in_(ids))
            .order_by(correction_messages.c.id)
        )
        for r in rows:
            out[int(r[1])].append(CorrectionMessageRow(*r))
        return out

    def set_status(
        self,
        correction_id: int,
        *,
        expected: Sequence[str],
        status: str,
        now: datetime,
        resolved_donation_id: int | None = None,
        closed: bool = False,
    ) -> bool:
        """Move a request from one of the `expected` states to `status`; False when it was not in them."""
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if resolved_donation_id is not None:
            values["resolved_donation_id"] = resolved_donation_id
        if closed:
            values["closed_at"] = now
        result = self.conn.execute(
            update(corrections)
            .where(corrections.c.id == correction_id, corrections.c.status.in_(expected))
            .values(**values)
        )
        return result.rowcount == 1

    def overdue(self, now: datetime) -> list[int]:
        """Open requests past their due time."""
        rows = self.conn.execute(
            select(corrections.c.id).where(corrections.c.status == "open", corrections.c.due_at < now)
        )
        return [int(r[0]) for r in rows]

    def escalate(self, correction_ids: Sequence[int], now: datetime) -> list[int]:
        """Mark open requests escalated (those still open); returns which were."""
        done = []
        for cid in correction_ids:
            result = self.conn.execute(
                update(corrections)
                .where(and_(corrections.c.id == cid, corrections.c.status == "open"))
                .values(status="escalated", escalated_at=now, updated_at=now)
            )
            if result.rowcount == 1:
                done.append(cid)
        return done

    def counts_by_station(self, now: datetime) -> dict[int, tuple[int, int]]:
        """Per station: requests not closed, and those of them past due."""
        not_closed = corrections.c.status.in_(("open", "need_info", "escalated"))
        late = func.sum(case((corrections.c.due_at < now, 1), else_=0))
        rows = self.conn.execute(
            select(corrections.c.station_id, func.count(), late)
            .where(not_closed)
            .group_by(corrections.c.station_id)
        )
        return {int(s): (int(n), int(lt or 0)) for s, n, lt in rows}

    def resolution_days(self) -> dict[int, list[float]]:
        """Per station: days from filing to closing, of every closed request."""
        rows = self.conn.execute(
            select(corrections.c.station_id, corrections.c.created_at, corrections.c.closed_at).where(
                corrections.c.closed_at.is_not(None)
            )
        )
        out: dict[int, list[float]] = {}
        for sid, created, closed in rows:
            out.setdefault(int(sid), []).append(max(0.0, (closed - created).total_seconds() / 86400))
        return out

    def donation_of_station(self, station_id: int, donation_no: str) -> tuple[int, bytes, datetime] | None:
        """A station's donation by number: its id, its person's identity hash and when it last changed."""
        row = self.conn.execute(
            select(donations.c.id, persons.c.identity_hash, donations.c.updated_at)
            .join(persons, persons.c.id == donations.c.person_id)
            .where(donations.c.station_id == station_id, donations.c.donation_no == donation_no)
        ).first()
        return (int(row[0]), bytes(row[1]), row[2]) if row else None

    def identity_hash_of(self, person_id: int) -> bytes | None:
        """The blind index of a person's ID type and number."""
        value = self.conn.execute(select(persons.c.identity_hash).where(persons.c.id == person_id)).scalar()
        return bytes(value) if value is not None else None

    def blood_centre_of(self, province: str) -> int | None:
        """The station a province's requests go to when the donor names none: its blood centre, else its
        first station by code."""
        rows = self.conn.execute(
            select(stations.c.id, stations.c.tier)
            .where(stations.c.region.like(province + "%"))
            .order_by(stations.c.code)
        ).all()
        centre = next((r for r in rows if r[1] == "blood_centre"), rows[0] if rows else None)
        return int(centre[0]) if centre else None

    def photo_of(self, correction_id: int) -> tuple[str, str] | None:
        """A request's photo: (media type, base64), or None without one."""
        row = self.conn.execute(
            select(corrections.c.photo_type, corrections.c.photo).where(corrections.c.id == correction_id)
        ).first()
        return (str(row[0]), str(row[1])) if row and row[0] and row[1] else None
