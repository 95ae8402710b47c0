"""Synthetic national data in the import format (`bloodcert generate`): realistic, valid, optionally noisy."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from faker import Faker
from stdnum.cn import ric

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import Kind, earliest_next
from bloodcert.domain.regions import counties, mainland_provinces
from bloodcert.domain.stations import StationSeed, builtin_stations

# A fixed "today" keeps `generate --seed S` byte-for-byte reproducible from one day to the next.
AS_OF = date(2026, 11, 1)
ABO_WEIGHTS = (("O", 41), ("A", 28), ("B", 24), ("AB", 7))  # Liu et al. 2017
RHD_NEGATIVE_RATE = 0.003
KIND_WEIGHTS = ((Kind.WHOLE_BLOOD, 84), (Kind.PLATELETS, 14), (Kind.PLASMA, 2))
WHOLE_BLOOD_WEIGHTS = ((400, 55), (300, 25), (200, 20))
SITE_SUFFIXES = (("献血屋", "fixed"), ("献血车", "mobile"), ("献血点", "fixed"), ("团体献血", "group"))
NOISE_KINDS = (
    "bad_checksum",
    "fullwidth_id",
    "missing_volume",
    "future_date",
    "unknown_region",
    "nonstandard_volume",
    "duplicate",
    "name_variant",
)


@dataclass(slots=True)
class _Person:
    id_type: str
    id_number: str
    name: str
    sex: str
    birth: date
    abo: str
    rhd: str


class Generator:
    """Deterministic for a given seed: the same arguments write the same file."""

    def __init__(self, seed: int = 0, noise: float = 0.0, today: date | None = None) -> None:
        self.rng = random.Random(seed)
        self.noise = noise
        self.today = today or AS_OF
        faker = Faker("zh_CN")
        faker.seed_instance(seed)
        self.surnames = [faker.last_name() for _ in range(400)]
        self.male_given = [faker.first_name_male() for _ in range(400)]
        self.female_given = [faker.first_name_female() for _ in range(400)]
        self.stations = builtin_stations()
        self.by_province: dict[str, list[StationSeed]] = {}
        for s in self.stations:
            self.by_province.setdefault(s.region[:2], []).append(s)
        self.counties = [c.code for p in mainland_provinces() for c in counties(p.code[:2])]
        self.serial: dict[str, int] = {}
        self.site_counties: dict[str, list[str]] = {}
        for code in self.counties:
            self.site_counties.setdefault(code[:4], []).append(code)

    def records(self, persons: int) -> Iterator[dict[str, Any]]:
        """Yield every donation record of `persons` synthetic donors, person by person."""
        for _ in range(persons):
            yield from self._history(self._person())

    def _person(self) -> _Person:
        sex = self.rng.choice("FM")
        birth = date(1966, 1, 1) + timedelta(days=self.rng.randrange(365 * 40))
        county = self.rng.choice(self.counties)
        roll = self.rng.random()
        if roll < 0.985:
            body = f"{county}{birth:%Y%m%d}{self.rng.randrange(50):02d}{self._sex_digit(sex)}"
            id_type, number = (
                "resident_id",
                body + ric.calc_check_digit(body + "0"),
            )  # stdnum skips the last char
        elif roll < 0.99:
            id_type, number = "hk_macao_permit", self.rng.choice("HM") + f"{self.rng.randrange(10**8):08d}"
        elif roll < 0.995:
            id_type, number = "taiwan_permit", f"{self.rng.randrange(10**8):08d}"
        else:
            letters = "".join(self.rng.choice("EGKPS") for _ in range(1)) + f"{self.rng.randrange(10**8):08d}"
            id_type, number = "passport", letters
        given = self.male_given if sex == "M" else self.female_given
        name = self.rng.choice(self.surnames) + self.rng.choice(given)
        abo = self.rng.choices([a for a, _ in ABO_WEIGHTS], [w for _, w in ABO_WEIGHTS])[0]
        rhd = "negative" if self.rng.random() < RHD_NEGATIVE_RATE else "positive"
        return _Person(id_type, number, name, sex, birth, abo, rhd)

    def _sex_digit(self, sex: str) -> int:
        return self.rng.randrange(1, 10, 2) if sex == "M" else self.rng.randrange(0, 10, 2)

    def _history(self, person: _Person) -> Iterator[dict[str, Any]]:
        count = min(1 + int(self.rng.expovariate(1 / 2.5)), 60)
        adult = date(person.birth.year + 18, person.birth.month, min(person.birth.day, 28))
        start = max(adult, date(2008, 1, 1))
        if start >= self.today:
            return
        day = start + timedelta(days=self.rng.randrange(max((self.today - start).days, 1)))
        station = self.rng.choice(self.stations)
        last: tuple[Kind, date] | None = None
        for _ in range(count):
            kind = self.rng.choices([k for k, _ in KIND_WEIGHTS], [w for _, w in KIND_WEIGHTS])[0]
            if last is not None:
                earliest = earliest_next(last[0], last[1], kind) or last[1] + timedelta(days=14)
                day = max(day, earliest) + timedelta(days=int(self.rng.expovariate(1 / 120)))
            if day > self.today - timedelta(days=1):
                return
            if self.rng.random() < 0.04:  # people move: the next donations are in another province
                station = self.rng.choice(self.by_province[self.rng.choice(list(self.by_province))])
            yield from self._emit(self._record(person, station, kind, day))
            last = (kind, day)

    def _record(self, person: _Person, station: StationSeed, kind: Kind, day: date) -> dict[str, Any]:
        seq = self.serial.get(station.code, 0) + 1
        self.serial[station.code] = seq
        at = datetime.combine(day, time(8 + self.rng.randrange(10), self.rng.randrange(60)), BEIJING)
        suffix, site_type = self.rng.choice(SITE_SUFFIXES)
        site_counties = self.site_counties.get(station.region[:4]) or [station.region]
        volume = self.rng.choices([v for v, _ in WHOLE_BLOOD_WEIGHTS], [w for _, w in WHOLE_BLOOD_WEIGHTS])[0]
        return {
            "station": station.code,
            "donation_no": f"{station.code}-{seq:09d}",
            "version": 1,
            "status": "valid",
            "donor": {
                "id_type": person.id_type,
                "id_number": person.id_number,
                "name": person.name,
                "sex": person.sex,
                "birth_date": person.birth.isoformat(),
                "abo": person.abo,
                "rhd": person.rhd,
            },
            "donated_at": at.isoformat(),
            "kind": kind.value,
            "volume_ml": volume if kind is Kind.WHOLE_BLOOD else (600 if kind is Kind.PLASMA else None),
            "units": self.rng.choice((1, 1, 2)) if kind is Kind.PLATELETS else None,
            "site": {
                "name": station.name.removesuffix("中心血站").removesuffix("血液中心") + suffix,
                "type": site_type,
                "region": self.rng.choice(site_counties),
            },
            "test_result": "qualified" if self.rng.random() < 0.985 else "unqualified",
        }

    def _emit(self, record: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if self.noise <= 0 or self.rng.random() >= self.noise:
            yield record
            return
        kind = self.rng.choice(NOISE_KINDS)
        yield from _NOISE[kind](self, record)


def _bad_checksum(g: Generator, r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    number = r["donor"]["id_number"]
    if r["donor"]["id_type"] == "resident_id":
        wrong = next(c for c in "0123456789X" if c != number[-1])
        r["donor"]["id_number"] = number[:-1] + wrong
    yield r


def _fullwidth(g: Generator, r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    # Full-width digits and stray spaces: accepted, and merged with the same person.
    number = r["donor"]["id_number"]
    r["donor"]["id_number"] = " ".join(number[i : i + 6] for i in range(0, len(number), 6)).translate(
        {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}
    )
    yield r


def _missing_volume(g: Generator, r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    r["volume_ml"] = None
    r["units"] = None
    yield r


def _future(g: Generator, r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    r["donated_at"] = datetime.combine(g.today + timedelta(days=30), time(10), BEIJING).isoformat()
    yield r


def _unknown_region(g: Generator, r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    r["site"]["region"] = "999999"
    yield r


def _nonstandard(g: Generator, r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if r["kind"] == "whole_blood":
        r["volume_ml"] = g.rng.choice((250, 350, 450))
    yield r


def _duplicate(g: Generator, r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield r
    yield dict(r)


def _name_variant(g: Generator, r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    # A typo in the name: the same document under another name, which must surface as an identity conflict.
    r["donor"] = {**r["donor"], "name": r["donor"]["name"][0] + g.rng.choice(g.male_given)}
    yield r


_NOISE = {
    "bad_checksum": _bad_checksum,
    "fullwidth_id": _fullwidth,
    "missing_volume": _missing_volume,
    "future_date": _future,
    "unknown_region": _unknown_region,
    "nonstandard_volume": _nonstandard,
    "duplicate": _duplicate,
    "name_variant": _name_variant,
}
