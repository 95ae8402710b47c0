"""Donation sites (献血点): stations describe their sites and slots; anyone finds a site near them.

Station bodies arrive as the exact signed bytes, so they are decoded and checked here, with every problem
reported against its field, as the donation batch is.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Literal, TypeVar

import msgspec

from bloodcert.domain.identity import mask_id_number
from bloodcert.domain.sites import ScheduleStop, Site, SiteType, WeeklyHours, haversine_km, site_problems
from bloodcert.errors import Conflict, NotFound, ProblemField, ValidationFailed
from bloodcert.storage.repositories.sites import BookingRow, NewSlot, SiteRow, SlotRow
from bloodcert.storage.uow import UnitOfWork

HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
MAX_SLOTS_PER_DAY = 96  # one every quarter hour, round the clock
MAX_CAPACITY = 1000


class HoursIn(msgspec.Struct, forbid_unknown_fields=True):
    """Weekly opening hours: weekday 1 (Monday) to 7 (Sunday), Beijing time."""

    weekday: Annotated[int, msgspec.Meta(ge=1, le=7)]
    opens: HHMM
    closes: HHMM


class StopIn(msgspec.Struct, forbid_unknown_fields=True):
    """One day of a mobile site's schedule."""

    date: date
    place: LongText
    lat: Lat
    lon: Lon
    opens: HHMM
    closes: HHMM


class SiteIn(msgspec.Struct, forbid_unknown_fields=True):
    """A site as a station describes it."""

    name: Text
    type: Literal["fixed", "mobile", "group"]
    region: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]
    lat: Lat
    lon: Lon
    address: LongText
    hours: Annotated[list[HoursIn], msgspec.Meta(max_length=50)]
    schedule: Annotated[list[StopIn], msgspec.Meta(max_length=400)] = []


class SlotIn(msgspec.Struct, forbid_unknown_fields=True):
    """A slot's start (Beijing time) and how many donors it takes."""

    starts_at: HHMM
    capacity: Annotated[int, msgspec.Meta(ge=0, le=MAX_CAPACITY)]


class DaySlotsIn(msgspec.Struct, forbid_unknown_fields=True):
    """A day's slots at a site; slots not listed are removed (unless someone booked them)."""

    date: date
    slots: Annotated[list[SlotIn], msgspec.Meta(max_length=MAX_SLOTS_PER_DAY)]


T = TypeVar("T")
SITE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_AT = re.compile(r" - at `\$\.?(.*)`$")


def decode(body: bytes, into: type[T]) -> T:
    """Decode a JSON body strictly, turning msgspec's message into a field error."""
    try:
        return msgspec.json.decode(body, type=into, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = _AT.search(message)
        field = found.group(1) if found else ""
        text = message[: found.start()] if found else message
        raise ValidationFailed(
            "the body does not match the schema", errors=[ProblemField(field, "invalid_value", text)]
        ) from exc
    except msgspec.DecodeError as exc:
        raise ValidationFailed("the body is not valid JSON") from exc


def _site(code: str, data: SiteIn) -> Site:
    return Site(
        code=code,
        name=data.name,
        type=SiteType(data.type),
        region=data.region,
        lat=data.lat,
        lon=data.lon,
        address=data.address,
        hours=tuple(
            WeeklyHours(h.weekday, time.fromisoformat(h.opens), time.fromisoformat(h.closes))
            for h in data.hours
        ),
        schedule=tuple(
            ScheduleStop(
                s.date, s.place, s.lat, s.lon, time.fromisoformat(s.opens), time.fromisoformat(s.closes)
            )
            for s in data.schedule
        ),
    )


def _check_code(site_code: str) -> None:
    if not SITE_CODE.match(site_code):
        raise ValidationFailed(
            "the site code is 1-32 letters, digits, '-' or '_'",
            errors=[ProblemField("site_code", "invalid_value", "1-32 letters, digits, '-' or '_'")],
        )


def save_site(uow: UnitOfWork, station_id: int, site_code: str, body: bytes, now: datetime) -> SiteRow:
    """Create or replace a station's site from its signed JSON description."""
    _check_code(site_code)
    site = _site(site_code, decode(body, SiteIn))
    problems = site_problems(site)
    if problems:
        raise ValidationFailed("the site is not valid", errors=problems)
    site_id = uow.sites.save(station_id, site, now.replace(tzinfo=None))
    saved = uow.sites.by_id(site_id)
    assert saved is not None
    return saved


def _own_site(uow: UnitOfWork, station_id: int, site_code: str) -> SiteRow:
    # Another station's site answers exactly like a missing one: codes are the station's own namespace.
    found = uow.sites.site_of_station(station_id, site_code)
    if found is None:
        raise NotFound("this station has no site with that code")
    return found


def set_day_slots(
    uow: UnitOfWork, station_id: int, site_code: str, body: bytes
) -> tuple[date, list[SlotRow]]:
    """Set a site's slots for a day: new ones are added, listed ones get their capacity, others go."""
    site = _own_site(uow, station_id, site_code)
    data = decode(body, DaySlotsIn)
    starts = [s.starts_at for s in data.slots]
    if len(set(starts)) != len(starts):
        raise ValidationFailed(
            "two slots start at the same time",
            errors=[ProblemField("slots", "duplicate_start", "each starts_at may appear once")],
        )
    wanted = {s.starts_at: s.capacity for s in data.slots}
    existing = {s.starts_at: s for s in uow.sites.slots_of_day(site.id, data.date)}
    for start, slot in existing.items():
        if start in wanted and not uow.sites.set_capacity(slot.id, wanted[start]):
            raise Conflict(
                f"the {start} slot already has {slot.booked} bookings", slug="capacity_below_booked"
            )
        if start not in wanted and not uow.sites.remove_empty_slot(slot.id):
            raise Conflict(f"the {start} slot has bookings and cannot be removed", slug="slot_in_use")
    uow.sites.add_slots(site.id, data.date, [NewSlot(s, c) for s, c in wanted.items() if s not in existing])
    return data.date, uow.sites.slots_of_day(site.id, data.date)


@dataclass(frozen=True, slots=True)
class FoundSite:
    """A site in the finder, with where it is on the day asked about and how far that is."""

    row: SiteRow
    lat: float
    lon: float
    distance_km: float | None


def find_sites(
    uow: UnitOfWork,
    *,
    region: str | None,
    near: tuple[float, float] | None,
    open_on: date | None,
    today: date,
) -> list[FoundSite]:
    """Sites under a region prefix, open on a day if asked, nearest first when a position is given."""
    day = open_on or today
    found = []
    for row in uow.sites.in_region(region):
        if open_on is not None and not row.site.open_on(open_on):
            continue
        lat, lon = row.site.position_on(day)
        distance = round(haversine_km(near, (lat, lon)), 3) if near else None
        found.append(FoundSite(row, lat, lon, distance))
    if near is not None:
        found.sort(key=lambda f: (f.distance_km, f.row.id))
    return found


def site_slots(uow: UnitOfWork, site_id: int, day: date) -> tuple[SiteRow, list[SlotRow]]:
    """A site and its slots on a day."""
    site = uow.sites.by_id(site_id)
    if site is None:
        raise NotFound("no such site")
    return site, uow.sites.slots_of_day(site_id, day)


def day_bookings(uow: UnitOfWork, station_id: int, site_code: str, day: date) -> list[BookingRow]:
    """A station's view of one of its sites' bookings on a day, ID numbers masked for the desk."""
    rows = uow.sites.bookings_of_day(_own_site(uow, station_id, site_code).id, day)
    return [dataclasses.replace(r, id_number=mask_id_number(r.id_number)) for r in rows]


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    """Whether the donor came."""

    status: Literal["attended", "no_show"]


def mark_attendance(
    uow: UnitOfWork, station_id: int, site_code: str, appointment_id: int, *, body: bytes, now: datetime
) -> str:
    """Record that a booked donor came, or did not (a no-show is counted against the donor's bookings)."""
    site = _own_site(uow, station_id, site_code)
    status = decode(body, AttendanceIn).status
    appointment = uow.sites.appointment_at_site(appointment_id, site.id)
    if appointment is None:
        raise NotFound("no such booking at this site")
    if appointment.status == "cancelled":
        raise Conflict("the donor cancelled this booking", slug="cancelled")
    uow.sites.set_status(appointment_id, status, now.replace(tzinfo=None))
    return status
