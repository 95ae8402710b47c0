"""Stations held to account in public (站点信息公开): one scorecard per station, computed from the data.

A scorecard holds no personal data: name, region, donation sites, donations per month, the median and 90th
percentile of the delay from donation to first report, the rejection rate, open and overdue requests, and
the median time to close a request. The figures cover the last twelve months (of donation for the monthly
counts, of receipt for the rest) and are computed for every station at once, then cached for a few minutes
(`ScorecardCache`), so that the public pages cost nothing per visit.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bloodcert.domain.clock import BEIJING, naive_utc
from bloodcert.domain.regions import full_name
from bloodcert.domain.staff import Role, StaffPrincipal, reaches_station, require_role
from bloodcert.errors import NotFound
from bloodcert.services import surveys
from bloodcert.storage.repositories.surveys import StationScore
from bloodcert.storage.uow import Database, UnitOfWork

MONTHS = 12
CACHE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class SiteItem:
    """A donation site as the public sees it."""

    name: str
    type: str
    region: str


@dataclass(frozen=True, slots=True)
class Scorecard:
    """One station's public figures."""

    code: str
    name: str
    region: str
    region_name: str
    sites: tuple[SiteItem, ...]
    months: tuple[tuple[date, int], ...]  # (first day of month, valid donations), oldest first
    median_delay_days: float | None
    p90_delay_days: float | None
    received: int
    rejected: int
    open_requests: int
    overdue_requests: int
    median_resolve_days: float | None
    satisfaction: StationScore | None = None  # donors' survey answers, once there are enough to publish

    @property
    def rejection_rate(self) -> float | None:
        """Rejected records over all records received, or None without any."""
        total = self.received + self.rejected
        return self.rejected / total if total else None

    @property
    def donations(self) -> int:
        """Valid donations in the twelve months."""
        return sum(n for _, n in self.months)


def months_back(today: date, count: int) -> list[date]:
    """The first days of the last `count` months, oldest first, ending with `today`'s."""
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        out.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def percentile(values: list[float], share: float) -> float | None:
    """The `share` quantile (inclusive method) of the values, None when there are none."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(share * 100) - 1]


def compute(uow: UnitOfWork, now: datetime) -> dict[str, Scorecard]:
    """Every station's scorecard, by station code."""
    months = months_back(now.astimezone(BEIJING).date(), MONTHS)
    since = naive_utc(now) - timedelta(days=365)
    by_month = uow.scorecards.donations_by_month(months[0])
    delays = uow.scorecards.first_report_delays(since)
    received = uow.scorecards.received_since(since)
    rejected = uow.scorecards.rejected_since(since)
    site_rows = uow.scorecards.sites_by_station()
    requests = uow.corrections.counts_by_station(naive_utc(now))
    resolve = uow.corrections.resolution_days()
    scores = {s.station_id: s for s in surveys.published_scores(uow)}
    cards = {}
    for station in uow.stations.all():
        sid = station.id
        late = delays.get(sid, [])
        open_n, overdue_n = requests.get(sid, (0, 0))
        cards[station.code] = Scorecard(
            code=station.code,
            name=station.name,
            region=station.region,
            region_name=full_name(station.region) or station.region,
            sites=tuple(SiteItem(*s) for s in site_rows.get(sid, [])),
            months=tuple((m, by_month.get(sid, {}).get(m, 0)) for m in months),
            median_delay_days=statistics.median(late) if late else None,
            p90_delay_days=percentile(late, 0.9),
            received=received.get(sid, 0),
            rejected=rejected.get(sid, 0),
            open_requests=open_n,
            overdue_requests=overdue_n,
            median_resolve_days=statistics.median(resolve[sid]) if resolve.get(sid) else None,
            satisfaction=scores.get(sid),
        )
    return cards


class ScorecardCache:
    """The scorecards of every station, computed at most once per `ttl` seconds per process."""

    def __init__(self, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._at: float | None = None
        self._cards: dict[str, Scorecard] = {}

    def get(self, db: Database) -> dict[str, Scorecard]:
        """The cached scorecards, recomputed when older than the time to live."""
        with self._lock:
            if self._at is None or self.clock() - self._at >= self.ttl:
                with db.reading() as uow:
                    self._cards = compute(uow, datetime.now(UTC))
                self._at = self.clock()
            return self._cards

    def clear(self) -> None:
        """Forget the scorecards (the next read recomputes them)."""
        with self._lock:
            self._at = None


def national_list(cards: dict[str, Scorecard], province: str | None = None) -> list[Scorecard]:
    """Scorecards by region and code, of one province if asked."""
    chosen = [c for c in cards.values() if province is None or c.region.startswith(province)]
    return sorted(chosen, key=lambda c: (c.region[:2], c.code))


def one(cards: dict[str, Scorecard], code: str) -> Scorecard:
    """One station's scorecard."""
    card = cards.get(code.strip()[:16])
    if card is None:
        raise NotFound("no station with this code")
    return card


def visible(
    cards: dict[str, Scorecard], principal: StaffPrincipal, station_ids: dict[str, int]
) -> list[Scorecard]:
    """The scorecards a console user reaches: all, the province's, or the own station's."""
    require_role(principal, (Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR))
    return [
        c for c in national_list(cards) if reaches_station(principal, station_ids.get(c.code, 0), c.region)
    ]
