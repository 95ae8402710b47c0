"""The donor's national history (爱心历程): summary, donations by time or region, and certificates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache

from bloodcert.certs.payload import CertificateContent, from_claims
from bloodcert.certs.qr import decode
from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import Kind
from bloodcert.domain.identity import mask_id_number
from bloodcert.domain.regions import full_name, province_code, province_name
from bloodcert.errors import Conflict, NotFound, ProblemField, ValidationFailed
from bloodcert.services.sessions import DonorPrincipal, HasHistory, donor_of, donor_token_hash
from bloodcert.storage.rows import HistoryRow

GROUPINGS = ("year", "province")
REGION_PREFIX = re.compile(r"[0-9]{2}(?:[0-9]{2}){0,2}")


@dataclass(frozen=True, slots=True)
class KindTotal:
    """The total of one kind of donation: millilitres, or therapeutic units for platelets."""

    kind: str
    amount: int


def _by_kind(whole_blood_ml: int, platelet_units: int, plasma_ml: int) -> tuple[KindTotal, ...]:
    """The kinds that have a total, in the order the pages list kinds; none that is zero."""
    totals = (
        KindTotal(Kind.WHOLE_BLOOD, whole_blood_ml),
        KindTotal(Kind.PLATELETS, platelet_units),
        KindTotal(Kind.PLASMA, plasma_ml),
    )
    return tuple(t for t in totals if t.amount)


@dataclass(frozen=True, slots=True)
class Summary:
    """Totals over a set of donations."""

    count: int
    whole_blood_ml: int
    platelet_units: int
    plasma_ml: int
    first_at: datetime | None
    last_at: datetime | None

    @property
    def by_kind(self) -> tuple[KindTotal, ...]:
        """Every kind given, with its total; what summaries and cards show."""
        return _by_kind(self.whole_blood_ml, self.platelet_units, self.plasma_ml)


@dataclass(frozen=True, slots=True)
class Group:
    """Totals for one year or one province."""

    key: str
    label: str
    count: int
    whole_blood_ml: int
    platelet_units: int
    plasma_ml: int

    @property
    def by_kind(self) -> tuple[KindTotal, ...]:
        """Every kind given in this group, with its total."""
        return _by_kind(self.whole_blood_ml, self.platelet_units, self.plasma_ml)


@dataclass(frozen=True, slots=True)
class Me:
    """Who the donor is, as shown to them (masked on the server)."""

    name: str
    id_type: str
    id_number_masked: str
    abo: str
    rhd: str | None
    under_review: bool
    summary: Summary


@dataclass(frozen=True, slots=True)
class Filters:
    """Validated query filters."""

    since: date | None = None
    until: date | None = None
    region: str | None = None
    group_by: str | None = None


@dataclass(slots=True)
class History:
    """The filtered donations, their summary and (when asked) their groups."""

    summary: Summary
    donations: list[HistoryRow]
    groups: list[Group] = field(default_factory=list)
    under_review: bool = False


def parse_filters(since: str | None, until: str | None, region: str | None, group_by: str | None) -> Filters:
    """Check the query parameters of GET /api/v1/me/donations; ValidationFailed lists every problem.

    Shapes are checked (a date, a 2-, 4- or 6-digit prefix); a well-formed range or prefix that matches
    nothing (to before from, a code of no region) is simply an empty history, as any search filter would be.
    """
    problems: list[ProblemField] = []
    start = _day(since, "from", problems)
    end = _day(until, "to", problems)
    if region is not None and not REGION_PREFIX.fullmatch(region):
        problems.append(
            ProblemField("region", "invalid_format", "region must be a GB/T 2260 prefix of 2, 4 or 6 digits")
        )
    if group_by is not None and group_by not in GROUPINGS:
        problems.append(ProblemField("group_by", "invalid_value", "group_by must be year or province"))
    if problems:
        raise ValidationFailed("the filters are not valid", errors=problems)
    return Filters(start, end, region, group_by)


def _day(text: str | None, name: str, problems: list[ProblemField]) -> date | None:
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        pass
    problems.append(ProblemField(name, "invalid_format", f"{name} must be a date as YYYY-MM-DD"))
    return None


def summarise(rows: Iterable[HistoryRow]) -> Summary:
    """Count and volumes of valid donations: whole blood ml, platelet units, plasma ml."""
    rows = list(rows)
    return Summary(
        count=len(rows),
        whole_blood_ml=sum(r.volume_ml or 0 for r in rows if r.kind == "whole_blood"),
        platelet_units=sum(r.units or 0 for r in rows if r.kind == "platelets"),
        plasma_ml=sum(r.volume_ml or 0 for r in rows if r.kind == "plasma"),
        first_at=min((r.donated_at for r in rows), default=None),
        last_at=max((r.donated_at for r in rows), default=None),
    )


def me(uow: HasHistory, principal: DonorPrincipal) -> Me:
    """The donor's identity (masked) and lifetime totals (kept on each merged person as donations arrive)."""
    persons = uow.history.persons_by_ids(principal.person_ids)
    if not persons:
        raise NotFound("no donation record for this login")
    first = persons[0]
    firsts = [p.first_at for p in persons if p.first_at is not None]
    lasts = [p.last_at for p in persons if p.last_at is not None]
    totals = Summary(
        count=sum(p.donation_count for p in persons),
        whole_blood_ml=sum(p.whole_blood_ml for p in persons),
        platelet_units=sum(p.platelet_units for p in persons),
        plasma_ml=sum(p.plasma_ml for p in persons),
        first_at=min(firsts, default=None),
        last_at=max(lasts, default=None),
    )
    return Me(
        name=first.name,
        id_type=first.id_type,
        id_number_masked=mask_id_number(first.id_number),
        abo="/".join(sorted({p.abo for p in persons})),
        rhd=first.rhd,
        under_review=principal.under_review,
        summary=totals,
    )


def history(uow: HasHistory, principal: DonorPrincipal, filters: Filters) -> History:
    """Donations newest first, filtered by China-time dates and region prefix, with optional groups."""
    since, until = _range(filters)
    rows = uow.history.donations_of_persons(
        principal.person_ids, since=since, until=until, region_prefix=filters.region
    )
    return _history(rows, principal, filters)


def my_history(
    reads: HasHistory, token: str | None, now: datetime, filters: Filters
) -> tuple[DonorPrincipal, bool, History]:
    """The donor of a live session (sessions.resolve_donor) and their history (`history`), read in one
    query; Unauthorized without a live session."""
    hashed = donor_token_hash(token)  # Unauthorized first, as for every donor read
    since, until = _range(filters)
    found, rows = reads.history.session_with_donations(
        hashed, since=since, until=until, region_prefix=filters.region
    )
    principal, touch = donor_of(found, now)
    return principal, touch, _history(rows, principal, filters)


def _range(filters: Filters) -> tuple[datetime | None, datetime | None]:
    """The filters' China-time days as a UTC range (the first and last days of the calendar included)."""
    since = _utc(filters.since) if filters.since else None
    until = _utc(filters.until + timedelta(days=1)) if filters.until and filters.until < date.max else None
    return since, until


def _history(rows: list[HistoryRow], principal: DonorPrincipal, filters: Filters) -> History:
    result = History(summarise(rows), rows, under_review=principal.under_review)
    if filters.group_by is not None:
        result.groups = group(rows, filters.group_by)
    return result


def group(rows: list[HistoryRow], by: str) -> list[Group]:
    """Totals per year (newest first) or per province (most donations first)."""
    buckets: dict[str, list[HistoryRow]] = {}
    for row in rows:
        key = str(local_time(row).year) if by == "year" else province_code(row.site_region)
        buckets.setdefault(key, []).append(row)
    groups = []
    for key, members in buckets.items():
        s = summarise(members)
        label = key if by == "year" else (province_name(key + "0000") or key)
        groups.append(Group(key, label, s.count, s.whole_blood_ml, s.platelet_units, s.plasma_ml))
    if by == "year":
        return sorted(groups, key=lambda g: g.key, reverse=True)
    return sorted(groups, key=lambda g: (-g.count, g.key))


def local_time(row: HistoryRow) -> datetime:
    """The donation time at the place it happened."""
    return row.donated_at.replace(tzinfo=UTC).astimezone(_zone(row.utc_offset_min))


@lru_cache(maxsize=64)
def _zone(offset_min: int) -> timezone:
    return timezone(timedelta(minutes=offset_min))


def region_name(code: str) -> str:
    """The full GB/T 2260 name of a site's region, or the code when unknown."""
    return full_name(code) or code


def _utc(day: date) -> datetime:
    # Date filters are calendar days in China time, the time stations report in.
    try:
        return datetime.combine(day, time(0), BEIJING).astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # 0001-01-01 begins before the first UTC instant Python has
        return datetime.min


@dataclass(frozen=True, slots=True)
class DonorCertificate:
    """One of the donor's certificates, as stored and signed."""

    content: CertificateContent
    qr: str
    status: str
    site_name: str
    site_region: str
    donated_at: datetime


def certificate(uow: HasHistory, principal: DonorPrincipal, certificate_no: str) -> DonorCertificate:
    """A certificate of this donor; NotFound for anyone else's (the same answer as for no certificate)."""
    found = uow.history.certificate_of_persons(certificate_no, principal.person_ids)
    if found is None:
        raise NotFound("no such certificate")
    if found.qr is None:
        # Stored by a bulk import that deferred signing; `bloodcert certs sign-pending` signs it.
        raise Conflict(
            "this certificate is being issued: it will be ready once it is signed", slug="certificate_pending"
        )
    row = uow.history.donation(found.donation_id)
    assert row is not None
    content, _issuer, _issued = from_claims(decode(found.qr).claims)
    return DonorCertificate(content, found.qr, found.status, row.site_name, row.site_region, local_time(row))
