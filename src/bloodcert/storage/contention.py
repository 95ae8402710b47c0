"""Which database errors mean that a transaction lost a race with another, so that running it again is
right: PostgreSQL's deadlock and serialization failures, and two writers inserting the same new donation
(station + donation number) at the same moment. SQLite's writers take turns and never lose such races."""

from __future__ import annotations

from typing import Any

DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"
UNIQUE_VIOLATION = "23505"
# Unique keys that two concurrent ingests may both find missing; the rerun finds the other's row.
RACED_KEYS = frozenset({"uq_donations_station_no"})


def lost_a_race(exc: BaseException) -> bool:
    """True when `exc` (a SQLAlchemy error) ended a transaction that a rerun may well complete."""
    orig: Any = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    if state in (DEADLOCK, SERIALIZATION_FAILURE):
        return True
    if state == UNIQUE_VIOLATION:
        return getattr(getattr(orig, "diag", None), "constraint_name", None) in RACED_KEYS
    return False
