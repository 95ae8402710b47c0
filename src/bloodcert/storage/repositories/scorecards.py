"""Aggregates behind the stations' public scorecards: every station at once, no personal data."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import Connection, func, select

from bloodcert.storage.tables import donation_versions, donations, quality_issues, sites


class ScorecardRepository:
    """Read-only counts over donations, their versions, quality issues and sites, per station."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def donations_by_month(self, since: date) -> dict[int, dict[date, int]]:
        """Valid donations per station and month of the donation (the day where it happened)."""
        rows = self.conn.execute(
            select(donations.c.station_id, donations.c.donated_on, func.count())
            .where(donations.c.status == "valid", donations.c.donated_on >= since)
            .group_by(donations.c.station_id, donations.c.donated_on)
        )
        out: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        for station_id, day, n in rows:
            out[int(station_id)][date(day.year, day.month, 1)] += int(n)
        return out

    def first_report_delays(self, since: datetime) -> dict[int, list[float]]:
        """Per station: days from each donation to its first report, for first reports received since."""
        rows = self.conn.execute(
            select(donations.c.station_id, donation_versions.c.received_at, donations.c.donated_at)
            .join(donations, donations.c.id == donation_versions.c.donation_id)
            .where(donation_versions.c.received_at >= since, donation_versions.c.version == 1)
        )
        out: dict[int, list[float]] = defaultdict(list)
        for station_id, received, donated in rows:
            out[int(station_id)].append(max(0.0, (received - donated).total_seconds() / 86400))
        return out

    def received_since(self, since: datetime) -> dict[int, int]:
        """Per station: record versions accepted since."""
        rows = self.conn.execute(
            select(donations.c.station_id, func.count())
            .join(donations, donations.c.id == donation_versions.c.donation_id)
            .where(donation_versions.c.received_at >= since)
            .group_by(donations.c.station_id)
        )
        return {int(s): int(n) for s, n in rows}

    def rejected_since(self, since: datetime) -> dict[int, int]:
        """Per station: records rejected since (one issue per record carries it)."""
        rows = self.conn.execute(
            select(quality_issues.c.station_id, func.count())
            .where(
                quality_issues.c.severity == "error",
                quality_issues.c.record.is_not(None),
                quality_issues.c.created_at >= since,
            )
            .group_by(quality_issues.c.station_id)
        )
        return {int(s): int(n) for s, n in rows}

    def sites_by_station(self) -> dict[int, list[tuple[str, str, str]]]:
        """Per station: its donation sites as (name, type, region), by name."""
        rows = self.conn.execute(
            select(sites.c.station_id, sites.c.name, sites.c.type, sites.c.region).order_by(sites.c.name)
        )
        out: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
        for station_id, name, kind, region in rows:
            out[int(station_id)].append((str(name), str(kind), str(region)))
        return out
