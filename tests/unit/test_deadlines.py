"""Due dates of donors' requests: calendar days from filing, late only once past the moment."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bloodcert.domain.deadlines import DEFAULT_DUE_DAYS, days_late, due_at, overdue

FILED = datetime(2026, 2, 20, 9, 30)


def test_a_request_is_due_fifteen_calendar_days_later_across_a_month_end() -> None:
    assert due_at(FILED, DEFAULT_DUE_DAYS) == datetime(2026, 3, 7, 9, 30)


def test_a_request_is_late_only_after_its_due_moment() -> None:
    due = due_at(FILED, 15)
    assert not overdue(due, due)
    assert overdue(due, due + timedelta(seconds=1))
    assert days_late(due, due + timedelta(days=2, hours=3)) == 2
    assert days_late(due, due - timedelta(days=1)) == 0


@pytest.mark.parametrize("days", [0, 91, -1])
def test_a_due_period_outside_1_to_90_days_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="1–90"):
        due_at(FILED, days)
