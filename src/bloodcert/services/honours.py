"""Honours: a donor's awards (奉献奖 / 终身荣誉奖), volunteer hours (公益时) and perks; candidate lists.

The awards are computed from the national history by `domain/honours.py` on every read, so a corrected or
back-filled donation moves the answer at once. What is stored is only what people decide: a station's
confirmation or rejection of a candidate, per person, cycle and award (docs/honours.md).
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby

from bloodcert.certs.payload import HonourCardContent, honour_to_claims
from bloodcert.certs.qr import encode
from bloodcert.certs.statement import HoursByTable, HoursStatementContent, statement_to_claims
from bloodcert.certs.statement_pdf import StatementLine, StatementView, TableUse
from bloodcert.domain import honours as rules
from bloodcert.domain.clock import BEIJING
from bloodcert.domain.identity import mask_id_number
from bloodcert.errors import NotFound, ProblemField, ValidationFailed
from bloodcert.services.certificates import CertificateIssuer, Signing
from bloodcert.services.history import local_time
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.storage.rows import (
    HistoryRow,
    HonourCardRow,
    HonourDecisionRow,
    HonourDonationRow,
    PersonRow,
)
from bloodcert.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class HeldAward:
    """An award as the donor sees it: confirmed by a station, or a candidate awaiting review."""

    award: str
    cycle: str
    status: str  # candidate | confirmed


@dataclass(frozen=True, slots=True)
class PerkView:
    """A perk tier of a city or province, and whether the donor has reached it."""

    region: str
    region_name: str
    tier: str
    unlocks: tuple[str, ...]
    reached: bool
    rule: rules.PerkTier | None = None  # the tier's conditions (any one suffices)


@dataclass(frozen=True, slots=True)
class RegionPerks:
    """One city's or province's perks for the donor: the tiers reached and the next tier to reach."""

    region: str
    region_name: str
    reached: tuple[PerkView, ...]
    next_tier: PerkView | None


@dataclass(frozen=True, slots=True)
class MyHonours:
    """The donor's honours page: awards, progress to the next award, volunteer hours and perks."""

    awards: tuple[HeldAward, ...]
    count_toward_next: int
    next_award: str | None
    donations_needed: int | None
    volunteer_hours: int
    perks: tuple[PerkView, ...]

    @property
    def highest(self) -> str | None:
        """The highest award a station has confirmed (a pending candidate is not yet held)."""
        return rules.highest(a.award for a in self.awards if a.status == "confirmed")

    @property
    def regions(self) -> tuple[RegionPerks, ...]:
        """The perks region by region, in the data's order: tiers reached, and the first tier not reached."""
        order: dict[str, list[PerkView]] = {}
        for perk in self.perks:
            order.setdefault(perk.region, []).append(perk)
        return tuple(
            RegionPerks(
                tiers[0].region,
                tiers[0].region_name,
                tuple(p for p in tiers if p.reached),
                next((p for p in tiers if not p.reached), None),
            )
            for tiers in order.values()
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    """One line of a cycle's candidate list: who, which award, and the donations that count, with where."""

    person_id: int
    name: str
    id_number_masked: str
    award: str
    cycle: str
    count: int
    donations: tuple[rules.Donation, ...]
    status: str  # candidate | confirmed | rejected
    reason: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """A station's review of one candidate."""

    person_id: int
    cycle: str
    award: str
    confirm: bool
    reason: str | None
    decided_by: str


def donation_of(row: HistoryRow) -> rules.Donation:
    """A history row as the rules count it: on the calendar day where it happened."""
    return rules.Donation(
        local_time(row).date(), row.kind, row.volume_ml, row.units, row.site_region, row.station_name
    )


def my_honours(uow: UnitOfWork, principal: DonorPrincipal, today: date) -> MyHonours:
    """The donor's awards (computed, with stations' decisions), progress, volunteer hours and perks."""
    rows = uow.history.donations_of_persons(principal.person_ids)
    persons = uow.history.persons_by_ids(principal.person_ids)
    if not persons:
        raise NotFound("no donation record for this login")
    history = [donation_of(r) for r in rows]
    revisions = rules.award_rules()
    standing = rules.standing(history, revisions, rules.cycle_of_day(today, revisions[-1]))
    decisions = uow.honours.decisions_of_persons(principal.person_ids)
    awards = _held(standing.awards, decisions)
    hours = rules.volunteer_hours(history, rules.hours_tables(), rare=persons[0].rhd == "negative")
    totals = rules.Totals(
        whole_blood_ml=sum(r.volume_ml or 0 for r in rows if r.kind == "whole_blood"),
        count=len(rows),
        hours=hours,
        highest_award=rules.highest(a.award for a in awards if a.status == "confirmed"),
    )
    perks = tuple(
        PerkView(t.region, t.region_name, t.name, t.unlocks, rules.reached(t, totals), t)
        for t in rules.perk_tiers()
    )
    return MyHonours(
        awards, standing.count_toward_next, standing.next_award, standing.donations_needed, hours, perks
    )


def _held(computed: Iterable[rules.Award], decisions: Sequence[HonourDecisionRow]) -> tuple[HeldAward, ...]:
    """Computed awards not rejected, marked confirmed where a station confirmed them; confirmed awards the
    history no longer reaches (a donation since corrected) stay held."""
    status = {(d.cycle, d.award): d.status for d in decisions}
    held = {
        (a.cycle, a.award): "confirmed" if status.get((a.cycle, a.award)) == "confirmed" else "candidate"
        for a in computed
        if status.get((a.cycle, a.award)) != "rejected"
    }
    for (cycle, award), state in status.items():
        if state == "confirmed":
            held[(cycle, award)] = "confirmed"
    order = sorted(held, key=lambda k: (k[0], rules.AWARDS.index(k[1])))
    return tuple(HeldAward(award, cycle, held[(cycle, award)]) for cycle, award in order)


def parse_cycle(text: str) -> rules.Cycle:
    """A cycle named `YYYY-YYYY`, or ValidationFailed."""
    try:
        return rules.parse_cycle(text, rules.award_rules()[-1])
    except ValueError as exc:
        raise ValidationFailed(
            "not a commendation cycle", errors=[ProblemField("cycle", "invalid_value", str(exc))]
        ) from exc


def candidates(
    uow: UnitOfWork, cycle_text: str, *, province: str | None = None, station_code: str | None = None
) -> list[Candidate]:
    """The cycle's candidate list (everyone whose history reaches an award in that cycle), with the donations
    that count and where they were made, so a station can confirm without asking the donor for proof."""
    cycle = parse_cycle(cycle_text)
    rows = uow.honours.counted_donations(until=cycle.cutoff, province=province, station_code=station_code)
    decided = {(d.person_id, d.award): d for d in uow.honours.decisions_in_cycle(cycle.label)}
    found: list[tuple[int, rules.Award]] = []
    for person_id, group in groupby(rows, key=lambda r: r.person_id):
        history = [_counted(r) for r in group]
        found += [(person_id, a) for a in _reached_in(history, cycle)]
    persons = {p.id: p for p in uow.history.persons_by_ids(sorted({pid for pid, _ in found}))}
    result = []
    for person_id, award in found:
        person, decision = persons[person_id], decided.get((person_id, award.award))
        result.append(
            Candidate(
                person_id,
                person.name,
                mask_id_number(person.id_number),
                award.award,
                award.cycle,
                award.count,
                award.counted,
                decision.status if decision else "candidate",
                decision.reason if decision else None,
            )
        )
    return result


# The columns of a candidate list as a file (docs/honours.md), the same from the CLI and the console.
CANDIDATE_COLUMNS = (
    "cycle",
    "award",
    "status",
    "person_ref",
    "name",
    "id_number_masked",
    "count",
    "stations",
    "donations",
    "reason",
)


def candidates_csv(found: Iterable[Candidate]) -> str:
    """A candidate list as CSV text, one candidate a line with their counted donations and stations."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CANDIDATE_COLUMNS)
    for c in found:
        stations = sorted({d.where for d in c.donations})
        lines = [f"{d.donated_on} {d.kind} {d.volume_ml or d.units} {d.where}" for d in c.donations]
        writer.writerow(
            (
                c.cycle,
                c.award,
                c.status,
                c.person_id,
                c.name,
                c.id_number_masked,
                c.count,
                "; ".join(stations),
                "; ".join(lines),
                c.reason or "",
            )
        )
    return out.getvalue()


def _counted(row: HonourDonationRow) -> rules.Donation:
    return rules.Donation(
        row.donated_on, row.kind, row.volume_ml, row.units, row.site_region, row.station_name
    )


def _reached_in(history: list[rules.Donation], cycle: rules.Cycle) -> list[rules.Award]:
    return [a for a in rules.standing(history, rules.award_rules(), cycle).awards if a.cycle == cycle.label]


def decide(uow: UnitOfWork, decision: Decision, now: datetime) -> HonourDecisionRow:
    """Confirm or reject (with a reason) a cycle's candidate; NotFound when the history does not reach it."""
    cycle = parse_cycle(decision.cycle)
    if not decision.confirm and not (decision.reason or "").strip():
        raise ValidationFailed(
            "a rejection needs a reason",
            errors=[ProblemField("reason", "required", "say why it is rejected")],
        )
    rows = uow.history.donations_of_persons([decision.person_id])
    if decision.award not in {a.award for a in _reached_in([donation_of(r) for r in rows], cycle)}:
        raise NotFound("no such candidate in this cycle")
    row = HonourDecisionRow(
        decision.person_id,
        cycle.label,
        decision.award,
        "confirmed" if decision.confirm else "rejected",
        decision.reason,
        decision.decided_by,
        now.replace(tzinfo=None),
    )
    uow.honours.record_decision(row)
    return row


# A card is checked at a gate by a phone that may be offline, where a re-issue cannot be seen: a short life
# bounds how long a superseded (or copied) card keeps working there. Online, a re-issue ends it at once.
CARD_VALIDITY = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """A freshly signed honour card."""

    qr: str
    content: HonourCardContent


def issue_honour_card(
    uow: UnitOfWork, principal: DonorPrincipal, signing: Signing, now: datetime
) -> IssuedCard:
    """Sign a new honour card for the donor (masked name, highest award, perk tiers reached, short validity);
    its serial replaces the donor's previous one, so an earlier card no longer verifies online."""
    mine = my_honours(uow, principal, now.astimezone(BEIJING).date())
    persons = uow.history.persons_by_ids(principal.person_ids)
    issuer = CertificateIssuer.open(uow, signing)
    issued = now.astimezone(UTC).replace(microsecond=0)
    card = HonourCardContent(
        serial=secrets.token_hex(8),
        holder_name=rules.mask_name(persons[0].name),
        highest_award=mine.highest,
        perks=tuple(f"{p.region_name} {p.tier}" for p in mine.perks if p.reached),
        volunteer_hours=mine.volunteer_hours,
        expires_at=issued + CARD_VALIDITY,
    )
    claims = honour_to_claims(card, issuer=signing.issuer, issued_at=issued)
    qr = encode(claims, alg=issuer.alg, private_key=issuer.private_key, kid=issuer.key.kid).qr_text
    row = HonourCardRow(
        persons[0].id, card.serial, issued.replace(tzinfo=None), card.expires_at.replace(tzinfo=None)
    )
    uow.honours.replace_card(row)
    return IssuedCard(qr, card)


def card_in_force(uow: UnitOfWork, serial: str) -> bool:
    """Whether a card's serial is still its holder's current one (not superseded by a re-issue)."""
    return uow.honours.card_by_serial(serial) is not None


@dataclass(frozen=True, slots=True)
class HoursLine:
    """One donation as a volunteer service record (志愿服务记录)."""

    name: str
    id_number_masked: str
    donated_on: date
    donation_no: str
    kind: str
    place: str
    hours: int


@dataclass(frozen=True, slots=True)
class Converted:
    """One valid donation converted into volunteer hours by the table of the place it was made."""

    row: HistoryRow
    donation: rules.Donation
    table: rules.HoursTable
    hours: int


def _converted(uow: UnitOfWork, principal: DonorPrincipal) -> tuple[PersonRow, bool, list[Converted]]:
    """The donor, whether the rare-type scale applies (RhD-negative), and each donation converted, oldest
    first: what both the registry export and the statement are made of, so that they always agree."""
    persons = uow.history.persons_by_ids(principal.person_ids)
    if not persons:
        raise NotFound("no donation record for this login")
    tables, rare = rules.hours_tables(), persons[0].rhd == "negative"
    converted = []
    for row in reversed(uow.history.donations_of_persons(principal.person_ids)):
        d = donation_of(row)
        table = tables.for_region(d.region)
        converted.append(Converted(row, d, table, rules.hours_of(d, table, rare=rare)))
    return persons[0], rare, converted


def volunteer_hours_lines(uow: UnitOfWork, principal: DonorPrincipal) -> list[HoursLine]:
    """Each valid donation with its volunteer hours by the table of the place it was made, oldest first."""
    person, _, converted = _converted(uow, principal)
    masked = mask_id_number(person.id_number)
    return [
        HoursLine(
            person.name,
            masked,
            c.donation.donated_on,
            c.row.donation_no,
            c.row.kind,
            f"{c.row.station_name} {c.row.site_name}",
            c.hours,
        )
        for c in converted
    ]


# A statement is a snapshot of the hours on its day: it verifies, online and offline, for this long, long
# enough for a volunteer registry to check it; a corrected or longer history shows in the next statement.
STATEMENT_VALIDITY = timedelta(days=90)
DEFAULT_TABLE_NAME = "全国（默认）"


@dataclass(frozen=True, slots=True)
class IssuedStatement:
    """A freshly signed volunteer-hours statement, ready to draw."""

    qr: str
    view: StatementView


def table_name(table: rules.HoursTable) -> str:
    """How a statement names a conversion table: its region's name, or the national default."""
    return table.name if table.region else DEFAULT_TABLE_NAME


def conversion_text(table: rules.HoursTable, *, rare: bool) -> str:
    """A table's rates in words, e.g. `全血 200/300/400毫升计 2/4/6小时；单采血小板 每治疗量2小时；…`."""
    scale = table.rare_whole_blood if rare else table.whole_blood
    volumes = sorted(scale)
    whole = "/".join(str(v) for v in volumes) + "毫升计 " + "/".join(str(scale[v]) for v in volumes) + "小时"
    return (
        f"全血{'（稀有血型）' if rare else ''} {whole}；单采血小板 每治疗量{table.platelet_unit}小时；"
        f"单采血浆 每200毫升{table.plasma_per_200_ml}小时"
    )


def issue_hours_statement(
    uow: UnitOfWork, principal: DonorPrincipal, signing: Signing, now: datetime
) -> IssuedStatement:
    """Sign a statement of the donor's volunteer hours: each valid donation converted by the table of the
    place it was made, the hours by table, and the donations counted."""
    person, rare, converted = _converted(uow, principal)
    lines: list[StatementLine] = []
    used: dict[str, tuple[rules.HoursTable, int, int]] = {}
    for c in converted:
        name = table_name(c.table)
        place = f"{c.row.station_name} {c.row.site_name}"
        lines.append(
            StatementLine(
                c.donation.donated_on, c.row.kind, c.row.volume_ml, c.row.units, place, name, c.hours
            )
        )
        _, count, total = used.get(name, (c.table, 0, 0))
        used[name] = (c.table, count + 1, total + c.hours)
    issued = now.astimezone(UTC).replace(microsecond=0)
    content = HoursStatementContent(
        serial=secrets.token_hex(8),
        holder_name=person.name,
        id_number_masked=mask_id_number(person.id_number),
        hours=sum(line.hours for line in lines),
        donations=len(lines),
        first_on=lines[0].donated_on if lines else None,
        last_on=lines[-1].donated_on if lines else None,
        tables=tuple(HoursByTable(name, count, total) for name, (_, count, total) in used.items()),
        expires_at=issued + STATEMENT_VALIDITY,
    )
    issuer = CertificateIssuer.open(uow, signing)
    claims = statement_to_claims(content, issuer=signing.issuer, issued_at=issued)
    qr = encode(claims, alg=issuer.alg, private_key=issuer.private_key, kid=issuer.key.kid).qr_text
    uses = tuple(
        TableUse(name, conversion_text(table, rare=rare), count, total)
        for name, (table, count, total) in used.items()
    )
    return IssuedStatement(qr, StatementView(content, issued, uses, tuple(lines), qr))
