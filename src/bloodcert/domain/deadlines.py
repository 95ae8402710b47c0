"""Due dates of donors' requests: calendar days from filing (15 by default, a setting), and when one is late.

Calendar days, not working days: the rule a donor can check for themselves, and the one the platform's
obligation is stated in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_DUE_DAYS = 15
MIN_DUE_DAYS = 1
MAX_DUE_DAYS = 90


def due_at(filed_at: datetime, days: int) -> datetime:
    """When a request filed at `filed_at` is due: `days` calendar days later, to the minute."""
    if not MIN_DUE_DAYS <= days <= MAX_DUE_DAYS:
        raise ValueError(f"a request is due in {MIN_DUE_DAYS}–{MAX_DUE_DAYS} days, not {days}")
    return filed_at + timedelta(days=days)


def overdue(due: datetime, now: datetime) -> bool:
    """Past its due time (the moment itself is still in time)."""
    return now > due


def days_late(due: datetime, now: datetime) -> int:
    """Whole days past due, 0 when in time."""
    return max(0, (now - due).days) if overdue(due, now) else 0
