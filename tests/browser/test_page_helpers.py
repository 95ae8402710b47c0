"""The pages' helpers without a browser: region picks, the chart, next dates, words, security headers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bloodcert.storage.rows import HistoryRow
from bloodcert.web.pages.i18n import words
from bloodcert.web.pages.views import RegionChoice, history_query, next_dates, year_bars
from bloodcert.web.security import add_security_headers


def row(when: datetime, kind: str = "whole_blood", region: str = "330106") -> HistoryRow:
    return HistoryRow(
        donation_id=1,
        person_id=1,
        certificate_no="2024000000000011",
        donation_no="D1",
        donated_at=when.astimezone(UTC).replace(tzinfo=None),
        utc_offset_min=480,
        kind=kind,
        volume_ml=400 if kind == "whole_blood" else None,
        units=2 if kind == "platelets" else None,
        station_code="33000001",
        station_name="浙江省血液中心",
        site_name="武林广场献血屋",
        site_type="fixed",
        site_region=region,
        test_result="qualified",
    )


@pytest.mark.parametrize(
    ("picked", "prefix"),
    [
        (["33", "3301", "330106"], "330106"),
        (["110105"], "110105"),  # a link carries only the most specific code
        (["31", "1101", "110105"], "31"),  # a city left from another province is dropped
        (["33", "3302", "330106"], "3302"),
        (["", "", ""], None),
        (["3x", "abcd"], None),
    ],
)
def test_the_most_specific_consistent_region_wins(picked: list[str], prefix: str | None) -> None:
    assert RegionChoice.of(picked).prefix == prefix


def test_a_lone_county_fills_in_its_province_and_city_selects() -> None:
    choice = RegionChoice.of(["110105"])
    assert (choice.province, choice.city) == ("11", "1101")
    assert any(r.code == "110105" for r in choice.counties)


def test_invalid_filters_show_everything_with_the_problems() -> None:
    query = history_query([("from", "2024-13-01"), ("group_by", "year"), ("region", "99")])
    filters, problems = query.filters()
    assert (filters.since, filters.region, filters.group_by) == (None, None, "year")
    assert problems == ["from must be a date as YYYY-MM-DD"]  # a region pick of no region is dropped


def test_the_chart_has_a_bar_for_every_year_even_empty_ones() -> None:
    bars = year_bars([row(datetime(2019, 5, 1, tzinfo=UTC)), row(datetime(2022, 5, 1, tzinfo=UTC))] * 2)
    assert [(b.year, b.count) for b in bars] == [(2019, 2), (2020, 0), (2021, 0), (2022, 2)]
    assert bars[0].height == bars[3].height > 0 and bars[1].height == 0


def test_next_dates_follow_gb_18467() -> None:
    dates = next_dates([row(datetime(2024, 5, 1, 2, tzinfo=UTC))], today=date(2024, 6, 1))
    assert [(d.kind, d.on) for d in dates] == [
        ("whole_blood", date(2024, 11, 1)),
        ("platelets", date(2024, 8, 1)),
        ("plasma", None),
    ]


def test_words_in_both_languages() -> None:
    zh, en = words("zh"), words("fr")
    assert en.lang == "zh"  # an unknown language falls back to Chinese
    en = words("en")
    assert zh.date(date(2024, 5, 1)) == "2024年5月1日" and en.date(date(2024, 5, 1)) == "1 May 2024"
    assert zh.amount("platelets", None, 2) == "2 个治疗量" and en.amount("whole_blood", 400, None) == "400 ml"
    assert zh.blood_type("A", "positive") == "A型 RhD阳性" and en.blood_type("O", None) == "O"
    assert zh.reason("bad_signature").startswith("签名不符") and en.reason("whatever").startswith("This")


@pytest.mark.parametrize(("scheme", "hsts"), [("https", True), ("http", False)])
def test_security_headers_are_on_every_response_and_hsts_only_over_https(scheme: str, hsts: bool) -> None:
    message: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": []}
    add_security_headers(message, {"scheme": scheme})  # type: ignore[arg-type]
    headers = {k.decode(): v.decode() for k, v in message["headers"]}
    assert ("strict-transport-security" in headers) is hsts
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["permissions-policy"].startswith("camera=(self)")


def test_security_headers_replace_a_handlers_own_value_instead_of_repeating_it() -> None:
    message: dict[str, Any] = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"X-Frame-Options", b"SAMEORIGIN"), (b"content-type", b"text/html")],
    }
    add_security_headers(message, {"scheme": "http"})  # type: ignore[arg-type]
    names = [k.decode().lower() for k, _ in message["headers"]]
    assert names.count("x-frame-options") == 1 and "content-type" in names
    assert dict(message["headers"])[b"x-frame-options"] == b"DENY"
