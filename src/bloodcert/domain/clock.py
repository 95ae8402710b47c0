"""Time helpers every layer shares: Beijing time and the naive-UTC form the database stores."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

# China keeps one time zone and no daylight saving time, so a fixed offset is exact (and needs no tzdata).
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def naive_utc(when: datetime) -> datetime:
    """The UTC wall time without tzinfo, as both databases store timestamps."""
    return when.astimezone(UTC).replace(tzinfo=None)


def beijing_midnight_utc(day: date) -> datetime:
    """The start of a Beijing calendar day, as naive UTC."""
    return naive_utc(datetime.combine(day, time(0), BEIJING))
