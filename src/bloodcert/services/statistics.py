"""National statistics for the console: donations and donors by province, month, kind and ABO type, with
first-time and repeat donors, for a span of months; and the same as CSV. Counts only, no personal data.

Donor counts are distinct persons within each group, so a margin (by province alone, say) is counted by
its own query rather than summed from the detailed groups.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from bloodcert.domain.regions import province_name
from bloodcert.domain.staff import Role, StaffPrincipal, require_role
from bloodcert.errors import Forbidden, ValidationFailed
from bloodcert.storage.repositories.statistics import StatRow
from bloodcert.storage.uow import UnitOfWork

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_MONTHS = 36
CSV_COLUMNS = (
    "province",
    "province_name",
    "month",
    "kind",
    "abo",
    "donations",
    "donors",
    "first_time",
    "repeat",
)


@dataclass(frozen=True, slots=True)
class Statistics:
    """The span, the scope, the total, each margin, and the detailed groups."""

    since: date
    until: date
    province: str | None
    total: StatRow
    by_province: list[StatRow]
    by_month: list[StatRow]
    by_kind: list[StatRow]
    by_abo: list[StatRow]
    detail: list[StatRow]


def parse_span(start: str, end: str, today: date) -> tuple[date, date]:
    """The first day of `start` and the last of `end` (YYYY-MM); the last twelve months by default."""
    if not end:
        end = f"{today.year:04d}-{today.month:02d}"
    if not start:
        year, month = today.year - 1, today.month + 1
        if month > 12:
            year, month = year + 1, 1
        start = f"{year:04d}-{month:02d}"
    first, last = MONTH.fullmatch(start), MONTH.fullmatch(end)
    if not first or not last or not 1 <= int(first[2]) <= 12 or not 1 <= int(last[2]) <= 12:
        raise ValidationFailed("months are YYYY-MM")
    since = date(int(first[1]), int(first[2]), 1)
    year, month = int(last[1]), int(last[2])
    until = date(year, month, calendar.monthrange(year, month)[1])
    months = (until.year - since.year) * 12 + until.month - since.month + 1
    if months < 1 or months > MAX_MONTHS:
        raise ValidationFailed(f"a span is 1–{MAX_MONTHS} months, from the first to the last")
    return since, until


def national_statistics(
    uow: UnitOfWork, principal: StaffPrincipal, *, since: date, until: date, province: str | None
) -> Statistics:
    """The statistics the caller may see: the whole country (national administrators, who may pick a
    province), or their own province (provincial administrators)."""
    require_role(principal, (Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN))
    if principal.role is Role.PROVINCIAL_ADMIN:
        if province not in (None, principal.province):
            raise Forbidden("this province is not yours")
        province = principal.province
    elif province is not None and (len(province) != 2 or not province.isdigit()):
        raise ValidationFailed("a province is its two-digit code")
    stats = uow.statistics

    def by(*names: str) -> list[StatRow]:
        return stats.grouped(names, since, until, province)

    totals = by()
    total = totals[0] if totals else StatRow(None, None, None, None, 0, 0, 0)
    return Statistics(
        since,
        until,
        province,
        total,
        by("province"),
        by("month"),
        by("kind"),
        by("abo"),
        by("province", "month", "kind", "abo"),
    )


def to_csv(result: Statistics) -> str:
    """The detailed groups as CSV (UTF-8 with a BOM, so that spreadsheet programs read the names)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in result.detail:
        name = province_name(r.province or "") or ""
        writer.writerow(
            [r.province, name, r.month, r.kind, r.abo, r.donations, r.donors, r.first_time, r.repeat]
        )
    return "\ufeff" + out.getvalue()
