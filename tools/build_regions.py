"""Build src/bloodcert/data/regions.csv (GB/T 2260) from python-stdnum's cn/loc.dat.

Run from the repository root: ``.venv/bin/python tools/build_regions.py``.

Current codes get an empty ``retired`` column; codes that are no longer in use are kept too (old
records carry them) with ``retired`` set to the last year the code was in use.
"""

from __future__ import annotations

import csv
import re
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "bloodcert" / "data" / "regions.csv"

# loc.dat spells these in traditional characters; GB/T 2260 uses simplified ones.
SPECIAL_PROVINCES = {"71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区"}

# loc.dat leaves these without an end year although they are gone: 429001 随州市 became 421300 in 2000,
# and 神农架林区 (422900 林区 / 422921) is 429021 now. Without this they would show up twice in 湖北省.
# loc.dat does not say when they ended, so they are left out rather than listed as retired.
STALE_CODES = frozenset({"422900", "422921", "429001"})

_ENTRY = re.compile(r"^(?:\[(?P<start>\d{4})?-(?P<end>\d{4})?\])?(?P<name>.+)$")
_PROVINCE = re.compile(r'^(?P<code>\d{2}) province="(?P<name>[^"]+)"')
_COUNTY = re.compile(r'^\s+(?P<code>\d{4}) county="(?P<names>[^"]+)"')


class Entry(NamedTuple):
    """A code's name and, for a retired code, the last year it was in use (None while current)."""

    name: str
    retired: int | None


def latest_name(names: str) -> Entry | None:
    """Return the name still in use from a comma-separated history, else the latest retired one.

    ``[-2010]崇文区`` gives ``Entry("崇文区", 2010)``; ``[-1991]东郊区,[1992-]东丽区`` gives
    ``Entry("东丽区", None)``. Among retired names the one with the latest end year wins (the later
    one on a tie).
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


def parse(text: str) -> dict[str, Entry]:
    """Map every 6-digit code, current or retired, to its latest name."""
    entries: dict[str, Entry] = {}
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


def rows(entries: dict[str, Entry]) -> list[tuple[str, str, str, str, str]]:
    """Give each code its level and the code of its enclosing region.

    A current code's parent is a current region; a retired code's parent may be retired as well.
    """
    result = []
    for code in sorted(entries):
        entry = entries[code]
        if code.endswith("0000"):
            level, parent = "province", ""
        elif code.endswith("00"):
            level, parent = "prefecture", code[:2] + "0000"
        else:
            prefecture = entries.get(code[:4] + "00")
            fits = prefecture is not None and (entry.retired is not None or prefecture.retired is None)
            level, parent = "county", code[:4] + "00" if fits else code[:2] + "0000"
        retired = "" if entry.retired is None else str(entry.retired)
        result.append((code, entry.name, level, parent, retired))
    return result


def main() -> None:
    """Write regions.csv."""
    text = files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    with OUTPUT.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["code", "name", "level", "parent", "retired"])
        writer.writerows(rows(parse(text)))


if __name__ == "__main__":
    main()
