"""Data-quality issues: every rejection and warning, with what the station sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from bloodcert.storage.bulk import insert_rows
from bloodcert.storage.rows import ClosedIssueRow, QualityIssueRow
from bloodcert.storage.tables import quality_issues
from bloodcert.storage.writes import NewQualityIssue


class QualityRepository:
    """Queries over `quality_issues`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, issues: Sequence[NewQualityIssue]) -> None:
        """Record issues in one statement."""
        insert_rows(self.conn, quality_issues, issues)

    def open_of_station(self, station_id: int, *, limit: int, offset: int) -> list[QualityIssueRow]:
        """A station's open issues, newest first."""
        rows = self.conn.execute(
            select(
                quality_issues.c.id,
                quality_issues.c.donation_no,
                quality_issues.c.severity,
                quality_issues.c.code,
                quality_issues.c.field,
                quality_issues.c.message,
                quality_issues.c.created_at,
                quality_issues.c.source,
            )
            .where(quality_issues.c.station_id == station_id, quality_issues.c.status == "open")
            .order_by(quality_issues.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [QualityIssueRow(*r) for r in rows]

    def count_open_of_station(self, station_id: int) -> int:
        """How many open issues a station has."""
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(quality_issues)
                .where(quality_issues.c.station_id == station_id, quality_issues.c.status == "open")
            ).scalar_one()
        )

    def counts_by_code(self, station_id: int) -> dict[str, int]:
        """Open issues of a station, counted by code."""
        rows = self.conn.execute(
            select(quality_issues.c.code, func.count())
            .where(quality_issues.c.station_id == station_id, quality_issues.c.status == "open")
            .group_by(quality_issues.c.code)
        )
        return {str(code): int(n) for code, n in rows}

    def get_of_station(self, station_id: int, issue_id: int) -> QualityIssueRow | None:
        """One issue of a station (None for another station's: not told apart from a missing one)."""
        row = self.conn.execute(
            select(*_ISSUE_COLUMNS).where(
                quality_issues.c.id == issue_id, quality_issues.c.station_id == station_id
            )
        ).first()
        return QualityIssueRow(*row) if row else None

    def close(
        self,
        issue_id: int,
        *,
        status: str,
        fixed_donation_id: int | None,
        note: str | None,
        by: str,
        at: datetime,
    ) -> bool:
        """Close an open issue (fixed or accepted); False when it was not open."""
        result = self.conn.execute(
            update(quality_issues)
            .where(quality_issues.c.id == issue_id, quality_issues.c.status == "open")
            .values(
                status=status,
                fixed_donation_id=fixed_donation_id,
                close_note=note,
                closed_by=by,
                closed_at=at,
            )
        )
        return result.rowcount == 1

    def closed_of_station(self, station_id: int, *, limit: int) -> list[ClosedIssueRow]:
        """A station's closed issues, most recently closed first: the history the open list leaves."""
        rows = self.conn.execute(
            select(
                quality_issues.c.id,
                quality_issues.c.donation_no,
                quality_issues.c.code,
                quality_issues.c.status,
                quality_issues.c.close_note,
                quality_issues.c.closed_by,
                quality_issues.c.closed_at,
                quality_issues.c.created_at,
            )
            .where(quality_issues.c.station_id == station_id, quality_issues.c.status != "open")
            .order_by(quality_issues.c.closed_at.desc(), quality_issues.c.id.desc())
            .limit(limit)
        )
        return [ClosedIssueRow(*r) for r in rows]


_ISSUE_COLUMNS = (
    quality_issues.c.id,
    quality_issues.c.donation_no,
    quality_issues.c.severity,
    quality_issues.c.code,
    quality_issues.c.field,
    quality_issues.c.message,
    quality_issues.c.created_at,
    quality_issues.c.source,
)
