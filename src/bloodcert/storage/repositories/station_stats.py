"""What the console shows about stations: key and issue counts, rejections and reporting delays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from bloodcert.storage.rows import ReportedVersion, StationCounts
from bloodcert.storage.tables import donation_versions, donations, quality_issues, station_keys


class StationStatsRepository:
    """Read-only aggregates over `station_keys`, `quality_issues`, `donations` and `donation_versions`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def counts_by_station(self) -> dict[int, StationCounts]:
        """Active keys and open issues of every station that has either."""
        keys = self.conn.execute(
            select(station_keys.c.station_id, func.count())
            .where(station_keys.c.revoked_at.is_(None))
            .group_by(station_keys.c.station_id)
        )
        issues = self.conn.execute(
            select(quality_issues.c.station_id, func.count())
            .where(quality_issues.c.status == "open")
            .group_by(quality_issues.c.station_id)
        )
        key_counts = {int(s): int(n) for s, n in keys}
        issue_counts = {int(s): int(n) for s, n in issues}
        return {
            s: StationCounts(key_counts.get(s, 0), issue_counts.get(s, 0))
            for s in key_counts.keys() | issue_counts.keys()
        }

    def rejections_since(self, station_id: int, since: datetime) -> list[datetime]:
        """When each record the station sent since `since` was rejected.

        A rejected record may have several errors, and so several issues; only the first carries the
        record (services/reporting.py), so counting those counts records.
        """
        rows = self.conn.execute(
            select(quality_issues.c.created_at).where(
                quality_issues.c.station_id == station_id,
                quality_issues.c.severity == "error",
                quality_issues.c.record.is_not(None),
                quality_issues.c.created_at >= since,
            )
        )
        return [r[0] for r in rows]

    def versions_since(self, station_id: int, since: datetime, *, limit: int) -> list[ReportedVersion]:
        """The newest versions (at most `limit`) the station sent since `since`, with their donation time."""
        rows = self.conn.execute(
            select(donation_versions.c.received_at, donations.c.donated_at)
            .join(donations, donations.c.id == donation_versions.c.donation_id)
            .where(donations.c.station_id == station_id, donation_versions.c.received_at >= since)
            .order_by(donation_versions.c.received_at.desc())
            .limit(limit)
        )
        return [ReportedVersion(r[0], r[1]) for r in rows]
