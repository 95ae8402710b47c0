"""A station's sites in the console: the list, a site's description and schedule, a day's slots with their
capacity, the day's bookings with attendance, and the health checks answered there.

The console speaks forms, the station API signed JSON: the forms are turned into the same JSON bodies and
go through the same checks (services/sites.py), so a site is valid or not whichever way it arrives. Every
code from the client is checked against the caller first (`station_of`): an operator reaches only their
own station's sites. Every change is audited in its own transaction. The health-check answers are shown
only to the station's own operators; a national administrator sees the bookings, not the answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from bloodcert.domain.staff import Role, StaffPrincipal
from bloodcert.errors import NotFound, ProblemField, ValidationFailed
from bloodcert.services import health_checks, sites
from bloodcert.services.console import Caller, station_of
from bloodcert.storage.repositories.sites import BookingRow, SiteRow, SlotRow
from bloodcert.storage.rows import StationHealthCheckRow, StationRow
from bloodcert.storage.uow import UnitOfWork

MAX_LINES = 400
_HOURS = re.compile(r"^([1-7])\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})$")
_STOP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s+(-?[\d.]+)\s*,\s*(-?[\d.]+)\s+(.+)$"
)
_SLOT = re.compile(r"^(\d{2}:\d{2})\s+(\d{1,4})$")


@dataclass(frozen=True, slots=True)
class SiteForm:
    """A site as the console's form gives it: fields, and hours, schedule as lines of text."""

    site_code: str
    name: str
    type: str
    region: str
    lat: str
    lon: str
    address: str
    hours: str  # one "weekday HH:MM-HH:MM" a line (1 = Monday)
    schedule: str  # one "YYYY-MM-DD HH:MM-HH:MM LAT,LON place" a line


@dataclass(frozen=True, slots=True)
class StationSites:
    """A station and its sites."""

    station: StationRow
    sites: list[SiteRow]


@dataclass(frozen=True, slots=True)
class SiteDay:
    """One of a station's sites on a day: its slots, bookings and (for its own operators) health checks."""

    station: StationRow
    site: SiteRow
    day: date
    slots: list[SlotRow]
    bookings: list[BookingRow]
    checks: list[StationHealthCheckRow] | None  # None: this caller may not read the answers


def station_sites(uow: UnitOfWork, principal: StaffPrincipal, code: str) -> StationSites:
    """The sites of a station the caller may reach."""
    station = station_of(uow, principal, code)
    return StationSites(station, uow.sites.of_station(station.id))


def _lines(text: str, field: str, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    rows = [line.strip() for line in text.splitlines() if line.strip()][:MAX_LINES]
    found, problems = [], []
    for i, line in enumerate(rows):
        match = pattern.match(line)
        if match is None:
            problems.append(
                ProblemField(f"{field}[{i}]", "invalid_value", f"cannot read line {i + 1}: {line[:60]}")
            )
        else:
            found.append(match)
    if problems:
        raise ValidationFailed(f"the {field} lines are not in the expected form", errors=problems)
    return found


def _number(text: str, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed(
            f"{field} is a number", errors=[ProblemField(field, "invalid_value", "a decimal number")]
        ) from None


def site_body(form: SiteForm) -> bytes:
    """The form as the JSON body the station API takes."""
    body = {
        "name": form.name,
        "type": form.type,
        "region": form.region,
        "lat": _number(form.lat, "lat"),
        "lon": _number(form.lon, "lon"),
        "address": form.address,
        "hours": [
            {"weekday": int(m[1]), "opens": m[2], "closes": m[3]} for m in _lines(form.hours, "hours", _HOURS)
        ],
        "schedule": [
            {
                "date": m[1],
                "place": m[6],
                "lat": _number(m[4], "schedule"),
                "lon": _number(m[5], "schedule"),
                "opens": m[2],
                "closes": m[3],
            }
            for m in _lines(form.schedule, "schedule", _STOP)
        ],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def save_site(uow: UnitOfWork, caller: Caller, code: str, form: SiteForm) -> SiteRow:
    """Create or replace one of the station's sites from the console's form."""
    station = station_of(uow, caller.principal, code)
    saved = sites.save_site(uow, station.id, form.site_code, site_body(form), caller.now)
    caller.record(uow, "site.save", f"{station.code}/{saved.site.code}")
    return saved


def site_day(uow: UnitOfWork, principal: StaffPrincipal, code: str, site_code: str, day: date) -> SiteDay:
    """A site's day as the console shows it."""
    station = station_of(uow, principal, code)
    site = uow.sites.site_of_station(station.id, site_code)
    if site is None:
        raise NotFound("this station has no site with that code")
    own = principal.role is Role.STATION_OPERATOR and principal.station_id == station.id
    return SiteDay(
        station,
        site,
        day,
        uow.sites.slots_of_day(site.id, day),
        sites.day_bookings(uow, station.id, site_code, day),
        health_checks.site_checks(uow, station.id, site_code, day) if own else None,
    )


def set_slots(uow: UnitOfWork, caller: Caller, code: str, site_code: str, *, day: date, lines: str) -> None:
    """Set a day's slots from "HH:MM capacity" lines (a slot left out is removed, unless booked)."""
    station = station_of(uow, caller.principal, code)
    slots = [{"starts_at": m[1], "capacity": int(m[2])} for m in _lines(lines, "slots", _SLOT)]
    body = json.dumps({"date": day.isoformat(), "slots": slots}).encode()
    sites.set_day_slots(uow, station.id, site_code, body)
    caller.record(uow, "site.slots", f"{station.code}/{site_code[:32]} {day.isoformat()}")


def mark_attendance(
    uow: UnitOfWork, caller: Caller, code: str, site_code: str, *, appointment_id: int, status: str
) -> None:
    """Record whether a booked donor came."""
    station = station_of(uow, caller.principal, code)
    body = json.dumps({"status": status}).encode()
    sites.mark_attendance(uow, station.id, site_code, appointment_id, body=body, now=caller.now)
    caller.record(uow, f"attendance.{status}"[:32], f"{station.code}/{site_code[:32]} #{appointment_id}")
