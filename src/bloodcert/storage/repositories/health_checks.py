"""Health checks before donating: append a donor's answers, find the latest, list a site's day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select

from bloodcert.storage.rows import HealthCheckRow, StationHealthCheckRow
from bloodcert.storage.tables import appointments, health_checks, persons, slots
from bloodcert.storage.writes import NewHealthCheck, column_values

_COLUMNS = (
    health_checks.c.id,
    health_checks.c.person_id,
    health_checks.c.site_id,
    health_checks.c.appointment_id,
    health_checks.c.day,
    health_checks.c.kind,
    health_checks.c.questionnaire,
    health_checks.c.answers,
    health_checks.c.outcome,
    health_checks.c.come_back_on,
    health_checks.c.pass_serial,
    health_checks.c.pass_expires_at,
    health_checks.c.answered_at,
)
_LATEST_FIRST = (health_checks.c.answered_at.desc(), health_checks.c.id.desc())


def _row(r: Any) -> HealthCheckRow:
    return HealthCheckRow(*r[: len(_COLUMNS)])


class HealthCheckRepository:
    """Queries over `health_checks` (append-only)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, row: NewHealthCheck) -> int:
        """Store a completed check; returns its id."""
        return int(
            self.conn.execute(
                insert(health_checks).values(**column_values(row)).returning(health_checks.c.id)
            ).scalar_one()
        )

    def by_pass_serial(self, serial: str) -> HealthCheckRow | None:
        """The check that gave a pass."""
        r = self.conn.execute(select(*_COLUMNS).where(health_checks.c.pass_serial == serial)).first()
        return _row(r) if r else None

    def latest_of_persons(self, person_ids: Sequence[int], day: date | None = None) -> HealthCheckRow | None:
        """The donor's latest check (on a day, when given)."""
        if not person_ids:
            return None
        query = select(*_COLUMNS).where(health_checks.c.person_id.in_(list(person_ids)))
        if day is not None:
            query = query.where(health_checks.c.day == day)
        r = self.conn.execute(query.order_by(*_LATEST_FIRST).limit(1)).first()
        return _row(r) if r else None

    def of_site_day(self, site_id: int, day: date) -> list[StationHealthCheckRow]:
        """Every check at a site on a day, latest first, with who answered and the booked slot if any."""
        query = (
            select(*_COLUMNS, persons.c.name, persons.c.id_number, slots.c.starts_at, appointments.c.status)
            .join(persons, persons.c.id == health_checks.c.person_id)
            .outerjoin(appointments, appointments.c.id == health_checks.c.appointment_id)
            .outerjoin(slots, slots.c.id == appointments.c.slot_id)
            .where(health_checks.c.site_id == site_id, health_checks.c.day == day)
            .order_by(*_LATEST_FIRST)
        )
        n = len(_COLUMNS)
        return [
            StationHealthCheckRow(_row(r), r[n], r[n + 1], r[n + 2], r[n + 3])
            for r in self.conn.execute(query)
        ]
