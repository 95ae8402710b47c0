"""Donation sites (献血点): fixed houses (献血屋), mobile buses (献血车) and group drives, and their hours.

Pure rules: what a valid site is, when it is open, and how far it is from the donor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum

from bloodcert.domain.regions import is_current_region
from bloodcert.errors import ProblemField

# A rectangle around the territory the national platform serves (mainland, Hong Kong, Macao, Taiwan and
# the South China Sea islands), in WGS-84 degrees. A bounding box is coarse on purpose: it catches swapped
# latitude and longitude and sign errors, which is what goes wrong in practice, without a border polygon.
CHINA_LAT = (3.0, 54.0)
CHINA_LON = (73.0, 136.0)

EARTH_RADIUS_KM = 6371.0088  # the IUGG mean radius


class SiteType(StrEnum):
    """A fixed house with weekly hours, a mobile bus with a dated schedule, or a group drive."""

    FIXED = "fixed"
    MOBILE = "mobile"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Opening hours on one weekday (1 = Monday … 7 = Sunday), Beijing time."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True, slots=True)
class ScheduleStop:
    """Where a mobile site stands on one day, and when it takes donors there."""

    day: date
    place: str
    lat: float
    lon: float
    opens: time
    closes: time


@dataclass(frozen=True, slots=True)
class Site:
    """A donation site as its station describes it."""

    code: str
    name: str
    type: SiteType
    region: str
    lat: float
    lon: float
    address: str
    hours: tuple[WeeklyHours, ...]
    schedule: tuple[ScheduleStop, ...] = ()

    def stop_on(self, day: date) -> ScheduleStop | None:
        """The schedule entry for a day, if the site has one."""
        return next((s for s in self.schedule if s.day == day), None)

    def hours_on(self, day: date) -> list[tuple[time, time]]:
        """The opening periods on a day: the dated schedule first, else the weekly hours."""
        stop = self.stop_on(day)
        if stop is not None:
            return [(stop.opens, stop.closes)]
        return [(h.opens, h.closes) for h in self.hours if h.weekday == day.isoweekday()]

    def open_on(self, day: date) -> bool:
        """Whether the site takes donors at some time on that day."""
        return bool(self.hours_on(day))

    def position_on(self, day: date) -> tuple[float, float]:
        """Where the site is on a day (a mobile site moves)."""
        stop = self.stop_on(day)
        return (stop.lat, stop.lon) if stop else (self.lat, self.lon)


def in_china(lat: float, lon: float) -> bool:
    """Whether a point lies inside the served territory's bounding box."""
    return CHINA_LAT[0] <= lat <= CHINA_LAT[1] and CHINA_LON[0] <= lon <= CHINA_LON[1]


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def site_problems(site: Site) -> list[ProblemField]:
    """Everything wrong with a site description, as field errors (empty when it is valid)."""
    problems: list[ProblemField] = []
    if not is_current_region(site.region):
        problems.append(ProblemField("region", "unknown_region", "region is not a current GB/T 2260 county"))
    if not in_china(site.lat, site.lon):
        problems.append(ProblemField("lat", "outside_china", "lat/lon lie outside China"))
    for i, h in enumerate(site.hours):
        if h.opens >= h.closes:
            problems.append(ProblemField(f"hours[{i}]", "closes_before_opens", "closes must be after opens"))
    problems += _overlaps("hours", [(h.weekday, h.opens, h.closes) for h in site.hours])
    for i, s in enumerate(site.schedule):
        if s.opens >= s.closes:
            problems.append(
                ProblemField(f"schedule[{i}]", "closes_before_opens", "closes must be after opens")
            )
        if not in_china(s.lat, s.lon):
            problems.append(ProblemField(f"schedule[{i}].lat", "outside_china", "lat/lon lie outside China"))
    problems += _overlaps("schedule", [(s.day, s.opens, s.closes) for s in site.schedule])
    if site.schedule and site.type != SiteType.MOBILE:
        problems.append(ProblemField("schedule", "not_mobile", "only a mobile site has a dated schedule"))
    return problems


def _overlaps(field: str, periods: list[tuple[object, time, time]]) -> list[ProblemField]:
    """Periods on the same day that share some time."""
    problems = []
    for i, (day, opens, closes) in enumerate(periods):
        for j in range(i):
            other_day, other_opens, other_closes = periods[j]
            if day == other_day and opens < other_closes and other_opens < closes:
                problems.append(
                    ProblemField(f"{field}[{i}]", "overlapping", f"overlaps {field}[{j}] on the same day")
                )
    return problems


def directions(site: Site, day: date, origin: tuple[float, float] | None) -> str | None:
    """Directions in words from the donor to the site: distance and compass bearing (no map service)."""
    if origin is None:
        return None
    target = site.position_on(day)
    km = haversine_km(origin, target)
    return f"{km:.1f} km {compass(origin, target)}"


COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def compass(a: tuple[float, float], b: tuple[float, float]) -> str:
    """The eight-point compass bearing from a to b."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    bearing = (math.degrees(math.atan2(y, x)) + 360) % 360
    return COMPASS[int((bearing + 22.5) // 45) % 8]
