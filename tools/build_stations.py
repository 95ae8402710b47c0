"""Build the ILLUSTRATIVE src/bloodcert/data/stations.csv from regions.csv, deterministically.

Run from the repository root after tools/build_regions.py: ``.venv/bin/python tools/build_stations.py``.
No official list of China's 452 blood stations is at hand, so this one follows the three tiers: one
血液中心 per mainland province, one 中心血站 per prefecture-level city except the capital, and 中心血库
in remote counties to make up the total.
"""

from __future__ import annotations

import csv
from itertools import zip_longest
from pathlib import Path

from bloodcert.domain.regions import PLACEHOLDER_NAMES, Region, counties, mainland_provinces, prefectures

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "bloodcert" / "data" / "stations.csv"
TOTAL = 452

# 西藏, 青海, 新疆, 四川's 阿坝/甘孜/凉山, and 内蒙古's 呼伦贝尔 and its 盟.
REMOTE_PREFIXES = ("54", "63", "65", "5132", "5133", "5134", "1507", "1522", "1525", "1529")

Row = tuple[str, str, str, str]


def is_capital(prefecture: Region) -> bool:
    """Every provincial capital has the prefecture code XX0100; its blood centre serves the city."""
    return prefecture.code.endswith("0100")


def station_prefectures(prefix: str) -> list[Region]:
    """Prefecture-level cities under a prefix that get their own 中心血站."""
    return [
        p
        for p in prefectures(prefix[:2])
        if p.code.startswith(prefix) and p.name not in PLACEHOLDER_NAMES and not is_capital(p)
    ]


def blood_centres() -> list[Row]:
    """One 血液中心 per mainland province."""
    return [(p.code + "01", p.name + "血液中心", "blood_centre", p.code) for p in mainland_provinces()]


def central_stations() -> list[Row]:
    """One 中心血站 per prefecture-level city other than the capital."""
    return [
        (p.code + "01", p.name + "中心血站", "central_station", p.code)
        for province in mainland_provinces()
        for p in station_prefectures(province.code[:2])
    ]


def central_banks(count: int) -> list[Row]:
    """Take remote counties (县 and 旗) round-robin across remote prefectures until count is reached."""
    remote = [p for prefix in REMOTE_PREFIXES for p in station_prefectures(prefix)]
    per_prefecture = [[c for c in counties(p.code[:4]) if c.name.endswith(("县", "旗"))] for p in remote]
    chosen = [c for rank in zip_longest(*per_prefecture) for c in rank if c is not None][:count]
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} remote counties for {count} central banks")
    return [(c.code + "01", c.name + "中心血库", "central_bank", c.code) for c in chosen]


def main() -> None:
    """Write stations.csv."""
    rows = blood_centres() + central_stations()
    rows += central_banks(TOTAL - len(rows))
    rows.sort()
    names = [row[1] for row in rows]
    if len(set(names)) != len(names):
        raise SystemExit("station names are not unique")
    with OUTPUT.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["code", "name", "tier", "region"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
