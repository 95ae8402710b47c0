"""Stations' supply levels, call-ups and whom they reached."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from bloodcert.storage.tables import (
    appointments,
    callup_recipients,
    callups,
    donations,
    notification_preferences,
    persons,
    sites,
    slots,
    stations,
    supply_levels,
)
from bloodcert.storage.writes import NewCallup, NewCallupRecipient, NewSupplyLevel, column_values


@dataclass(frozen=True, slots=True)
class LevelRow:
    """The level in force for one station and type."""

    station_id: int
    station_code: str
    station_name: str
    region: str
    abo: str
    rhd: str
    level: str
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class OptedInRow:
    """A person of a type with stored preferences (the service keeps those who chose call-ups)."""

    person_id: int
    choices: dict[str, Any]
    home_region: str | None


@dataclass(frozen=True, slots=True)
class CallupRow:
    """A call-up as its station sees it."""

    id: int
    abo: str
    rhd: str
    level: str
    area: str
    reached: int
    booked: int
    created_at: datetime


class SupplyRepository:
    """Queries over `supply_levels`, `callups` and `callup_recipients`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_levels(self, rows: Sequence[NewSupplyLevel]) -> None:
        """Append reports (the latest per station and type is in force)."""
        if rows:
            self.conn.execute(insert(supply_levels), [column_values(r) for r in rows])

    def current(self, station_id: int | None = None) -> list[LevelRow]:
        """The levels in force, of one station or of all, by region and type."""
        s, st = supply_levels.c, stations.c
        latest = (
            select(s.station_id, s.abo, s.rhd, func.max(s.id).label("id"))
            .group_by(s.station_id, s.abo, s.rhd)
            .subquery()
        )
        query = (
            select(s.station_id, st.code, st.name, st.region, s.abo, s.rhd, s.level, s.reported_at)
            .join(latest, latest.c.id == s.id)
            .join(stations, st.id == s.station_id)
            .order_by(st.region, st.code, s.abo, s.rhd)
        )
        if station_id is not None:
            query = query.where(s.station_id == station_id)
        return [LevelRow(*r) for r in self.conn.execute(query)]

    def opted_in_of_type(self, abo: str, rhd: str) -> list[OptedInRow]:
        """Persons of a type who stored preferences (call-ups are opt-in, so others are never reached)."""
        p, n = persons.c, notification_preferences.c
        rows = self.conn.execute(
            select(n.person_id, n.choices, n.home_region)
            .join(persons, p.id == n.person_id)
            .where(p.abo == abo, p.rhd == rhd)
        )
        return [OptedInRow(int(r[0]), json.loads(r[1]), r[2]) for r in rows]

    def last_regions(self, person_ids: Sequence[int]) -> dict[int, str]:
        """Where each person last gave a valid donation (the site's region)."""
        if not person_ids:
            return {}
        d = donations.c
        latest = (
            select(d.person_id, func.max(d.donated_at).label("at"))
            .where(d.person_id.in_(person_ids), d.status == "valid")
            .group_by(d.person_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(d.person_id, d.site_region).join(
                latest, and_(latest.c.person_id == d.person_id, latest.c.at == d.donated_at)
            )
        )
        return {int(r[0]): str(r[1]) for r in rows}

    def callups_since(self, person_ids: Sequence[int], since: datetime) -> dict[int, int]:
        """How many call-ups reached each person since a moment."""
        if not person_ids:
            return {}
        r = callup_recipients.c
        rows = self.conn.execute(
            select(r.person_id, func.count())
            .where(r.person_id.in_(person_ids), r.sent_at >= since)
            .group_by(r.person_id)
        )
        return {int(row[0]): int(row[1]) for row in rows}

    def add_callup(self, row: NewCallup, person_ids: Sequence[int]) -> int:
        """Record a call-up and whom it reached; returns its id."""
        callup_id = int(
            self.conn.execute(
                insert(callups).values(**column_values(row)).returning(callups.c.id)
            ).scalar_one()
        )
        if person_ids:
            recipients = [NewCallupRecipient(callup_id, pid, row.created_at) for pid in person_ids]
            self.conn.execute(insert(callup_recipients), [column_values(r) for r in recipients])
        return callup_id

    def callups_of_station(self, station_id: int, limit: int = 50) -> list[CallupRow]:
        """A station's call-ups, newest first, each with how many donors it reached and how many of them
        booked one of the station's sites since (a booking cancelled again does not count)."""
        c, r, a, sl, si = callups.c, callup_recipients.c, appointments.c, slots.c, sites.c
        booked = (
            select(func.count(func.distinct(r.person_id)))
            .select_from(callup_recipients)
            .join(appointments, a.person_id == r.person_id)
            .join(slots, sl.id == a.slot_id)
            .join(sites, si.id == sl.site_id)
            .where(
                r.callup_id == c.id,
                si.station_id == c.station_id,
                a.created_at >= c.created_at,
                a.status != "cancelled",
            )
            .scalar_subquery()
        )
        rows = self.conn.execute(
            select(c.id, c.abo, c.rhd, c.level, c.area, c.reached, booked, c.created_at)
            .where(c.station_id == station_id)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit)
        )
        return [CallupRow(*row) for row in rows]
