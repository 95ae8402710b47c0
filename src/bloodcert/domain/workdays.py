"""Working days (工作日) for review deadlines: Monday to Friday, less holidays, plus make-up days (调休).

The calendar is shipped data (bloodcert/data/holidays/cn.toml), one table per year as the State Council
announces it; a year without a table counts every Monday to Friday. Everything here is pure.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib.resources import files
from typing import Any


class CalendarError(ValueError):
    """A malformed holiday calendar: names the file and the field."""

    def __init__(self, source: str, field_name: str, message: str) -> None:
        super().__init__(f"{source}: {field_name}: {message}")


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """Public holidays and make-up working days, and the years they cover."""

    holidays: frozenset[date]
    working_days: frozenset[date]
    years: frozenset[int]

    def is_working_day(self, day: date) -> bool:
        """Whether a day is a working day in Beijing."""
        if day in self.working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, count: int) -> date:
        """The day on which `count` full working days after `start` have passed (start itself not counted)."""
        day = start
        left = count
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day


def _dates(source: str, where: str, value: Any, year: int) -> frozenset[date]:
    if not isinstance(value, list) or not all(isinstance(d, date) for d in value):
        raise CalendarError(source, where, "must be a list of dates")
    if any(d.year != year for d in value):
        raise CalendarError(source, where, f"every date must fall in {year}")
    return frozenset(value)


def _year(source: str, i: int, table: Any) -> tuple[int, frozenset[date], frozenset[date]]:
    where = f"years[{i}]"
    if not isinstance(table, dict):
        raise CalendarError(source, where, "must be a table")
    year = table.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise CalendarError(source, f"{where}.year", "is required (a year)")
    for name in ("source", "effective_from"):
        if name not in table:
            raise CalendarError(source, f"{where}.{name}", "is required")
    holidays = _dates(source, f"{where}.holidays", table.get("holidays", []), year)
    working = _dates(source, f"{where}.working_days", table.get("working_days", []), year)
    if holidays & working:
        raise CalendarError(source, where, "a day cannot be both a holiday and a working day")
    return year, holidays, working


def parse_calendar(source: str, text: str) -> HolidayCalendar:
    """Parse and check a holiday calendar (TOML); a malformed one raises CalendarError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(source, "(file)", f"is not valid TOML: {exc}") from exc
    tables = data.get("years")
    if not isinstance(tables, list) or not tables:
        raise CalendarError(source, "years", "needs at least one [[years]] table")
    parsed = [_year(source, i, t) for i, t in enumerate(tables)]
    years = [y for y, _h, _w in parsed]
    if len(set(years)) != len(years):
        raise CalendarError(source, "years", "a year appears twice")
    return _merge(parsed)


def _merge(parsed: Iterable[tuple[int, frozenset[date], frozenset[date]]]) -> HolidayCalendar:
    holidays: set[date] = set()
    working: set[date] = set()
    years: set[int] = set()
    for year, h, w in parsed:
        years.add(year)
        holidays |= h
        working |= w
    return HolidayCalendar(frozenset(holidays), frozenset(working), frozenset(years))


@cache
def builtin_calendar() -> HolidayCalendar:
    """The shipped calendar (bloodcert/data/holidays/cn.toml), checked on first use."""
    text = files("bloodcert.data").joinpath("holidays").joinpath("cn.toml").read_text(encoding="utf-8")
    return parse_calendar("holidays/cn.toml", text)
