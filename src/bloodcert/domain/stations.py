"""The built-in, illustrative list of blood stations (采供血机构), kept as replaceable data."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

BLOOD_CENTRE = "blood_centre"
CENTRAL_STATION = "central_station"
CENTRAL_BANK = "central_bank"
TIERS = frozenset({BLOOD_CENTRE, CENTRAL_STATION, CENTRAL_BANK})


@dataclass(frozen=True, slots=True)
class StationSeed:
    """A station to create on first start: 8-digit code (region code + sequence), name, tier, region."""

    code: str
    name: str
    tier: str
    region: str


@cache
def _seeds() -> tuple[StationSeed, ...]:
    text = files("bloodcert.data").joinpath("stations.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    seeds = (StationSeed(r["code"], r["name"], r["tier"], r["region"]) for r in rows)
    return tuple(sorted(seeds, key=lambda seed: seed.code))


def builtin_stations() -> list[StationSeed]:
    """Return the 452 illustrative stations (血液中心, 中心血站, 中心血库), sorted by code."""
    return list(_seeds())
