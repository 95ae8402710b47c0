"""Blood-fee waiver (用血费用减免): provincial rule tables, entitlements and how a waiver draws on them.

A donor's donations in one jurisdiction (a province, or a city with rules of its own such as 青岛) give two
pools under that jurisdiction's rule in force on the transfusion date: `self`, for the donor, and
`relatives`, shared by every covered relative. A pool holds millilitres, fen (money-based rules such as
亳州's), or is unlimited. Everything here is pure: the rule tables are shipped data, and the caller supplies
the donations and what earlier waivers drew.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any


class Unit(StrEnum):
    """What a pool is measured in."""

    ML = "ml"
    FEN = "fen"


class Pool(StrEnum):
    """The donor's own pool, and the one all covered relatives share."""

    SELF = "self"
    RELATIVES = "relatives"


RELATIONSHIPS = ("self", "spouse", "parent", "child", "sibling", "grandparent", "spouse_parent")
PROOFS = (
    "none",
    "household_register",
    "marriage_certificate",
    "birth_certificate",
    "police_letter",
    "registered_relative",
)
# Transfused components measured in ml, and those counted in therapeutic units (治疗量).
ML_COMPONENTS = ("red_cells", "whole_blood", "plasma", "cryoprecipitate")
UNIT_COMPONENTS = ("platelets",)
COMPONENTS = ML_COMPONENTS + UNIT_COMPONENTS
# A transfused therapeutic unit of platelets counts as this many ml against a volume pool: one unit of
# apheresis platelets is collected from one donor's 200 ml-equivalent session in most tables.
TRANSFUSED_PLATELET_UNIT_ML = 200
# National commendation counting (全国无偿献血表彰奖励办法): gold for 40 counted donations.
GOLD_AWARD_COUNT = 40


class RuleTableError(ValueError):
    """A malformed rule table: names the file and the field."""

    def __init__(self, source: str, field_name: str, message: str) -> None:
        super().__init__(f"{source}: {field_name}: {message}")
        self.source = source
        self.field = field_name


@dataclass(frozen=True, slots=True)
class Tier:
    """`multiplier` x the counted volume until `years` after each donation (None: with no end)."""

    multiplier: int
    years: int | None


@dataclass(frozen=True, slots=True)
class Unlimited:
    """A cumulative total from which the pool is unlimited, for `years` after reaching it (None: for life)."""

    from_ml: int
    years: int | None


@dataclass(frozen=True, slots=True)
class PoolRule:
    """How one pool grows with donations."""

    tiers: tuple[Tier, ...]
    unlimited: tuple[Unlimited, ...] = ()
    unlimited_kinds: frozenset[str] = frozenset()
    unlimited_counts_qualified_only: bool = False
    minimum_ml: int = 0
    relationships: frozenset[str] = frozenset()
    gold_award_relationships: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Money:
    """Values of donations in fen, for rules that count in money."""

    whole_blood_fen_per_200ml: int
    rh_negative_fen_per_200ml: int
    platelets_fen_per_unit: int
    plasma_fen_per_200ml: int


@dataclass(frozen=True, slots=True)
class Rule:
    """One version of one jurisdiction's rule."""

    jurisdiction: str
    name: str
    source: str
    effective_from: date
    unit: Unit
    platelets_ml: int
    platelets_per_donation: bool
    plasma_percent: int
    self_pool: PoolRule
    relatives_pool: PoolRule
    money: Money | None = None
    counts_until_days_after: int = 0

    @property
    def rule_id(self) -> str:
        """A stable name for this version, e.g. `33@2020-01-01`."""
        return f"{self.jurisdiction}@{self.effective_from.isoformat()}"

    def pool(self, pool: Pool) -> PoolRule:
        """The rule of one pool."""
        return self.self_pool if pool is Pool.SELF else self.relatives_pool


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Every jurisdiction's versions, newest last."""

    rules: Mapping[str, tuple[Rule, ...]]

    def jurisdiction_of(self, region: str) -> str | None:
        """The jurisdiction whose rules govern a station region: a city's own rules before its province's."""
        for prefix in (region[:4], region[:2]):
            if prefix in self.rules:
                return prefix
        return None

    def in_force(self, jurisdiction: str, on: date) -> Rule | None:
        """The version of a jurisdiction's rule in force on a day, or None before its first."""
        current = None
        for rule in self.rules.get(jurisdiction, ()):
            if rule.effective_from <= on:
                current = rule
        return current

    def earliest(self) -> date | None:
        """The first day any rule was in force."""
        firsts = [versions[0].effective_from for versions in self.rules.values() if versions]
        return min(firsts) if firsts else None


# ---- loading ---------------------------------------------------------------------------------------------


class _Reader:
    """Reads typed fields out of a parsed table, naming the file and field in every error."""

    def __init__(self, source: str, data: Mapping[str, Any], path: str = "") -> None:
        self.source, self.data, self.path = source, data, path

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> RuleTableError:
        return RuleTableError(self.source, self._name(key), message)

    def get(self, key: str, kind: type, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be a {kind.__name__}")
        return value

    def count(self, key: str, default: Any = ..., *, minimum: int = 0) -> Any:
        value = self.get(key, int, default)
        if isinstance(value, int) and value < minimum:
            raise self.fail(key, f"must be at least {minimum}")
        return value

    def child(self, key: str, default: Mapping[str, Any] | None = None) -> _Reader:
        value = self.get(key, dict, default)
        return _Reader(self.source, value, self._name(key))

    def items(self, key: str) -> list[_Reader]:
        value = self.get(key, list, [])
        readers = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{i}]", "must be a table")
            readers.append(_Reader(self.source, item, self._name(f"{key}[{i}]")))
        return readers

    def names(self, key: str, allowed: Sequence[str]) -> frozenset[str]:
        value = self.get(key, list, [])
        for item in value:
            if item not in allowed:
                raise self.fail(key, f"{item!r} is not one of {', '.join(allowed)}")
        return frozenset(value)


def _tiers(reader: _Reader) -> tuple[Tier, ...]:
    tiers = tuple(
        Tier(t.count("multiplier", minimum=0), t.count("years", None, minimum=1))
        for t in reader.items("tiers")
    )
    if not tiers:
        raise reader.fail("tiers", "needs at least one tier")
    if tiers[-1].years is not None:
        raise reader.fail("tiers", "the last tier must have no `years` (it applies from then on)")
    years = [t.years for t in tiers[:-1]]
    if any(y is None for y in years) or years != sorted(years):  # type: ignore[type-var]
        raise reader.fail("tiers", "every tier but the last needs `years`, in increasing order")
    return tiers


def _pool_rule(reader: _Reader, *, relatives: bool) -> PoolRule:
    unlimited = tuple(
        Unlimited(u.count("from_ml", minimum=1), u.count("years", None, minimum=1))
        for u in reader.items("unlimited")
    )
    counts = reader.get("unlimited_counts", str, "all")
    if counts not in ("all", "qualified"):
        raise reader.fail("unlimited_counts", "must be `all` or `qualified`")
    covered = reader.names("relationships", RELATIONSHIPS[1:])
    if relatives and not covered:
        raise reader.fail("relationships", "the relatives pool must cover at least one relationship")
    return PoolRule(
        tiers=_tiers(reader),
        unlimited=unlimited,
        unlimited_kinds=reader.names("unlimited_kinds", ("whole_blood", "platelets", "plasma")),
        unlimited_counts_qualified_only=counts == "qualified",
        minimum_ml=reader.count("minimum_ml", 0),
        relationships=covered,
        gold_award_relationships=reader.names("gold_award_relationships", RELATIONSHIPS[1:]),
    )


def _money(reader: _Reader) -> Money:
    return Money(
        reader.count("whole_blood_fen_per_200ml"),
        reader.count("rh_negative_fen_per_200ml"),
        reader.count("platelets_fen_per_unit"),
        reader.count("plasma_fen_per_200ml", 0),
    )


def _version(reader: _Reader, jurisdiction: str, name: str) -> Rule:
    try:
        effective_from = date.fromisoformat(reader.get("effective_from", str))
    except ValueError as exc:
        raise reader.fail("effective_from", "must be a date YYYY-MM-DD") from exc
    unit_text = reader.get("unit", str)
    if unit_text not in ("ml", "fen"):
        raise reader.fail("unit", "must be `ml` or `fen`")
    source = reader.get("source", str)
    if not source.strip():
        raise reader.fail("source", "must name where the rule comes from")
    donation = reader.child("donation")
    per = donation.get("platelets_per", str, "unit")
    if per not in ("unit", "donation"):
        raise donation.fail("platelets_per", "must be `unit` or `donation`")
    unit = Unit(unit_text)
    if unit is Unit.FEN and "money" not in reader.data:
        raise reader.fail("money", "is required when unit is `fen`")
    return Rule(
        jurisdiction=jurisdiction,
        name=name,
        source=source,
        effective_from=effective_from,
        unit=unit,
        platelets_ml=donation.count("platelets_ml", minimum=1),
        platelets_per_donation=per == "donation",
        plasma_percent=donation.count("plasma_percent", 100),
        self_pool=_pool_rule(reader.child("self"), relatives=False),
        relatives_pool=_pool_rule(reader.child("relatives"), relatives=True),
        money=_money(reader.child("money")) if unit is Unit.FEN else None,
        counts_until_days_after=reader.count("counts_donations_until_days_after", 0),
    )


def parse_rule_table(source: str, text: str) -> tuple[Rule, ...]:
    """Parse and check one jurisdiction's TOML table; a malformed table raises RuleTableError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleTableError(source, "(file)", f"is not valid TOML: {exc}") from exc
    top = _Reader(source, data)
    jurisdiction = top.get("jurisdiction", str)
    if not (jurisdiction.isdigit() and len(jurisdiction) in (2, 4)):
        raise top.fail("jurisdiction", "must be a 2-digit province or 4-digit city code (GB/T 2260)")
    name = top.get("name", str)
    versions = tuple(_version(v, jurisdiction, name) for v in top.items("versions"))
    if not versions:
        raise top.fail("versions", "needs at least one version")
    dates = [v.effective_from for v in versions]
    if dates != sorted(set(dates)):
        raise top.fail("versions", "effective_from dates must be distinct and in increasing order")
    return versions


def rule_book_of(tables: Iterable[tuple[str, str]]) -> RuleBook:
    """A rule book from (source name, TOML text) pairs; two tables for one jurisdiction are an error."""
    rules: dict[str, tuple[Rule, ...]] = {}
    for source, text in tables:
        versions = parse_rule_table(source, text)
        if versions[0].jurisdiction in rules:
            raise RuleTableError(source, "jurisdiction", f"{versions[0].jurisdiction} has another table")
        rules[versions[0].jurisdiction] = versions
    return RuleBook(rules)


@cache
def builtin_rule_book() -> RuleBook:
    """The shipped tables (bloodcert/data/waivers/*.toml), checked on first use."""
    folder = files("bloodcert.data").joinpath("waivers")
    tables = sorted(
        (f"waivers/{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )
    return rule_book_of(tables)


# ---- entitlements ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CountedDonation:
    """A valid donation as the waiver rules see it; `region` is the collecting station's."""

    donated_on: date
    kind: str  # whole_blood | platelets | plasma
    volume_ml: int | None
    units: int | None
    qualified: bool
    rh_negative: bool
    region: str
    station_id: int


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a pool holds what it holds, or why nothing is waived."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Entitlement:
    """One pool of one jurisdiction at a date, before anything drawn is subtracted."""

    jurisdiction: str
    pool: Pool
    rule_id: str
    unit: Unit
    unlimited: bool
    amount: int  # ml or fen; meaningless when unlimited
    payer_station_id: int
    reasons: tuple[Reason, ...] = ()


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (28 February for 29 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def counted_ml(rule: Rule, donation: CountedDonation) -> int:
    """The ml a donation counts for under a rule (platelets converted, plasma weighted)."""
    if donation.kind == "platelets":
        return rule.platelets_ml * (1 if rule.platelets_per_donation else max(donation.units or 1, 1))
    if donation.kind == "plasma":
        return (donation.volume_ml or 0) * rule.plasma_percent // 100
    return donation.volume_ml or 0


def counted_fen(money: Money, donation: CountedDonation) -> int:
    """The fen a donation is worth under a money-based rule."""
    if donation.kind == "platelets":
        return money.platelets_fen_per_unit * max(donation.units or 1, 1)
    per_200 = money.plasma_fen_per_200ml if donation.kind == "plasma" else money.whole_blood_fen_per_200ml
    if donation.rh_negative and donation.kind == "whole_blood":
        per_200 = money.rh_negative_fen_per_200ml
    return (donation.volume_ml or 0) * per_200 // 200


def gold_award(donations: Iterable[CountedDonation]) -> bool:
    """Whether the national count reaches gold: 1 per 200 ml of whole blood, 1 per platelet unit."""
    count = 0
    for d in donations:
        if d.kind == "whole_blood":
            count += (d.volume_ml or 0) // 200
        elif d.kind == "platelets":
            count += max(d.units or 1, 1) * (4 if d.donated_on < date(2010, 1, 1) else 1)
    return count >= GOLD_AWARD_COUNT


def _multiplier(tiers: Sequence[Tier], donated_on: date, on: date) -> int:
    for tier in tiers:
        if tier.years is None or on < add_years(donated_on, tier.years):
            return tier.multiplier
    return tiers[-1].multiplier


def _unlimited_reason(
    rule: Rule, pool: PoolRule, donations: Sequence[CountedDonation], on: date
) -> Reason | None:
    kinds = pool.unlimited_kinds & {d.kind for d in donations}
    if kinds:
        return Reason("unlimited_by_kind", f"a {sorted(kinds)[0]} donation covers this pool for life")
    counting = [d for d in donations if d.qualified or not pool.unlimited_counts_qualified_only]
    # Every donation made at or past a threshold renews its years, so that a further donation never
    # shortens the unlimited period.
    for threshold in sorted(pool.unlimited, key=lambda u: -u.from_ml):
        running = 0
        for d in sorted(counting, key=lambda d: d.donated_on):
            running += counted_ml(rule, d)
            if running < threshold.from_ml:
                continue
            if threshold.years is None:
                return Reason("unlimited_for_life", f"{threshold.from_ml} ml or more in total: unlimited")
            if on < add_years(d.donated_on, threshold.years) and d.donated_on <= on:
                return Reason(
                    "unlimited_for_years",
                    f"{threshold.from_ml} ml by {d.donated_on}: unlimited for {threshold.years} years",
                )
    return None


def _pool_entitlement(rule: Rule, pool: Pool, donations: Sequence[CountedDonation], on: date) -> Entitlement:
    pool_rule = rule.pool(pool)
    payer = max(donations, key=lambda d: d.donated_on).station_id
    unlimited = _unlimited_reason(rule, pool_rule, donations, on)
    if unlimited is not None:
        return Entitlement(rule.jurisdiction, pool, rule.rule_id, rule.unit, True, 0, payer, (unlimited,))
    total_ml = sum(counted_ml(rule, d) for d in donations)
    if total_ml < pool_rule.minimum_ml:
        reason = Reason(
            "below_minimum", f"{total_ml} ml donated; this pool starts at {pool_rule.minimum_ml} ml"
        )
        return Entitlement(rule.jurisdiction, pool, rule.rule_id, rule.unit, False, 0, payer, (reason,))
    amount = 0
    for d in donations:
        value = counted_fen(rule.money, d) if rule.money is not None else counted_ml(rule, d)
        amount += value * _multiplier(pool_rule.tiers, d.donated_on, on)
    reason = Reason("multiple_of_volume", f"{total_ml} ml donated, multiplied as the rule says")
    return Entitlement(rule.jurisdiction, pool, rule.rule_id, rule.unit, False, amount, payer, (reason,))


def covers(rule: Rule, relationship: str, gold: bool) -> bool:
    """Whether a rule's relatives pool covers a relationship (gold-award donors' relatives more widely)."""
    pool = rule.relatives_pool
    return relationship in pool.relationships or (gold and relationship in pool.gold_award_relationships)


@dataclass(frozen=True, slots=True)
class EntitlementReport:
    """The pools a patient may draw on, and why others are missing."""

    entitlements: tuple[Entitlement, ...]
    reasons: tuple[Reason, ...] = field(default=())


def _counted_by_jurisdiction(
    book: RuleBook, donations: Sequence[CountedDonation], on: date
) -> list[tuple[Rule, list[CountedDonation]]]:
    """Each jurisdiction's rule in force on `on`, with the donations it counts then."""
    by_jurisdiction: dict[str, list[CountedDonation]] = {}
    for d in donations:
        jurisdiction = book.jurisdiction_of(d.region)
        if jurisdiction is not None:
            by_jurisdiction.setdefault(jurisdiction, []).append(d)
    found = []
    for jurisdiction in sorted(by_jurisdiction):
        rule = book.in_force(jurisdiction, on)
        if rule is None:
            continue
        limit = on.toordinal() + rule.counts_until_days_after
        counted = [d for d in by_jurisdiction[jurisdiction] if d.donated_on.toordinal() <= limit]
        if counted:
            found.append((rule, counted))
    return found


def entitlements(
    book: RuleBook, donations: Sequence[CountedDonation], *, relationship: str, on: date
) -> EntitlementReport:
    """The pools a waiver for `relationship` may draw on, one per donating jurisdiction, at date `on`."""
    pool = Pool.SELF if relationship == "self" else Pool.RELATIVES
    gold = gold_award(donations)
    found: list[Entitlement] = []
    reasons: list[Reason] = []
    for rule, counted in _counted_by_jurisdiction(book, donations, on):
        if pool is Pool.RELATIVES and not covers(rule, relationship, gold):
            reasons.append(Reason("relationship_not_covered", f"{rule.name} does not cover a {relationship}"))
            continue
        found.append(_pool_entitlement(rule, pool, counted, on))
    if not found and not reasons:
        reasons.append(Reason("no_entitlement", "no donation under a waiver rule in force on that date"))
    return EntitlementReport(tuple(found), tuple(reasons))


@dataclass(frozen=True, slots=True)
class DonorPools:
    """Both pools of one jurisdiction as the donor sees them, with who the relatives pool covers."""

    rule: Rule
    self_pool: Entitlement
    relatives_pool: Entitlement
    covered: frozenset[str]


def donor_pools(book: RuleBook, donations: Sequence[CountedDonation], on: date) -> list[DonorPools]:
    """Every jurisdiction's pools for a donor at date `on`."""
    gold = gold_award(donations)
    return [
        DonorPools(
            rule,
            _pool_entitlement(rule, Pool.SELF, counted, on),
            _pool_entitlement(rule, Pool.RELATIVES, counted, on),
            rule.relatives_pool.relationships
            | (rule.relatives_pool.gold_award_relationships if gold else frozenset()),
        )
        for rule, counted in _counted_by_jurisdiction(book, donations, on)
    ]


# ---- drawing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the hospital bill: a transfused component and what it costs."""

    component: str
    volume_ml: int | None
    units: int | None
    amount_fen: int

    @property
    def ml(self) -> int:
        """The ml this item counts for against a volume pool."""
        if self.component in UNIT_COMPONENTS:
            return (self.units or 0) * TRANSFUSED_PLATELET_UNIT_ML
        return self.volume_ml or 0


@dataclass(frozen=True, slots=True)
class Balance:
    """A pool with what earlier waivers drew from it (net of reversals)."""

    entitlement: Entitlement
    drawn_ml: int = 0
    drawn_fen: int = 0

    @property
    def remaining(self) -> int:
        """What is left in the pool's unit, never below zero (a rule's multiplier may fall with time)."""
        drawn = self.drawn_fen if self.entitlement.unit is Unit.FEN else self.drawn_ml
        return max(self.entitlement.amount - drawn, 0)


@dataclass(frozen=True, slots=True)
class Draw:
    """What one waiver takes from one pool: a ledger entry."""

    jurisdiction: str
    pool: Pool
    rule_id: str
    payer_station_id: int
    ml: int
    fen: int
    unlimited: bool
    remaining_before_ml: int | None
    remaining_before_fen: int | None


def drawing_order(balances: Iterable[Balance]) -> list[Balance]:
    """Unlimited pools first, then volume pools, then money pools; each group by jurisdiction code."""
    rank = {True: 0, False: 1}
    return sorted(
        balances,
        key=lambda b: (
            rank[b.entitlement.unlimited],
            b.entitlement.unit is Unit.FEN,
            b.entitlement.jurisdiction,
        ),
    )


def plan(items: Sequence[Item], balances: Iterable[Balance]) -> list[Draw]:
    """The draws that waive as much of the bill as the pools allow, in drawing order.

    Against a volume pool each item is waived in proportion to the ml still available, rounded down to the
    fen; a money pool pays up to its balance.
    """
    ml_done = [0] * len(items)
    fen_done = [0] * len(items)
    draws = []
    for balance in drawing_order(balances):
        e = balance.entitlement
        left = balance.remaining
        took_ml = took_fen = 0
        for i, item in enumerate(items):
            owed_fen = item.amount_fen - fen_done[i]
            if owed_fen <= 0:
                continue
            if e.unlimited:
                ml, fen = item.ml - ml_done[i], owed_fen
            elif e.unit is Unit.ML:
                ml = min(item.ml - ml_done[i], left - took_ml)
                if ml <= 0:
                    continue
                fen = item.amount_fen * (ml_done[i] + ml) // item.ml - fen_done[i]
            else:
                fen = min(owed_fen, left - took_fen)
                if fen <= 0:
                    continue
                ml = max(item.ml * (fen_done[i] + fen) // item.amount_fen - ml_done[i], 0)
            ml_done[i] += ml
            fen_done[i] += fen
            took_ml += ml
            took_fen += fen
        if took_ml or took_fen:
            before = None if e.unlimited else left
            draws.append(
                Draw(
                    e.jurisdiction,
                    e.pool,
                    e.rule_id,
                    e.payer_station_id,
                    took_ml,
                    took_fen,
                    e.unlimited,
                    before if e.unit is Unit.ML else None,
                    before if e.unit is Unit.FEN else None,
                )
            )
    return draws


def reversal_of(draws: Iterable[Draw]) -> list[Draw]:
    """The entries that undo draws exactly: the same pools, negated amounts."""
    return [
        Draw(d.jurisdiction, d.pool, d.rule_id, d.payer_station_id, -d.ml, -d.fen, d.unlimited, None, None)
        for d in draws
    ]


def apply(balance: Balance, draws: Iterable[Draw]) -> Balance:
    """A balance after ledger entries on its pool."""
    e = balance.entitlement
    mine = [d for d in draws if (d.jurisdiction, d.pool) == (e.jurisdiction, e.pool)]
    return Balance(
        e, balance.drawn_ml + sum(d.ml for d in mine), balance.drawn_fen + sum(d.fen for d in mine)
    )


def _describe_pool(pool: PoolRule) -> list[str]:
    tiers = ", then ".join(
        f"{t.multiplier}x for {t.years} years" if t.years else f"{t.multiplier}x" for t in pool.tiers
    )
    lines = [f"    multiplier of counted volume: {tiers} (years after each donation)"]
    for u in pool.unlimited:
        span = f"for {u.years} years" if u.years else "for life"
        counted = " (qualified blood only)" if pool.unlimited_counts_qualified_only else ""
        lines.append(f"    unlimited from {u.from_ml} ml in total{counted}, {span}")
    if pool.unlimited_kinds:
        lines.append(
            f"    unlimited for life after any donation of: {', '.join(sorted(pool.unlimited_kinds))}"
        )
    if pool.minimum_ml:
        lines.append(f"    nothing below {pool.minimum_ml} ml in total")
    if pool.relationships:
        lines.append(f"    covers: {', '.join(sorted(pool.relationships))}")
    if pool.gold_award_relationships:
        lines.append(f"    with a gold award also: {', '.join(sorted(pool.gold_award_relationships))}")
    return lines


def describe_rule(rule: Rule) -> list[str]:
    """A rule version in plain lines, for operators (`bloodcert waiver rules show`)."""
    per = "donation" if rule.platelets_per_donation else "unit"
    lines = [
        f"{rule.name} ({rule.jurisdiction}), in force from {rule.effective_from}: pools in {rule.unit.value}",
        f"  source: {rule.source}",
        f"  platelets count {rule.platelets_ml} ml per {per}; plasma {rule.plasma_percent}% of its volume",
    ]
    if rule.money is not None:
        m = rule.money
        lines.append(
            f"  money: whole blood {m.whole_blood_fen_per_200ml} fen per 200 ml (RhD-negative "
            f"{m.rh_negative_fen_per_200ml}), platelets {m.platelets_fen_per_unit} fen per unit, "
            f"plasma {m.plasma_fen_per_200ml} fen per 200 ml"
        )
    if rule.counts_until_days_after:
        lines.append(
            f"  donations up to {rule.counts_until_days_after} days after the transfusion also count"
        )
    lines.append("  self:")
    lines.extend(_describe_pool(rule.self_pool))
    lines.append("  relatives (one shared pool):")
    lines.extend(_describe_pool(rule.relatives_pool))
    return lines
