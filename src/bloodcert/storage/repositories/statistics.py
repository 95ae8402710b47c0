"""National statistics: donations and donors grouped by province, month, kind and ABO type, in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, case, distinct, func, select

from bloodcert.storage.tables import donations, persons, stations

DIMENSIONS = ("province", "month", "kind", "abo")


@dataclass(frozen=True, slots=True)
class StatRow:
    """One group: its keys (those asked for; the others are None) and its counts."""

    province: str | None
    month: str | None
    kind: str | None
    abo: str | None
    donations: int
    donors: int
    first_time: int

    @property
    def repeat(self) -> int:
        """Donors in the group whose first donation ever was earlier."""
        return self.donors - self.first_time


class StatisticsRepository:
    """Aggregates over valid donations, their stations and their persons."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _expressions(self) -> dict[str, Any]:
        month = (
            func.to_char(donations.c.donated_on, "YYYY-MM")
            if self.conn.dialect.name == "postgresql"
            else func.strftime("%Y-%m", donations.c.donated_on)
        )
        return {
            "province": func.substr(stations.c.region, 1, 2),
            "month": month,
            "kind": donations.c.kind,
            "abo": persons.c.abo,
        }

    def grouped(self, by: tuple[str, ...], since: date, until: date, province: str | None) -> list[StatRow]:
        """Valid donations from `since` to `until` (inclusive days), grouped by the dimensions `by`.

        A donor is first-time in a group when one of their donations there is their first ever.
        """
        exprs = self._expressions()
        keys = [exprs[name].label(name) for name in by]
        first = case((donations.c.donated_at == persons.c.first_at, donations.c.person_id), else_=None)
        query = (
            select(
                *keys,
                func.count(),
                func.count(distinct(donations.c.person_id)),
                func.count(distinct(first)),
            )
            .select_from(
                donations.join(stations, stations.c.id == donations.c.station_id).join(
                    persons, persons.c.id == donations.c.person_id
                )
            )
            .where(
                donations.c.status == "valid",
                donations.c.donated_on >= since,
                donations.c.donated_on <= until,
            )
        )
        if province is not None:
            query = query.where(stations.c.region.like(province + "%"))
        if keys:
            query = query.group_by(*keys).order_by(*keys)
        out = []
        for row in self.conn.execute(query):
            values = dict(zip(by, row[: len(by)], strict=True))
            n, donors, first_time = row[len(by) :]
            out.append(
                StatRow(
                    values.get("province"),
                    values.get("month"),
                    values.get("kind"),
                    values.get("abo"),
                    int(n),
                    int(donors),
                    int(first_time),
                )
            )
        return out
