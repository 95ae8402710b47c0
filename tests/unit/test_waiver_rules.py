"""Waiver rule tables and entitlements: the shipped provinces, malformed tables, and properties of drawing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bloodcert.domain.waivers import (
    Balance,
    CountedDonation,
    Item,
    Pool,
    RuleTableError,
    Unit,
    apply,
    builtin_rule_book,
    entitlements,
    parse_rule_table,
    plan,
    reversal_of,
)

BOOK = builtin_rule_book()
ON = date(2026, 6, 1)


def donation(
    on: date = date(2025, 1, 1),
    kind: str = "whole_blood",
    ml: int | None = 200,
    *,
    units: int | None = None,
    region: str = "330103",
    qualified: bool = True,
    rh_negative: bool = False,
    station_id: int = 1,
) -> CountedDonation:
    if kind == "platelets":
        ml, units = None, units or 1
    return CountedDonation(on, kind, ml, units, qualified, rh_negative, region, station_id)


def only(report_donations: list[CountedDonation], relationship: str = "self", on: date = ON):  # type: ignore[no-untyped-def]
    report = entitlements(BOOK, report_donations, relationship=relationship, on=on)
    assert len(report.entitlements) == 1, report
    return report.entitlements[0]


def test_every_shipped_table_loads_with_a_source_and_a_date() -> None:
    assert set(BOOK.rules) >= {"33", "32", "44", "41", "3702", "3416"}
    for versions in BOOK.rules.values():
        assert all(v.source and v.effective_from for v in versions)


def test_zhejiang_below_400_ml_gives_five_times_for_five_years_then_once() -> None:
    pool = only([donation(date(2025, 1, 1), ml=200)])
    assert (pool.unit, pool.unlimited, pool.amount) == (Unit.ML, False, 1000)
    later = only([donation(date(2020, 1, 1), ml=200)], on=date(2026, 1, 1))
    assert later.amount == 200


def test_zhejiang_400_ml_in_total_covers_the_donor_for_life() -> None:
    pool = only([donation(date(2020, 1, 1)), donation(date(2021, 1, 1))])
    assert pool.unlimited and pool.reasons[0].code == "unlimited_for_life"


def test_zhejiang_platelets_count_800_ml_and_cover_the_donor_for_life() -> None:
    assert only([donation(kind="platelets")]).unlimited
    relatives = only([donation(kind="platelets")], "spouse")
    assert relatives.amount == 1600


def test_zhejiang_siblings_are_covered_only_for_a_gold_award_donor() -> None:
    one = entitlements(BOOK, [donation()], relationship="sibling", on=ON)
    assert not one.entitlements and one.reasons[0].code == "relationship_not_covered"
    forty = [donation(date(2005, 1, 1) + timedelta(days=190 * i), ml=200) for i in range(40)]
    assert only(forty, "sibling").amount > 0


def test_guangdong_qualified_blood_is_unlimited_and_failed_blood_counts_three_times() -> None:
    assert only([donation(region="440103")]).unlimited
    assert only([donation(region="440103", qualified=False)]).amount == 600


def test_guangdong_relatives_get_nothing_below_600_ml() -> None:
    assert only([donation(region="440103", ml=400)], "parent").amount == 0
    assert only([donation(region="440103", ml=400)] * 2, "parent").amount == 1600
    assert only([donation(region="440103", ml=400)] * 3, "parent").unlimited


def test_henan_800_ml_is_unlimited_for_ten_years_and_1000_ml_for_life() -> None:
    eight = [
        donation(date(2015, 1, 1), ml=400, region="410102"),
        donation(date(2015, 9, 1), ml=400, region="410102"),
    ]
    assert only(eight, on=date(2022, 1, 1)).unlimited
    after = only(eight, on=date(2026, 1, 1))
    assert not after.unlimited and after.amount == 800
    assert only([*eight, donation(date(2016, 6, 1), region="410102")], on=date(2030, 1, 1)).unlimited


def test_henan_a_donation_past_800_ml_renews_the_ten_years() -> None:
    late = [
        donation(date(2015, 1, 1), ml=400, region="410102"),
        donation(date(2021, 1, 1), ml=400, region="410102"),
    ]
    assert only(late, on=date(2027, 1, 1)).unlimited
    early = donation(date(2016, 1, 1), ml=100, region="410102")
    assert only([*late, early], on=date(2027, 1, 1)).unlimited


def test_jiangsu_covers_the_spouses_parents_once_the_volume() -> None:
    assert only([donation(region="320102", ml=300)], "spouse_parent").amount == 300
    assert only([donation(region="320102", ml=300)]).amount == 900


def test_qingdao_city_rules_take_precedence_and_count_donations_after_the_transfusion() -> None:
    later = donation(ON + timedelta(days=100), region="370202")
    assert only([later]).jurisdiction == "3702"
    assert only([later]).amount == 1000
    report = entitlements(
        BOOK, [donation(ON + timedelta(days=200), region="370202")], relationship="self", on=ON
    )
    assert not report.entitlements


def test_bozhou_counts_in_fen_with_a_rhd_negative_rate() -> None:
    pool = only([donation(region="341602", ml=400), donation(region="341602", rh_negative=True)])
    assert (pool.unit, pool.amount) == (Unit.FEN, 44000 + 39000)


def test_a_transfusion_before_the_first_rule_has_no_entitlement() -> None:
    report = entitlements(BOOK, [donation(date(2010, 1, 1))], relationship="self", on=date(2015, 1, 1))
    assert report.reasons[0].code == "no_entitlement"


def test_a_donation_in_a_province_without_a_table_gives_nothing() -> None:
    report = entitlements(BOOK, [donation(region="110105")], relationship="self", on=ON)
    assert not report.entitlements


GOOD = """
jurisdiction = "33"
name = "x"
[[versions]]
effective_from = "2020-01-01"
source = "s"
unit = "ml"
[versions.donation]
platelets_ml = 800
[versions.self]
tiers = [{multiplier = 1}]
[versions.relatives]
relationships = ["spouse"]
tiers = [{multiplier = 1}]
"""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (('effective_from = "2020-01-01"', 'effective_from = "2020-13-01"'), "versions[0].effective_from"),
        (('unit = "ml"', 'unit = "litre"'), "versions[0].unit"),
        (('unit = "ml"', 'unit = "fen"'), "versions[0].money"),
        (("platelets_ml = 800", "platelets_ml = -1"), "versions[0].donation.platelets_ml"),
        (('relationships = ["spouse"]', 'relationships = ["cousin"]'), "versions[0].relatives.relationships"),
        (
            ("tiers = [{multiplier = 1}]\n[versions.relatives]", "tiers = []\n[versions.relatives]"),
            "versions[0].self.tiers",
        ),
        (('jurisdiction = "33"', 'jurisdiction = "3"'), "jurisdiction"),
        (('source = "s"', "source = 3"), "versions[0].source"),
    ],
)
def test_a_malformed_table_is_an_error_naming_the_file_and_field(change: tuple[str, str], field: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(RuleTableError) as caught:
        parse_rule_table("waivers/bad.toml", text)
    assert caught.value.source == "waivers/bad.toml"
    assert caught.value.field == field
    assert str(caught.value).startswith(f"waivers/bad.toml: {field}:")


def test_the_good_table_parses() -> None:
    (rule,) = parse_rule_table("waivers/good.toml", GOOD)
    assert rule.rule_id == "33@2020-01-01"


# ---- properties --------------------------------------------------------------------------------------------

REGIONS = st.sampled_from(["330103", "320102", "440103", "410102", "370202", "341602", "110105"])
donations_st = st.builds(
    donation,
    on=st.dates(date(2000, 1, 1), date(2027, 1, 1)),
    kind=st.sampled_from(["whole_blood", "platelets", "plasma"]),
    ml=st.sampled_from([200, 300, 400]),
    units=st.sampled_from([1, 2]),
    region=REGIONS,
    qualified=st.booleans(),
    rh_negative=st.booleans(),
)
items_st = st.lists(
    st.builds(
        Item,
        component=st.sampled_from(["red_cells", "plasma", "platelets"]),
        volume_ml=st.integers(1, 2000),
        units=st.integers(1, 3),
        amount_fen=st.integers(1, 2_000_000),
    ),
    min_size=1,
    max_size=4,
)
relationship_st = st.sampled_from(["self", "spouse", "parent", "sibling", "spouse_parent"])
day_st = st.dates(date(2020, 1, 1), date(2030, 1, 1))


def _worth(report_entitlements: tuple, key: tuple[str, Pool]) -> float:  # type: ignore[type-arg]
    for e in report_entitlements:
        if (e.jurisdiction, e.pool) == key:
            return float("inf") if e.unlimited else e.amount
    return 0


@settings(max_examples=200, deadline=None)
@given(st.lists(donations_st, max_size=8), donations_st, relationship_st, day_st)
def test_more_donations_never_reduce_an_entitlement(
    before: list[CountedDonation], extra: CountedDonation, relationship: str, on: date
) -> None:
    old = entitlements(BOOK, before, relationship=relationship, on=on).entitlements
    new = entitlements(BOOK, [*before, extra], relationship=relationship, on=on).entitlements
    for e in old:
        key = (e.jurisdiction, e.pool)
        assert _worth(new, key) >= _worth(old, key)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(donations_st, min_size=1, max_size=6), items_st, relationship_st, day_st, st.integers(0, 3000)
)
def test_a_draw_never_makes_a_pool_negative_nor_waives_more_than_the_bill(
    history: list[CountedDonation], items: list[Item], relationship: str, on: date, drawn: int
) -> None:
    report = entitlements(BOOK, history, relationship=relationship, on=on)
    balances = [Balance(e, drawn, drawn) for e in report.entitlements]
    draws = plan(items, balances)
    for balance in balances:
        after = apply(balance, draws)
        if not balance.entitlement.unlimited:
            used = after.drawn_fen if balance.entitlement.unit is Unit.FEN else after.drawn_ml
            assert used <= max(balance.entitlement.amount, drawn)
            assert after.remaining >= 0
    assert sum(d.fen for d in draws) <= sum(i.amount_fen for i in items)
    assert all(d.ml >= 0 and d.fen >= 0 for d in draws)


@settings(max_examples=200, deadline=None)
@given(st.lists(donations_st, min_size=1, max_size=6), items_st, relationship_st, day_st)
def test_reversing_a_waiver_restores_exactly_what_it_drew(
    history: list[CountedDonation], items: list[Item], relationship: str, on: date
) -> None:
    report = entitlements(BOOK, history, relationship=relationship, on=on)
    balances = [Balance(e) for e in report.entitlements]
    draws = plan(items, balances)
    for balance in balances:
        assert apply(apply(balance, draws), reversal_of(draws)) == balance
