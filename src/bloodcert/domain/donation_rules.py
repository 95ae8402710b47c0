"""Donation rules of GB 18467-2011 (献血者健康检查要求) and the national commendation rules, as data."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Kind(StrEnum):
    """Kind of donation: whole blood (全血) or apheresis (单采) platelets or plasma."""

    WHOLE_BLOOD = "whole_blood"
    PLATELETS = "platelets"
    PLASMA = "plasma"


# The one vocabulary of kinds, (Simplified Chinese, English): pages, certificates and the command line
# all name a kind from here, so a donation is never 单采血浆 in one place and 血浆 in another.
KIND_LABELS: Mapping[str, tuple[str, str]] = {
    Kind.WHOLE_BLOOD: ("全血", "Whole blood"),
    Kind.PLATELETS: ("单采血小板", "Apheresis platelets"),
    Kind.PLASMA: ("单采血浆", "Apheresis plasma"),
}


def kind_label(kind: str, lang: str = "zh") -> str:
    """The name of a kind of donation in `lang` (zh or en); an unknown kind is shown as it came."""
    pair = KIND_LABELS.get(kind)
    if pair is None:
        return kind
    return pair[1] if lang == "en" else pair[0]


def measured_in_units(kind: str) -> bool:
    """Platelets are counted in therapeutic units (治疗量); whole blood and plasma in millilitres."""
    return kind == Kind.PLATELETS


# GB 18467-2011 献血者健康检查要求 (in force since 2012-07-01): volumes per donation.
STANDARD_WHOLE_BLOOD_ML: frozenset[int] = frozenset({200, 300, 400})
ALLOWED_PLATELET_UNITS: frozenset[int] = frozenset({1, 2})

# GB 18467-2011: 18–55, and a repeat donor without adverse reactions may go on to 60. The warning
# rule uses 18–60 because the first-time limit of 55 cannot be checked from a single record.
MIN_AGE, MAX_AGE = 18, 60
MAX_AGE_FIRST_TIME = 55

# GB 18467-2011: at most 24 apheresis platelet donations a year.
MAX_PLATELET_DONATIONS_PER_YEAR = 24


@dataclass(frozen=True)
class Interval:
    """A minimum gap between donations, in calendar months plus days."""

    months: int = 0
    days: int = 0

    def add_to(self, d: date) -> date:
        """Add the interval to a date, clamping the day to the end of a shorter month."""
        month_index = d.year * 12 + d.month - 1 + self.months
        year, month = divmod(month_index, 12)
        day = min(d.day, calendar.monthrange(year, month + 1)[1])
        return date(year, month + 1, day) + timedelta(days=self.days)


# GB 18467-2011 minimum intervals. The standard sets none for plasma, so pairs with plasma are absent.
MIN_INTERVALS: Mapping[tuple[Kind, Kind], Interval] = {
    (Kind.WHOLE_BLOOD, Kind.WHOLE_BLOOD): Interval(months=6),
    (Kind.PLATELETS, Kind.PLATELETS): Interval(days=14),
    (Kind.PLATELETS, Kind.WHOLE_BLOOD): Interval(days=28),
    (Kind.WHOLE_BLOOD, Kind.PLATELETS): Interval(months=3),
}


def min_interval(prev: Kind, nxt: Kind) -> Interval | None:
    """Return the minimum interval from one kind of donation to the next, or None where no rule applies."""
    return MIN_INTERVALS.get((prev, nxt))


def earliest_next(prev_kind: Kind, prev_date: date, nxt: Kind) -> date | None:
    """Return the first date a donation of kind nxt may follow this one, or None where no rule applies."""
    interval = min_interval(prev_kind, nxt)
    return interval.add_to(prev_date) if interval else None


def interval_too_short(prev_kind: Kind, prev_date: date, nxt: Kind, nxt_date: date) -> bool:
    """Tell whether the next donation came before the minimum interval had passed."""
    earliest = earliest_next(prev_kind, prev_date, nxt)
    return earliest is not None and nxt_date < earliest


def next_eligible(history: Iterable[tuple[Kind, date]], today: date) -> dict[Kind, date]:
    """Return, for each kind, the first date from today on when the donor may give it again."""
    past = list(history)
    eligible: dict[Kind, date] = {}
    for kind in Kind:
        dates = [earliest_next(prev_kind, prev_date, kind) for prev_kind, prev_date in past]
        eligible[kind] = max([today, *(d for d in dates if d is not None)])
    return eligible


def platelet_donations_in_year_exceeded(dates: Iterable[date], year: int) -> bool:
    """Tell whether more than 24 platelet donations fall in one calendar year."""
    return sum(1 for d in dates if d.year == year) > MAX_PLATELET_DONATIONS_PER_YEAR


def age_on(birth: date, on: date) -> int:
    """Return the age in whole years on a given day."""
    before_birthday = (on.month, on.day) < (birth.month, birth.day)
    return on.year - birth.year - int(before_birthday)


def age_out_of_range(birth: date, on: date) -> bool:
    """Tell whether the donor was younger than 18 or older than 60 on the day."""
    return not MIN_AGE <= age_on(birth, on) <= MAX_AGE


# 全国无偿献血表彰奖励办法 (2022): whole blood counts once per 200 ml, platelets once per therapeutic unit,
# except that before 2010-01-01 one unit counted four times.
WHOLE_BLOOD_ML_PER_COUNT = 200
PLATELET_UNIT_WEIGHT_CHANGED_ON = date(2010, 1, 1)
PLATELET_COUNTS_PER_UNIT_BEFORE = 4

# 全国无偿献血表彰奖励办法 (2022), 奉献奖: minimum donation count for each grade, highest first.
DEDICATION_AWARD_THRESHOLDS: tuple[tuple[str, int], ...] = (("gold", 40), ("silver", 30), ("bronze", 20))


def commendation_count(kind: Kind, volume_ml: int | None, units: int | None, donated_on: date) -> int:
    """Return how many times one donation counts toward the 奉献奖."""
    if kind is Kind.WHOLE_BLOOD:
        volume = volume_ml or 0
        return max(volume // WHOLE_BLOOD_ML_PER_COUNT, 1) if volume > 0 else 0
    if kind is Kind.PLATELETS:
        # Every platelet donation yields at least one therapeutic unit, so a missing figure counts as one.
        count = units if units is not None else 1
        if donated_on < PLATELET_UNIT_WEIGHT_CHANGED_ON:
            return count * PLATELET_COUNTS_PER_UNIT_BEFORE
        return count
    return 0


def dedication_award(count: int) -> str | None:
    """Return the 奉献奖 grade (gold, silver or bronze) a donation count earns, or None."""
    for grade, threshold in DEDICATION_AWARD_THRESHOLDS:
        if count >= threshold:
            return grade
    return None
