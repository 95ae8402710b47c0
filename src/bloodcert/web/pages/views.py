"""What the history page shows, computed from the service's rows: filters, cards, chart and list items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bloodcert.domain.donation_rules import Kind, next_eligible
from bloodcert.domain.regions import (
    Region,
    counties,
    mainland_provinces,
    prefectures,
    province_code,
)
from bloodcert.errors import ValidationFailed
from bloodcert.services import history as svc
from bloodcert.storage.rows import HistoryRow

MAX_FIELD = 10
KINDS = frozenset(k.value for k in Kind)


@dataclass(frozen=True, slots=True)
class RegionChoice:
    """The province, city and county picked in the three `region` selects, and their option lists.

    The selects share the API's `region` name; the most specific pick that lies inside the broader ones
    wins, so a city left over from another province (no JavaScript to clear it) is ignored.
    """

    province: str = ""
    city: str = ""
    county: str = ""

    @classmethod
    def of(cls, values: Iterable[str]) -> RegionChoice:
        """Sort the submitted codes into province (2 digits), city (4) and county (6).

        A lone city or county (a link carries only the most specific code) implies its province and
        city; a city or county outside the chosen province or city is dropped.
        """
        picked = {len(v): v for v in (v.strip()[:6] for v in values) if v.isascii() and v.isdigit()}
        province, city, county = picked.get(2, ""), picked.get(4, ""), picked.get(6, "")
        if city and not city.startswith(province):
            city = ""
        if county and not county.startswith(city or province):
            county = ""
        city = city or county[:4]
        return cls(province or city[:2], city, county)

    @property
    def prefix(self) -> str | None:
        """The region prefix to filter by, or None for everywhere."""
        return self.county or self.city or self.province or None

    @property
    def provinces(self) -> list[Region]:
        """The mainland provinces, where blood stations are."""
        return mainland_provinces()

    @property
    def cities(self) -> list[Region]:
        """The prefecture-level regions of the chosen province."""
        return prefectures(self.province) if self.province else []

    @property
    def counties(self) -> list[Region]:
        """The county-level regions of the chosen city."""
        return counties(self.city) if self.city else []


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """The history page's query string, in the API's names: from, to, region (repeated), group_by."""

    since: str = ""
    until: str = ""
    region: RegionChoice = RegionChoice()
    group_by: str = ""

    def filters(self) -> tuple[svc.Filters, list[str]]:
        """The service's filters, or no filters and the problems when they are not valid."""
        try:
            parsed = svc.parse_filters(
                self.since or None, self.until or None, self.region.prefix, self.group_by or None
            )
        except ValidationFailed as exc:
            group_by = self.group_by if self.group_by in svc.GROUPINGS else None
            return svc.Filters(group_by=group_by), [e.message for e in exc.errors]
        return parsed, []

    def link(self, **changes: str) -> list[tuple[str, str]]:
        """The query pairs of this view with some changed (for the view tabs)."""
        pairs = {
            "from": self.since,
            "to": self.until,
            "region": self.region.prefix or "",
            "group_by": self.group_by,
        }
        pairs.update(changes)
        return [(k, v) for k, v in pairs.items() if v]


def history_query(pairs: Sequence[tuple[str, str]]) -> HistoryQuery:
    """Read the query string; values are cut to their longest valid length before any parsing."""
    first = {k: v[:MAX_FIELD].strip() for k, v in reversed(pairs)}
    return HistoryQuery(
        since=first.get("from", ""),
        until=first.get("to", ""),
        region=RegionChoice.of(v for k, v in pairs if k == "region"),
        group_by=first.get("group_by", ""),
    )


@dataclass(frozen=True, slots=True)
class NextDate:
    """When the donor may give one kind again; `on` is None when they may today."""

    kind: str
    on: date | None


def next_dates(rows: Iterable[HistoryRow], today: date) -> list[NextDate]:
    """GB 18467 intervals from every past donation, for whole blood, platelets and plasma."""
    past = [(Kind(r.kind), svc.local_time(r).date()) for r in rows if r.kind in KINDS]
    eligible = next_eligible(past, today)
    return [NextDate(kind.value, day if day > today else None) for kind, day in eligible.items()]


@dataclass(frozen=True, slots=True)
class Bar:
    """One year's bar in the chart, in the SVG's own units."""

    year: int
    count: int
    x: float
    y: float
    width: float
    height: float
    label: bool


@dataclass(frozen=True, slots=True)
class ChartFrame:
    """The chart's SVG viewBox and the baseline the bars stand on."""

    width: float = 320.0
    height: float = 150.0
    top: float = 18.0
    base: float = 128.0


CHART = ChartFrame()


def year_bars(rows: Iterable[HistoryRow]) -> list[Bar]:
    """Donations per year over every year from the first to the last, with the empty years too."""
    counts = Counter(svc.local_time(r).year for r in rows)
    if not counts:
        return []
    years = list(range(min(counts), max(counts) + 1))
    slot = CHART.width / len(years)
    peak = max(counts.values())
    every = max(1, -(-len(years) // 8))  # at most about eight year labels fit under a phone-wide chart
    bars = []
    for i, year in enumerate(years):
        height = (CHART.base - CHART.top) * counts[year] / peak
        width = min(slot * 0.62, 36.0)
        x = i * slot + (slot - width) / 2
        label = (len(years) - 1 - i) % every == 0
        bars.append(
            Bar(
                year,
                counts[year],
                round(x, 2),
                round(CHART.base - height, 2),
                round(width, 2),
                round(height, 2),
                label,
            )
        )
    return bars


def bars_text(bars: Iterable[Bar], lang: str) -> str:
    """The chart's data in words, for screen readers: `2023年 1次，2024年 2次`."""
    if lang == "en":
        return ", ".join(f"{b.year}: {b.count}" for b in bars)
    return "，".join(f"{b.year}年 {b.count}次" for b in bars)


@dataclass(frozen=True, slots=True)
class DonationItem:
    """One donation as the list shows it."""

    certificate_no: str | None
    donation_no: str
    when: datetime
    kind: str
    volume_ml: int | None
    units: int | None
    station_name: str
    site_name: str
    site_type: str
    region_name: str
    test_result: str


def donation_items(rows: Iterable[HistoryRow]) -> list[DonationItem]:
    """The rows as list items, in the local time of the place each donation was made."""
    return [
        DonationItem(
            r.certificate_no,
            r.donation_no,
            svc.local_time(r),
            r.kind,
            r.volume_ml,
            r.units,
            r.station_name,
            r.site_name,
            r.site_type,
            svc.region_name(r.site_region),
            r.test_result,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Section:
    """One year's or one province's donations, under the group's totals."""

    group: svc.Group
    items: list[DonationItem]


def sections(shown: svc.History, by: str | None) -> list[Section]:
    """The filtered donations split into the service's groups, in the groups' order."""
    if not by or not shown.groups:
        return []
    keyed: dict[str, list[HistoryRow]] = {}
    for row in shown.donations:
        key = str(svc.local_time(row).year) if by == "year" else province_code(row.site_region)
        keyed.setdefault(key, []).append(row)
    return [Section(g, donation_items(keyed.get(g.key, []))) for g in shown.groups]


def region_label(code: str | None) -> str:
    """The name of the region filtered by (浙江省杭州市), for the result line."""
    return svc.region_name(code.ljust(6, "0")) if code else ""
