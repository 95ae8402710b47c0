"""Donation sites, their hours and schedules, slots and appointments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import Connection, and_, delete, insert, select, update

from bloodcert.domain.sites import ScheduleStop, Site, SiteType, WeeklyHours
from bloodcert.storage.tables import appointments, persons, site_hours, site_schedule, sites, slots, stations


@dataclass(frozen=True, slots=True)
class SiteRow:
    """A stored site and the station that runs it."""

    id: int
    station_id: int
    station_code: str
    site: Site


@dataclass(frozen=True, slots=True)
class SlotRow:
    """A bookable period of a site on a day (Beijing time)."""

    id: int
    site_id: int
    day: date
    starts_at: str
    capacity: int
    booked: int


@dataclass(frozen=True, slots=True)
class NewSlot:
    """A slot a station sets for a day."""

    starts_at: str
    capacity: int


@dataclass(frozen=True, slots=True)
class AppointmentRow:
    """A donor's booking with where and when it is."""

    id: int
    slot_id: int
    person_id: int
    kind: str
    status: str
    site_id: int
    site_name: str
    day: date
    starts_at: str


@dataclass(frozen=True, slots=True)
class BookingRow:
    """A booking as the station sees it: who is coming (name and ID number, for the desk) and when."""

    id: int
    starts_at: str
    kind: str
    status: str
    name: str
    id_number: str


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def _time(text: str) -> time:
    return time.fromisoformat(text)


class SiteRepository:
    """Queries over `sites`, `site_hours`, `site_schedule`, `slots` and `appointments`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ---- sites

    def save(self, station_id: int, site: Site, now: datetime) -> int:
        """Insert or replace a station's site (hours and schedule included); returns its id."""
        values = {
            "name": site.name,
            "type": site.type.value,
            "region": site.region,
            "lat": site.lat,
            "lon": site.lon,
            "address": site.address,
            "updated_at": now,
        }
        site_id = self.conn.execute(
            select(sites.c.id).where(sites.c.station_id == station_id, sites.c.code == site.code)
        ).scalar()
        if site_id is None:
            site_id = self.conn.execute(
                insert(sites).values(station_id=station_id, code=site.code, **values).returning(sites.c.id)
            ).scalar_one()
        else:
            self.conn.execute(update(sites).where(sites.c.id == site_id).values(**values))
            self.conn.execute(delete(site_hours).where(site_hours.c.site_id == site_id))
            self.conn.execute(delete(site_schedule).where(site_schedule.c.site_id == site_id))
        self._insert_times(int(site_id), site)
        return int(site_id)

    def _insert_times(self, site_id: int, site: Site) -> None:
        if site.hours:
            self.conn.execute(
                insert(site_hours),
                [
                    {
                        "site_id": site_id,
                        "weekday": h.weekday,
                        "opens": _hhmm(h.opens),
                        "closes": _hhmm(h.closes),
                    }
                    for h in site.hours
                ],
            )
        if site.schedule:
            self.conn.execute(
                insert(site_schedule),
                [
                    {
                        "site_id": site_id,
                        "day": s.day,
                        "place": s.place,
                        "lat": s.lat,
                        "lon": s.lon,
                        "opens": _hhmm(s.opens),
                        "closes": _hhmm(s.closes),
                    }
                    for s in site.schedule
                ],
            )

    def site_of_station(self, station_id: int, code: str) -> SiteRow | None:
        """A station's site by its code."""
        found = self._sites(and_(sites.c.station_id == station_id, sites.c.code == code))
        return found[0] if found else None

    def by_id(self, site_id: int) -> SiteRow | None:
        """A site by its public id."""
        found = self._sites(sites.c.id == site_id)
        return found[0] if found else None

    def of_station(self, station_id: int) -> list[SiteRow]:
        """Every site of a station, by name."""
        return self._sites(sites.c.station_id == station_id)

    def in_region(self, prefix: str | None) -> list[SiteRow]:
        """Every site, or those whose region starts with a GB/T 2260 prefix, by name."""
        where = sites.c.region.startswith(prefix, autoescape=True) if prefix else None
        return self._sites(where)

    def _sites(self, where: object) -> list[SiteRow]:
        query = select(sites, stations.c.code.label("station_code")).join(
            stations, stations.c.id == sites.c.station_id
        )
        if where is not None:
            query = query.where(where)  # type: ignore[arg-type]
        rows = self.conn.execute(query.order_by(sites.c.name, sites.c.id)).all()
        ids = [int(r.id) for r in rows]
        hours, schedule = self._hours_of(ids), self._schedule_of(ids)
        return [
            SiteRow(
                int(r.id),
                int(r.station_id),
                r.station_code,
                Site(
                    r.code,
                    r.name,
                    SiteType(r.type),
                    r.region,
                    float(r.lat),
                    float(r.lon),
                    r.address,
                    tuple(hours.get(int(r.id), [])),
                    tuple(schedule.get(int(r.id), [])),
                ),
            )
            for r in rows
        ]

    def _hours_of(self, ids: Sequence[int]) -> dict[int, list[WeeklyHours]]:
        found: dict[int, list[WeeklyHours]] = {}
        if ids:
            query = select(site_hours).where(site_hours.c.site_id.in_(ids))
            for r in self.conn.execute(query.order_by(site_hours.c.weekday, site_hours.c.opens)):
                found.setdefault(int(r.site_id), []).append(
                    WeeklyHours(int(r.weekday), _time(r.opens), _time(r.closes))
                )
        return found

    def _schedule_of(self, ids: Sequence[int]) -> dict[int, list[ScheduleStop]]:
        found: dict[int, list[ScheduleStop]] = {}
        if ids:
            query = select(site_schedule).where(site_schedule.c.site_id.in_(ids))
            for r in self.conn.execute(query.order_by(site_schedule.c.day)):
                found.setdefault(int(r.site_id), []).append(
                    ScheduleStop(r.day, r.place, float(r.lat), float(r.lon), _time(r.opens), _time(r.closes))
                )
        return found

    # ---- slots

    def slots_of_day(self, site_id: int, day: date) -> list[SlotRow]:
        """A site's slots on a day, earliest first."""
        rows = self.conn.execute(
            select(slots).where(slots.c.site_id == site_id, slots.c.day == day).order_by(slots.c.starts_at)
        )
        return [SlotRow(int(r.id), int(r.site_id), r.day, r.starts_at, r.capacity, r.booked) for r in rows]

    def slot(self, slot_id: int) -> SlotRow | None:
        """One slot by id."""
        r = self.conn.execute(select(slots).where(slots.c.id == slot_id)).first()
        return SlotRow(int(r.id), int(r.site_id), r.day, r.starts_at, r.capacity, r.booked) if r else None

    def add_slots(self, site_id: int, day: date, new: Iterable[NewSlot]) -> None:
        """Create slots with nothing booked yet."""
        rows = [
            {"site_id": site_id, "day": day, "starts_at": s.starts_at, "capacity": s.capacity, "booked": 0}
            for s in new
        ]
        if rows:
            self.conn.execute(insert(slots), rows)

    def set_capacity(self, slot_id: int, capacity: int) -> bool:
        """Change a slot's capacity, never below what is already booked; False when it would be."""
        result = self.conn.execute(
            update(slots).where(slots.c.id == slot_id, slots.c.booked <= capacity).values(capacity=capacity)
        )
        return result.rowcount == 1

    def remove_empty_slot(self, slot_id: int) -> bool:
        """Delete a slot nobody has ever booked; False when it has appointments."""
        used = self.conn.execute(select(appointments.c.id).where(appointments.c.slot_id == slot_id)).first()
        if used is not None:
            return False
        self.conn.execute(delete(slots).where(slots.c.id == slot_id))
        return True

    def take_place(self, slot_id: int) -> bool:
        """Take one place in a slot if one is free; False when it is full.

        One conditional UPDATE, judged by its row count: the database serialises concurrent updates of the
        row (SQLite's single writer, PostgreSQL's row lock with the WHERE re-checked after the wait), so
        `booked` never passes `capacity` whatever the concurrency.
        """
        result = self.conn.execute(
            update(slots)
            .where(slots.c.id == slot_id, slots.c.booked < slots.c.capacity)
            .values(booked=slots.c.booked + 1)
        )
        return result.rowcount == 1

    def give_back_place(self, slot_id: int) -> None:
        """Free one place in a slot (a cancellation or a move)."""
        self.conn.execute(
            update(slots).where(slots.c.id == slot_id, slots.c.booked > 0).values(booked=slots.c.booked - 1)
        )

    # ---- appointments

    def add_appointment(self, slot_id: int, person_id: int, kind: str, now: datetime) -> int:
        """Record a booking; returns its id."""
        return int(
            self.conn.execute(
                insert(appointments)
                .values(
                    slot_id=slot_id,
                    person_id=person_id,
                    kind=kind,
                    status="booked",
                    created_at=now,
                    updated_at=now,
                )
                .returning(appointments.c.id)
            ).scalar_one()
        )

    def appointments_of_persons(self, person_ids: Sequence[int]) -> list[AppointmentRow]:
        """Every appointment of a donor's person records, latest day first."""
        query = (
            select(
                appointments.c.id,
                appointments.c.slot_id,
                appointments.c.person_id,
                appointments.c.kind,
                appointments.c.status,
                sites.c.id.label("site_id"),
                sites.c.name.label("site_name"),
                slots.c.day,
                slots.c.starts_at,
            )
            .join(slots, slots.c.id == appointments.c.slot_id)
            .join(sites, sites.c.id == slots.c.site_id)
            .where(appointments.c.person_id.in_(list(person_ids)))
            .order_by(slots.c.day.desc(), slots.c.starts_at.desc(), appointments.c.id.desc())
        )
        return [AppointmentRow(*r) for r in self.conn.execute(query)] if person_ids else []

    def set_status(self, appointment_id: int, status: str, now: datetime) -> None:
        """Change an appointment's status."""
        self.conn.execute(
            update(appointments)
            .where(appointments.c.id == appointment_id)
            .values(status=status, updated_at=now)
        )

    def move(self, appointment_id: int, slot_id: int, now: datetime) -> None:
        """Point an appointment at another slot."""
        self.conn.execute(
            update(appointments)
            .where(appointments.c.id == appointment_id)
            .values(slot_id=slot_id, updated_at=now)
        )

    def bookings_of_day(self, site_id: int, day: date) -> list[BookingRow]:
        """A site's appointments on a day, by time, with the donor's name and ID number for the desk."""
        query = (
            select(
                appointments.c.id,
                slots.c.starts_at,
                appointments.c.kind,
                appointments.c.status,
                persons.c.name,
                persons.c.id_number,
            )
            .join(slots, slots.c.id == appointments.c.slot_id)
            .join(persons, persons.c.id == appointments.c.person_id)
            .where(slots.c.site_id == site_id, slots.c.day == day)
            .order_by(slots.c.starts_at, appointments.c.id)
        )
        return [BookingRow(*r) for r in self.conn.execute(query)]

    def appointment_at_site(self, appointment_id: int, site_id: int) -> AppointmentRow | None:
        """One appointment, if it is at this site."""
        query = (
            select(
                appointments.c.id,
                appointments.c.slot_id,
                appointments.c.person_id,
                appointments.c.kind,
                appointments.c.status,
                sites.c.id,
                sites.c.name,
                slots.c.day,
                slots.c.starts_at,
            )
            .join(slots, slots.c.id == appointments.c.slot_id)
            .join(sites, sites.c.id == slots.c.site_id)
            .where(appointments.c.id == appointment_id, sites.c.id == site_id)
        )
        r = self.conn.execute(query).first()
        return AppointmentRow(*r) if r else None
