"""Blood supply by type (库存) and whom a shortage calls up.

Stations publish, for each ABO and RhD type, whether their stock is adequate, low or critical. When a
type turns low or critical, the station calls up donors of exactly that type who asked for call-ups,
live or last donated nearby, may give whole blood today under the GB 18467 intervals, and have not
already had the month's call-ups. "Nearby" is the station's own prefecture (its 4-digit GB/T 2260
prefix), or the whole province for a provincial blood centre (a region ending in 0000).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bloodcert.domain.donation_rules import Kind
from bloodcert.domain.eligibility import eligible_from

ABO_TYPES = ("O", "A", "B", "AB")
RHD_TYPES = ("positive", "negative")


class Level(StrEnum):
    """How much of a type a station holds."""

    ADEQUATE = "adequate"
    LOW = "low"
    CRITICAL = "critical"


SEVERITY = {Level.ADEQUATE: 0, Level.LOW: 1, Level.CRITICAL: 2}


def is_shortage(level: Level) -> bool:
    """Low or critical."""
    return SEVERITY[level] > 0


def calls_up(before: Level | None, now: Level) -> bool:
    """Whether a new report sets off a call-up: the type turned short, or got worse."""
    return is_shortage(now) and SEVERITY[now] > SEVERITY[before or Level.ADEQUATE]


def area_of(station_region: str) -> str:
    """The GB/T 2260 prefix a station's call-ups cover."""
    return station_region[:2] if station_region.endswith("0000") else station_region[:4]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A donor of the short type who opted in to call-ups, with what the rule needs to know."""

    person_id: int
    home_region: str | None
    last_region: str | None
    history: Sequence[tuple[Kind, date]]
    callups_this_month: int


def reached(candidates: Sequence[Candidate], area: str, day: date, monthly_cap: int) -> list[int]:
    """The person ids a call-up reaches: nearby, eligible for whole blood on `day`, under the monthly cap."""
    return [
        c.person_id
        for c in candidates
        if c.callups_this_month < monthly_cap
        and any(r and r.startswith(area) for r in (c.home_region, c.last_region))
        and eligible_from(c.history, Kind.WHOLE_BLOOD, day) is None
    ]
