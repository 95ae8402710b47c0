"""GB/T 2260 administrative division codes (行政区划代码), loaded from the shipped table.

The table holds retired codes as well as current ones: old records legitimately carry a code that was
valid at the time (330103 杭州市下城区 until 2021). Look-ups accept both; listings give current codes only.
It is built from several sources by tools/build_regions.py (docs/regions.md), which records what each
source says of each code; this module reads only the decision (`status`) and the retirement year.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

PROVINCE = "province"
PREFECTURE = "prefecture"
COUNTY = "county"

# GB/T 2260 rows that group codes without naming a place; a full name reads on without them.
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政单位", "自治区直辖县级行政单位"})

# 台湾省, 香港特别行政区 and 澳门特别行政区: provinces in GB/T 2260, outside the mainland blood service.
NON_MAINLAND_PROVINCES = frozenset({"71", "81", "82"})


@dataclass(frozen=True, slots=True)
class Region:
    """One row of the GB/T 2260 table; ``retired`` is the last year a retired code was in use, if known."""

    code: str
    name: str
    level: str
    parent: str | None
    retired: int | None = None
    current: bool = True


@cache
def _table() -> dict[str, Region]:
    text = files("bloodcert.data").joinpath("regions.csv").read_text(encoding="utf-8")
    return {row["code"]: _region(row) for row in csv.DictReader(io.StringIO(text))}


def _region(row: dict[str, str]) -> Region:
    retired = int(row["retired"]) if row.get("retired") else None
    # A table without a `status` column (an operator's own) is current wherever no retirement year is given.
    status = row.get("status") or ("retired" if retired is not None else "current")
    return Region(row["code"], row["name"], row["level"], row["parent"] or None, retired, status == "current")


def get_region(code: str) -> Region | None:
    """Return the region with this 6-digit code, or None."""
    return _table().get(code)


def is_known_region(code: str) -> bool:
    """Tell whether a 6-digit code is in the table, current or retired."""
    return len(code) == 6 and code in _table()


def is_current_region(code: str) -> bool:
    """Tell whether a 6-digit code is in the table and still in use."""
    region = get_region(code) if len(code) == 6 else None
    return region is not None and region.current


@lru_cache(maxsize=8192)
def full_name(code: str) -> str | None:
    """Return the full name such as 浙江省杭州市西湖区, or None for an unknown code.

    A retired code is named with its latest name under its enclosing regions (330103 → 浙江省杭州市下城区);
    a current code is never named after a retired enclosing region.
    """
    region = get_region(code)
    if region is None:
        return None
    parts: list[str] = []
    for ancestor_code in (code[:2] + "0000", code[:4] + "00", code):
        ancestor = get_region(ancestor_code)
        if ancestor is None or ancestor.name in PLACEHOLDER_NAMES or ancestor.name in parts:
            continue
        if not ancestor.current and region.current:
            continue
        parts.append(ancestor.name)
    return "".join(parts)


def province_code(code: str) -> str:
    """Return the 2-digit province part of a region code."""
    return code[:2]


def province_name(code: str) -> str | None:
    """Return the name of the province a code belongs to, or None."""
    province = get_region(province_code(code) + "0000")
    return province.name if province else None


def _of_level(level: str, prefix: str) -> list[Region]:
    """Current rows of a level under a prefix, sorted by code; retired rows are never listed."""
    return [
        r
        for code, r in sorted(_table().items())
        if r.level == level and r.current and code.startswith(prefix)
    ]


def provinces() -> list[Region]:
    """Return every current province-level region, including 台湾, 香港 and 澳门, sorted by code."""
    return _of_level(PROVINCE, "")


def mainland_provinces() -> list[Region]:
    """Return the 31 mainland provinces, autonomous regions and municipalities."""
    return [r for r in provinces() if province_code(r.code) not in NON_MAINLAND_PROVINCES]


def prefectures(province: str) -> list[Region]:
    """Return the current prefecture-level rows (placeholders included) of a 2-digit province code."""
    return _of_level(PREFECTURE, province[:2]) if len(province) == 2 else []


def counties(prefix: str) -> list[Region]:
    """Return the current county-level rows whose code starts with prefix."""
    return _of_level(COUNTY, prefix)


def is_valid_prefix(prefix: str) -> bool:
    """Tell whether a 2-, 4- or 6-digit prefix names a known province, prefecture or county.

    Retired codes count: a prefix of an old record's region is still a real place at the time.
    """
    if len(prefix) not in (2, 4, 6) or not prefix.isascii() or not prefix.isdigit():
        return False
    return is_known_region(prefix.ljust(6, "0"))


def matches_prefix(code: str, prefix: str) -> bool:
    """Tell whether a region code falls under a 2-, 4- or 6-digit prefix."""
    return is_valid_prefix(prefix) and code.startswith(prefix)
