"""National commendation (全国无偿献血表彰奖励办法), volunteer hours (公益时) and local perks, as pure rules.

The parameters are data (`bloodcert/data/honours/*.toml`), validated when loaded, so a revision of the rules
is a data change. Everything here is a function of a donation history and the loaded tables: no IO beyond
reading the package's own data files, as `domain/regions.py` does.

How the award computation reads the rules (docs/honours.md):

- Each cycle is two calendar years with a cut-off on 31 December of the second; a donation counts from the
  day it was made, in every cycle up to the donor's next gold award.
- At each cut-off the donor's count decides the highest 奉献奖 reached (bronze 20, silver 30, gold 40); a
  level above the highest already held is awarded in that cycle (one 奉献奖 per cycle). Bronze and silver
  keep the accumulated count.
- A gold award restarts counting from the day after the donation that reached the 40th count; after a
  first gold only gold is awarded again. The third gold also brings the lifetime honour (终身荣誉奖), once.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files
from typing import Any

AWARDS = ("bronze", "silver", "gold", "lifetime")
LEVELS = ("bronze", "silver", "gold")
CYCLE = re.compile(r"([0-9]{4})-([0-9]{4})")


class RulesInvalid(ValueError):
    """A rules file does not hold what the computation needs."""


@dataclass(frozen=True, slots=True)
class AwardRules:
    """One revision of the national award rules."""

    source: str
    effective_from: date
    cycle_anchor_year: int
    cycle_years: int
    cutoff_month: int
    cutoff_day: int
    bronze: int
    silver: int
    gold: int
    golds_for_lifetime: int
    whole_blood_ml_per_count: int
    platelet_units_per_count: int
    platelets_legacy_before: date
    platelets_legacy_factor: int
    plasma_ml_per_count: int

    def threshold(self, level: str) -> int:
        """Counted donations needed for a 奉献奖 level."""
        return {"bronze": self.bronze, "silver": self.silver, "gold": self.gold}[level]


@dataclass(frozen=True, slots=True)
class Donation:
    """A valid donation as the rules see it; `where` is the station's name, kept for candidate lists."""

    donated_on: date
    kind: str
    volume_ml: int | None
    units: int | None
    region: str = ""
    where: str = ""


@dataclass(frozen=True, slots=True)
class Cycle:
    """A commendation cycle, e.g. 2022-2023, with its cut-off day."""

    first_year: int
    last_year: int
    cutoff: date

    @property
    def label(self) -> str:
        """`YYYY-YYYY`."""
        return f"{self.first_year}-{self.last_year}"


@dataclass(frozen=True, slots=True)
class Award:
    """An award reached in a cycle, with the donations that counted towards it."""

    award: str
    cycle: str
    count: int
    counted: tuple[Donation, ...]


@dataclass(frozen=True, slots=True)
class Standing:
    """Awards reached up to a cycle, and what the donor needs for the next one."""

    awards: tuple[Award, ...]
    count_toward_next: int
    next_award: str | None
    donations_needed: int | None


# --- loading ---------------------------------------------------------------------------------------------


def _need(table: Mapping[str, Any], key: str, kind: type) -> Any:
    value = table.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RulesInvalid(f"{key} must be a {kind.__name__}")
    return value


def _positive(table: Mapping[str, Any], key: str) -> int:
    value: int = _need(table, key, int)
    if value <= 0:
        raise RulesInvalid(f"{key} must be positive")
    return value


def parse_award_rules(document: Mapping[str, Any]) -> tuple[AwardRules, ...]:
    """Validate the `[[rules]]` tables of award_rules.toml; revisions come back oldest first."""
    tables = document.get("rules")
    if not isinstance(tables, list) or not tables:
        raise RulesInvalid("award rules need at least one [[rules]] table")
    revisions = sorted((_award_rules(t) for t in tables), key=lambda r: r.effective_from)
    if len({r.effective_from for r in revisions}) != len(revisions):
        raise RulesInvalid("two revisions take effect on the same day")
    return tuple(revisions)


def _award_rules(t: Mapping[str, Any]) -> AwardRules:
    names = list(AwardRules.__slots__)
    ints = {
        n: _positive(t, n) for n in names if n not in ("source", "effective_from", "platelets_legacy_before")
    }
    rules = AwardRules(
        source=_need(t, "source", str),
        effective_from=_need(t, "effective_from", date),
        platelets_legacy_before=_need(t, "platelets_legacy_before", date),
        **ints,
    )
    if not rules.bronze < rules.silver < rules.gold:
        raise RulesInvalid("thresholds must rise: bronze < silver < gold")
    date(2000, rules.cutoff_month, rules.cutoff_day)  # raises ValueError for an impossible day
    return rules


@lru_cache(maxsize=1)
def award_rules() -> tuple[AwardRules, ...]:
    """The shipped award rules (data/honours/award_rules.toml)."""
    return parse_award_rules(_toml("award_rules.toml"))


def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads(files("bloodcert.data").joinpath("honours", name).read_text(encoding="utf-8"))


def rules_for(revisions: Sequence[AwardRules], cutoff: date) -> AwardRules:
    """The revision in force on a cut-off day (the earliest one for cycles before any took effect)."""
    in_force = [r for r in revisions if r.effective_from <= cutoff]
    return in_force[-1] if in_force else revisions[0]


# --- cycles ----------------------------------------------------------------------------------------------


def parse_cycle(text: str, rules: AwardRules) -> Cycle:
    """`YYYY-YYYY` → Cycle; ValueError for a span or start year that is not one of the rules' cycles."""
    match = CYCLE.fullmatch(text)
    if match is None:
        raise ValueError("a cycle is written YYYY-YYYY")
    first, last = int(match[1]), int(match[2])
    if last - first != rules.cycle_years - 1 or (first - rules.cycle_anchor_year) % rules.cycle_years:
        raise ValueError(f"{text} is not a commendation cycle")
    return cycle_of_year(first, rules)


def cycle_of_year(year: int, rules: AwardRules) -> Cycle:
    """The cycle a calendar year belongs to."""
    first = year - (year - rules.cycle_anchor_year) % rules.cycle_years
    last = first + rules.cycle_years - 1
    return Cycle(first, last, date(last, rules.cutoff_month, rules.cutoff_day))


def cycle_of_day(day: date, rules: AwardRules) -> Cycle:
    """The cycle whose cut-off is the first on or after a day."""
    cycle = cycle_of_year(day.year, rules)
    return cycle if day <= cycle.cutoff else cycle_of_year(cycle.last_year + 1, rules)


# --- counting --------------------------------------------------------------------------------------------


def counts(donation: Donation, rules: AwardRules) -> int:
    """How many donations one donation counts as: 1 per 200 ml of whole blood, 1 per platelet unit (×4
    before 2010), plasma per 200 ml."""
    if donation.kind == "whole_blood":
        return (donation.volume_ml or 0) // rules.whole_blood_ml_per_count
    if donation.kind == "platelets":
        units = (donation.units or 0) // rules.platelet_units_per_count
        legacy = donation.donated_on < rules.platelets_legacy_before
        return units * rules.platelets_legacy_factor if legacy else units
    if donation.kind == "plasma":
        return (donation.volume_ml or 0) // rules.plasma_ml_per_count
    return 0


def standing(history: Iterable[Donation], revisions: Sequence[AwardRules], up_to: Cycle) -> Standing:
    """Every award a history reaches, cycle by cycle, up to and including `up_to`."""
    # A total order, so that donations on one day count in the same order whatever order they came in.
    ordered = sorted(history, key=lambda d: (d.donated_on, d.kind, d.volume_ml or 0, d.units or 0, d.where))
    awards: list[Award] = []
    since: date | None = None  # counting starts the day after this (the donation that reached a gold)
    held: str | None = None  # highest 奉献奖 since the last restart, or "gold" after any gold
    golds = 0
    cycle = cycle_of_day(ordered[0].donated_on, revisions[0]) if ordered else up_to
    while cycle.cutoff <= up_to.cutoff:
        rules = rules_for(revisions, cycle.cutoff)
        counted = [
            d for d in ordered if (since is None or d.donated_on > since) and d.donated_on <= cycle.cutoff
        ]
        total = sum(counts(d, rules) for d in counted)
        level = _reached(total, rules, after_gold=golds > 0)
        if level is not None and (
            held is None or LEVELS.index(level) > LEVELS.index(held) or level == "gold"
        ):
            used = _up_to_count(counted, rules.gold, rules) if level == "gold" else counted
            awards.append(Award(level, cycle.label, sum(counts(d, rules) for d in used), tuple(used)))
            held = level
            if level == "gold":
                golds += 1
                since = used[-1].donated_on
                if golds == rules.golds_for_lifetime:
                    awards.append(Award("lifetime", cycle.label, golds, ()))
        cycle = cycle_of_year(cycle.last_year + 1, rules)
    return _with_next(tuple(awards), ordered, since, (golds, held), rules_for(revisions, up_to.cutoff))


def _reached(total: int, rules: AwardRules, *, after_gold: bool) -> str | None:
    if total >= rules.gold:
        return "gold"
    if after_gold:
        return None
    if total >= rules.silver:
        return "silver"
    return "bronze" if total >= rules.bronze else None


def _up_to_count(donations: list[Donation], target: int, rules: AwardRules) -> list[Donation]:
    """The donations up to and including the one that brings the count to `target`."""
    running = 0
    for i, d in enumerate(donations):
        running += counts(d, rules)
        if running >= target:
            return donations[: i + 1]
    return donations


def _with_next(
    awards: tuple[Award, ...],
    ordered: list[Donation],
    since: date | None,
    held: tuple[int, str | None],
    rules: AwardRules,
) -> Standing:
    golds, level = held
    now = sum(counts(d, rules) for d in ordered if (since is None or d.donated_on > since))
    following = {None: "bronze", "bronze": "silver", "silver": "gold", "gold": "gold"}
    target = following[level]
    shown = "lifetime" if golds == rules.golds_for_lifetime - 1 else target
    return Standing(awards, now, shown, max(rules.threshold(target) - now, 0))


# --- volunteer hours (公益时) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoursTable:
    """How one region converts donations into volunteer hours."""

    region: str  # "" for the national default
    name: str
    source: str
    effective_from: date
    whole_blood: Mapping[int, int]
    rare_whole_blood: Mapping[int, int]
    platelet_unit: int
    plasma_per_200_ml: int


@dataclass(frozen=True, slots=True)
class HoursTables:
    """The national default and the regions' own tables."""

    default: HoursTable
    regions: Mapping[str, HoursTable]

    def for_region(self, code: str) -> HoursTable:
        """The table of the longest matching prefix (city, then province), else the default."""
        for length in (6, 4, 2):
            found = self.regions.get(code[:length])
            if found is not None:
                return found
        return self.default


def parse_hours_tables(document: Mapping[str, Any]) -> HoursTables:
    """Validate volunteer_hours.toml."""
    default = _hours_table("", _need(document, "default", dict))
    regions = {code: _hours_table(code, table) for code, table in dict(document.get("regions", {})).items()}
    for code in regions:
        if not re.fullmatch(r"[0-9]{2}([0-9]{2}){0,2}", code):
            raise RulesInvalid(f"{code} is not a region prefix")
    return HoursTables(default, regions)


def _hours_table(region: str, t: Mapping[str, Any]) -> HoursTable:
    def volumes(key: str) -> dict[int, int]:
        raw: dict[str, Any] = _need(t, key, dict)
        table = {int(ml): int(hours) for ml, hours in raw.items()}
        if not table or any(h < 0 or ml <= 0 for ml, h in table.items()):
            raise RulesInvalid(f"{key} must map volumes to hours")
        return table

    return HoursTable(
        region,
        str(t.get("name", "全国")),
        _need(t, "source", str),
        _need(t, "effective_from", date),
        volumes("whole_blood"),
        volumes("rare_whole_blood"),
        _positive(t, "platelet_unit"),
        _positive(t, "plasma_per_200_ml"),
    )


@lru_cache(maxsize=1)
def hours_tables() -> HoursTables:
    """The shipped volunteer-hour tables (data/honours/volunteer_hours.toml)."""
    return parse_hours_tables(_toml("volunteer_hours.toml"))


def hours_of(donation: Donation, table: HoursTable, *, rare: bool = False) -> int:
    """Volunteer hours for one donation; an odd whole-blood volume takes the largest entry not above it."""
    if donation.kind == "whole_blood":
        scale = table.rare_whole_blood if rare else table.whole_blood
        fitting = [ml for ml in scale if ml <= (donation.volume_ml or 0)]
        return scale[max(fitting)] if fitting else 0
    if donation.kind == "platelets":
        return (donation.units or 0) * table.platelet_unit
    if donation.kind == "plasma":
        return (donation.volume_ml or 0) // 200 * table.plasma_per_200_ml
    return 0


def volunteer_hours(history: Iterable[Donation], tables: HoursTables, *, rare: bool = False) -> int:
    """Total volunteer hours, each donation by the table of the place it was made."""
    return sum(hours_of(d, tables.for_region(d.region), rare=rare) for d in history)


# --- perks -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PerkTier:
    """One tier of a city's or province's perks; reached when any one condition holds."""

    region: str
    region_name: str
    name: str
    unlocks: tuple[str, ...]
    min_ml: int | None = None
    min_count: int | None = None
    min_hours: int | None = None
    min_award: str | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    """What perk conditions look at."""

    whole_blood_ml: int
    count: int
    hours: int
    highest_award: str | None


def parse_perks(document: Mapping[str, Any]) -> tuple[PerkTier, ...]:
    """Validate perks.toml into tiers, in file order."""
    tiers: list[PerkTier] = []
    for region in _need(document, "regions", list):
        code, name = _need(region, "region", str), _need(region, "name", str)
        _need(region, "source", str), _need(region, "effective_from", date)
        for t in _need(region, "tiers", list):
            tier = PerkTier(
                code,
                name,
                _need(t, "name", str),
                tuple(_need(t, "unlocks", list)),
                t.get("min_ml"),
                t.get("min_count"),
                t.get("min_hours"),
                t.get("min_award"),
            )
            if tier.min_award is not None and tier.min_award not in AWARDS:
                raise RulesInvalid(f"{tier.min_award} is not an award")
            if (tier.min_ml, tier.min_count, tier.min_hours, tier.min_award) == (None, None, None, None):
                raise RulesInvalid(f"tier {tier.name} of {name} has no condition")
            tiers.append(tier)
    return tuple(tiers)


@lru_cache(maxsize=1)
def perk_tiers() -> tuple[PerkTier, ...]:
    """The shipped perk tiers (data/honours/perks.toml)."""
    return parse_perks(_toml("perks.toml"))


def reached(tier: PerkTier, totals: Totals) -> bool:
    """Whether any one of the tier's conditions holds."""
    held = AWARDS.index(totals.highest_award) if totals.highest_award else -1
    return (
        (tier.min_ml is not None and totals.whole_blood_ml >= tier.min_ml)
        or (tier.min_count is not None and totals.count >= tier.min_count)
        or (tier.min_hours is not None and totals.hours >= tier.min_hours)
        or (tier.min_award is not None and held >= AWARDS.index(tier.min_award))
    )


def highest(awards: Iterable[str]) -> str | None:
    """The highest of some awards (lifetime > gold > silver > bronze)."""
    ranks = [AWARDS.index(a) for a in awards if a in AWARDS]
    return AWARDS[max(ranks)] if ranks else None


def mask_name(name: str) -> str:
    """A name as an honour card shows it: the family name and the last character (王*芳, 王*, A*** B)."""
    if len(name) <= 2:
        return name[:1] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]
