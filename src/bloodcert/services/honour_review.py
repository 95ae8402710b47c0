"""Stations' review of a commendation cycle's candidates in the console: the list per station or province,
and a confirmation or a rejection with its reason, through the same rules as `bloodcert honours decide`.

A station operator reviews the donors who gave at their station; a national administrator reviews any
station's list or a province's. Each candidate comes with the donations that count and where they were
made, so nobody has to ask the donor for proof. Every decision is audited in its own transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from bloodcert.domain import honours as rules
from bloodcert.domain.regions import province_name
from bloodcert.domain.staff import Role, StaffPrincipal, require_role
from bloodcert.errors import NotFound, ProblemField, ValidationFailed
from bloodcert.services import honours
from bloodcert.services.console import Caller, station_of
from bloodcert.storage.rows import StationRow
from bloodcert.storage.uow import UnitOfWork

PER_PAGE = 50
MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose candidates: one station's donors, or one province's (2-digit GB/T 2260 code)."""

    station: StationRow | None
    province: str | None
    name: str

    @property
    def label(self) -> str:
        """How the audit log names the scope."""
        return f"station {self.station.code}" if self.station else f"province {self.province}"


@dataclass(frozen=True, slots=True)
class ReviewPage:
    """One page of a cycle's candidates in a scope, with the count of each status over the whole list."""

    cycle: str
    scope: Scope
    candidates: list[honours.Candidate]
    total: int
    page: int
    has_next: bool
    statuses: dict[str, int]


def default_cycle(today: date) -> str:
    """The cycle stations review now: the last one whose cut-off has passed."""
    revisions = rules.award_rules()
    current = rules.cycle_of_day(today, revisions[-1])
    return rules.cycle_of_year(current.first_year - 1, revisions[-1]).label


def recent_cycles(today: date, count: int = 4) -> list[str]:
    """The cycle under review and the ones before it, newest first."""
    revisions = rules.award_rules()
    first = honours.parse_cycle(default_cycle(today))
    years = [first.first_year - i * revisions[-1].cycle_years for i in range(count)]
    return [rules.cycle_of_year(y, revisions[-1]).label for y in years]


def station_scope(uow: UnitOfWork, principal: StaffPrincipal, code: str) -> Scope:
    """A station the caller may reach (an operator only their own)."""
    station = station_of(uow, principal, code)
    return Scope(station, None, station.name)


def province_scope(principal: StaffPrincipal, province: str) -> Scope:
    """A province, for national administrators; NotFound for a code that is not one."""
    require_role(principal, (Role.NATIONAL_ADMIN,))
    name = province_name(province) if len(province) == 2 and province.isdigit() else None
    if name is None:
        raise NotFound("no such province")
    return Scope(None, province, name)


def review_page(uow: UnitOfWork, scope: Scope, cycle: str, page: int = 1) -> ReviewPage:
    """A page of the cycle's candidates in the scope, in the candidate list's order."""
    found = honours.candidates(
        uow,
        cycle,
        province=scope.province,
        station_code=scope.station.code if scope.station else None,
    )
    start = (page - 1) * PER_PAGE
    return ReviewPage(
        honours.parse_cycle(cycle).label,
        scope,
        found[start : start + PER_PAGE],
        len(found),
        page,
        start + PER_PAGE < len(found),
        dict(Counter(c.status for c in found)),
    )


def review_csv(uow: UnitOfWork, scope: Scope, cycle: str) -> str:
    """The scope's whole candidate list as CSV, in the columns of `bloodcert honours candidates`."""
    station_code = scope.station.code if scope.station else None
    return honours.candidates_csv(
        honours.candidates(uow, cycle, province=scope.province, station_code=station_code)
    )


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """What the review form posts: which candidate and award, confirm or reject, and why."""

    person_id: int
    cycle: str
    award: str
    confirm: bool
    reason: str


def decide(uow: UnitOfWork, caller: Caller, scope: Scope, decision: ReviewDecision) -> None:
    """Confirm or reject a candidate of the scope (a rejection needs a reason), and audit it.

    A donor who never gave in the scope is not the caller's to decide on, whether or not they exist.
    """
    if decision.award not in rules.AWARDS:
        raise ValidationFailed(
            "no such award",
            errors=[ProblemField("award", "invalid_value", "bronze, silver, gold or lifetime")],
        )
    if not _in_scope(uow, scope, decision.person_id):
        raise NotFound("no such candidate in this list")
    reason = decision.reason.strip()[:MAX_REASON] or None
    honours.decide(
        uow,
        honours.Decision(
            decision.person_id,
            decision.cycle,
            decision.award,
            decision.confirm,
            None if decision.confirm else reason,
            caller.principal.actor[:64],
        ),
        caller.now,
    )
    action = "honour.confirm" if decision.confirm else "honour.reject"
    caller.record(uow, action, f"{decision.person_id} {decision.cycle} {decision.award} ({scope.label})")


def _in_scope(uow: UnitOfWork, scope: Scope, person_id: int) -> bool:
    rows = uow.history.donations_of_persons([person_id])
    if scope.station is not None:
        return any(r.station_code == scope.station.code for r in rows)
    regions = {s.code: s.region for s in uow.stations.all()}
    return any(regions.get(r.station_code, "").startswith(scope.province or "--") for r in rows)
