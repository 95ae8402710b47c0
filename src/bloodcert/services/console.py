"""The console's use cases: stations and their keys, data quality per station, the audit log, system status.

Every function that takes a station code from the client checks it against the caller first
(`station_of`): an operator reaches only their own station. Every change is audited in its own
transaction, so that a change without its audit entry cannot commit.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bloodcert.domain.clock import BEIJING, naive_utc
from bloodcert.domain.regions import full_name
from bloodcert.domain.staff import Role, StaffPrincipal, reaches_station, require_role, require_station
from bloodcert.errors import Forbidden, NotConfigured, NotFound
from bloodcert.services import audit, stations
from bloodcert.services.audit import AuditEvent
from bloodcert.services.certificates import CertificateIssuer, Signing
from bloodcert.storage.rows import (
    QualityIssueRow,
    ReportedVersion,
    SigningKeyRow,
    StationCounts,
    StationKeyRow,
    StationRow,
)
from bloodcert.storage.uow import Database, UnitOfWork
from bloodcert.storage.writes import AuditEntry

MONTHS = 12
# The delay chart reads at most this many versions per station; enough for a year of a busy station's
# reports, and a bound on what one page view may load.
MAX_VERSIONS = 50_000
ISSUES_SHOWN = 50
KEY_EXPIRY_WARNING = timedelta(days=30)
# Who registers and revokes stations' keys: not a provincial administrator, who oversees but does not operate.
KEY_MANAGERS = (Role.NATIONAL_ADMIN, Role.STATION_OPERATOR)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is acting, from where and when: what a change needs for its audit entry."""

    principal: StaffPrincipal
    client: str
    audit_key: bytes
    now: datetime

    def record(self, uow: UnitOfWork, action: str, obj: str | None, outcome: str = "ok") -> None:
        """Append the audit entry of this change, in the change's transaction."""
        event = AuditEvent(self.principal.actor, action, obj, self.client, outcome)
        audit.append(uow, self.audit_key, event, self.now)


# ---- stations and keys -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StationItem:
    """A station as the list shows it."""

    station: StationRow
    region_name: str
    counts: StationCounts


def visible_stations(uow: UnitOfWork, principal: StaffPrincipal, query: str = "") -> list[StationItem]:
    """The stations the caller may see (all for a national administrator, the province's for a provincial
    one, their own for an operator)."""
    require_role(principal, (Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR))
    counts = uow.station_stats.counts_by_station()
    wanted = query.strip().casefold()
    items = []
    for station in uow.stations.all():
        if not reaches_station(principal, station.id, station.region):
            continue
        if wanted and wanted not in station.code.casefold() and wanted not in station.name.casefold():
            continue
        region = full_name(station.region) or station.region
        items.append(StationItem(station, region, counts.get(station.id, StationCounts(0, 0))))
    return items


def station_of(uow: UnitOfWork, principal: StaffPrincipal, code: str) -> StationRow:
    """The station named by a client-supplied code, if the caller may reach it.

    An operator (or a provincial administrator) asking for any station they do not reach gets 403
    whether or not it exists, so that the answer does not tell them which codes are registered.
    """
    station = uow.stations.get_by_code(code.strip()[:16])
    if principal.role is not Role.NATIONAL_ADMIN and (
        station is None or not reaches_station(principal, station.id, station.region)
    ):
        raise Forbidden("this station is not yours")
    if station is None:
        raise NotFound(f"no station with code {code[:16]}")
    require_station(principal, station.id, station.region)
    return station


@dataclass(frozen=True, slots=True)
class StationDetail:
    """One station with every key it has had."""

    station: StationRow
    region_name: str
    keys: list[StationKeyRow]
    open_issues: int


def station_detail(uow: UnitOfWork, principal: StaffPrincipal, code: str) -> StationDetail:
    """A station and its keys, for the caller who may reach it."""
    station = station_of(uow, principal, code)
    return StationDetail(
        station,
        full_name(station.region) or station.region,
        uow.stations.keys_of_station(station.id),
        uow.quality.count_open_of_station(station.id),
    )


def add_station(
    uow: UnitOfWork, caller: Caller, *, code: str, name: str, region: str, tier: str
) -> StationRow:
    """Register a station (national administrators only)."""
    require_role(caller.principal, (Role.NATIONAL_ADMIN,))
    station = stations.register_station(uow, code=code, name=name, region=region, tier=tier, now=caller.now)
    caller.record(uow, "station.add", station.code)
    return station


def add_key(uow: UnitOfWork, caller: Caller, code: str, *, public_key_pem: bytes, alg: str) -> str:
    """Register a public key for a station the caller may reach; returns its key id."""
    require_role(caller.principal, KEY_MANAGERS)
    station = station_of(uow, caller.principal, code)
    key_id = stations.add_station_key(
        uow, code=station.code, public_key_pem=public_key_pem, alg=alg, now=caller.now
    )
    caller.record(uow, "station.add_key", f"{station.code} {key_id}")
    return key_id


def revoke_key(uow: UnitOfWork, caller: Caller, code: str, key_id: str) -> None:
    """Revoke one of the station's keys; a key of another station is not found here."""
    require_role(caller.principal, KEY_MANAGERS)
    station = station_of(uow, caller.principal, code)
    key = uow.stations.get_key(key_id[:64])
    if key is None or key.station_id != station.id:
        raise NotFound("this station has no such key")
    stations.revoke_station_key(uow, key_id=key.key_id, now=caller.now)
    caller.record(uow, "station.revoke_key", f"{station.code} {key.key_id}")


# ---- data quality ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthStat:
    """One month (China time) of a station's reports: what was accepted and rejected, and how late."""

    month: date
    accepted: int
    rejected: int
    median_delay_days: float | None
    p90_delay_days: float | None

    @property
    def rejection_rate(self) -> float | None:
        """Rejected records over all records received, or None for a month without any."""
        total = self.accepted + self.rejected
        return self.rejected / total if total else None


@dataclass(frozen=True, slots=True)
class QualityReport:
    """A station's open issues and twelve months of rejection rate and reporting delay."""

    station: StationRow
    open_issues: int
    counts_by_code: dict[str, int]
    issues: list[QualityIssueRow]
    months: list[MonthStat]


def quality_report(uow: UnitOfWork, principal: StaffPrincipal, code: str, now: datetime) -> QualityReport:
    """The data-quality page of a station the caller may reach."""
    station = station_of(uow, principal, code)
    months = last_months(now, MONTHS)
    since = datetime.combine(months[0], datetime.min.time(), BEIJING).astimezone(UTC).replace(tzinfo=None)
    rejections = uow.station_stats.rejections_since(station.id, since)
    versions = uow.station_stats.versions_since(station.id, since, limit=MAX_VERSIONS)
    counts = uow.quality.counts_by_code(station.id)
    return QualityReport(
        station,
        uow.quality.count_open_of_station(station.id),
        dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        uow.quality.open_of_station(station.id, limit=ISSUES_SHOWN, offset=0),
        monthly_stats(months, rejections, versions),
    )


def last_months(now: datetime, count: int) -> list[date]:
    """The first days of the last `count` months in China time, oldest first, ending with this month."""
    here = now.astimezone(BEIJING)
    year, month = here.year, here.month
    firsts = []
    for _ in range(count):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def _month_of(when: datetime) -> date:
    local = when.replace(tzinfo=UTC).astimezone(BEIJING)
    return date(local.year, local.month, 1)


def monthly_stats(
    months: list[date], rejections: Iterable[datetime], versions: Iterable[ReportedVersion]
) -> list[MonthStat]:
    """Per month of receipt: versions accepted, records rejected, and the reporting delay's median and p90.

    The reporting delay of a version is when the platform received it minus when the donation took place.
    """
    rejected: dict[date, int] = dict.fromkeys(months, 0)
    for when in rejections:
        month = _month_of(when)
        if month in rejected:
            rejected[month] += 1
    delays: dict[date, list[float]] = {m: [] for m in months}
    for version in versions:
        month = _month_of(version.received_at)
        if month in delays:
            delays[month].append(max(0.0, (version.received_at - version.donated_at).total_seconds() / 86400))
    return [_month_stat(m, rejected[m], delays[m]) for m in months]


def _month_stat(month: date, rejected: int, delays: list[float]) -> MonthStat:
    if not delays:
        return MonthStat(month, 0, rejected, None, None)
    p90 = statistics.quantiles(delays, n=10, method="inclusive")[-1] if len(delays) > 1 else delays[0]
    return MonthStat(month, len(delays), rejected, statistics.median(delays), p90)


# ---- the audit log ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of the audit log, newest first."""

    entries: list[AuditEntry]
    page: int
    has_next: bool


def audit_page(uow: UnitOfWork, principal: StaffPrincipal, page: int, per_page: int = 50) -> AuditPage:
    """A page of the audit log, for auditors only."""
    require_role(principal, (Role.AUDITOR,))
    page = max(1, page)
    rows = uow.audit.recent(limit=per_page + 1, offset=(page - 1) * per_page)
    return AuditPage(rows[:per_page], page, len(rows) > per_page)


# ---- system status ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusList:
    """One published status list: how full it is and how many entries are revoked."""

    list_id: str
    allocated: int
    capacity: int
    revoked: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SystemStatus:
    """What an administrator checks first: the database, the signing keys and the status lists."""

    database_ok: bool
    dialect: str
    schema_current: bool
    can_sign: bool
    signing_problem: str | None
    keys: list[SigningKeyRow]
    expiring_soon: list[SigningKeyRow]
    lists: list[StatusList]
    stations: int
    staff: int

    @property
    def healthy(self) -> bool:
        """Everything an issuing platform needs is in place."""
        return self.database_ok and self.schema_current and self.can_sign


def system_status(db: Database, signing: Signing, principal: StaffPrincipal, now: datetime) -> SystemStatus:
    """The system status page (national administrators only)."""
    from bloodcert.storage.schema import is_up_to_date

    require_role(principal, (Role.NATIONAL_ADMIN,))
    dialect = db.engine.dialect.name
    if not db.ping():
        return SystemStatus(False, dialect, False, False, "the database does not answer", [], [], [], 0, 0)
    with db.reading() as uow:
        problem = _signing_problem(uow, signing)
        keys = uow.certificates.all_keys()
        lists = [_status_list(uow, list_id) for list_id in uow.certificates.list_ids()]
        counts = (uow.stations.count(), uow.staff.count_users())
    soon = naive_utc(now) + KEY_EXPIRY_WARNING
    expiring = [k for k in keys if k.status == "active" and k.role == "signing" and k.not_after <= soon]
    current = is_up_to_date(db)
    return SystemStatus(True, dialect, current, problem is None, problem, keys, expiring, lists, *counts)


def _signing_problem(uow: UnitOfWork, signing: Signing) -> str | None:
    try:
        CertificateIssuer.open(uow, signing)
    except NotConfigured as exc:
        return exc.detail
    return None


def _status_list(uow: UnitOfWork, list_id: str) -> StatusList:
    row = uow.certificates.get_list(list_id)
    assert row is not None
    revoked = sum(bin(b).count("1") for b in row.bits)
    return StatusList(row.list_id, row.allocated_count, len(row.bits) * 8, revoked, row.updated_at)
