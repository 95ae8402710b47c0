"""The national commendation rules, volunteer hours and perks: worked examples and properties."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bloodcert.domain import honours as h

RULES = h.award_rules()
R = RULES[0]


def whole(day: str, ml: int = 400, region: str = "330106") -> h.Donation:
    return h.Donation(date.fromisoformat(day), "whole_blood", ml, None, region, "杭州站")


def platelets(day: str, units: int = 1, region: str = "330106") -> h.Donation:
    return h.Donation(date.fromisoformat(day), "platelets", None, units, region, "杭州站")


def cycle(text: str) -> h.Cycle:
    return h.parse_cycle(text, R)


def awards(history: list[h.Donation], up_to: str) -> list[tuple[str, str, int]]:
    return [(a.award, a.cycle, a.count) for a in h.standing(history, RULES, cycle(up_to)).awards]


def every_two_weeks(start: str, n: int, units: int = 1) -> list[h.Donation]:
    first = date.fromisoformat(start)
    return [platelets((first + timedelta(days=14 * i)).isoformat(), units) for i in range(n)]


# --- worked examples, counted by hand -----------------------------------------------------------------


def test_platelets_before_2010_count_four_per_unit_and_after_one():
    before, after = platelets("2009-12-31"), platelets("2010-01-01")
    assert (h.counts(before, R), h.counts(after, R)) == (4, 1)
    assert h.counts(platelets("2009-06-01", units=2), R) == 8


def test_whole_blood_counts_one_per_200_ml():
    assert [h.counts(whole("2020-01-01", ml), R) for ml in (200, 300, 400)] == [1, 1, 2]


def test_donor_with_platelets_before_and_after_2010_reaches_bronze_then_silver():
    # 2008-2009: 3 platelet donations of one unit = 12; 2010-2011: 4 x 400 ml = 8, total 20 → bronze.
    history = [platelets("2008-03-01"), platelets("2008-09-01"), platelets("2009-03-01")]
    history += [whole(f"{y}-0{m}-01") for y in (2010, 2011) for m in (2, 8)]
    # 2012-2013: 10 platelet donations of one unit = 10 → 30, silver; the bronze count carried over.
    history += every_two_weeks("2012-01-10", 10)
    assert awards(history, "2012-2013") == [("bronze", "2010-2011", 20), ("silver", "2012-2013", 30)]


def test_the_cut_off_is_31_december_of_the_final_year():
    history = [whole(f"{2012 + i // 2}-0{1 + 6 * (i % 2)}-01") for i in range(9)]  # 18 counts by mid-2016
    on_cut_off = [*history, whole("2021-12-31")]
    day_after = [*history, whole("2022-01-01")]
    assert awards(on_cut_off, "2020-2021") == [("bronze", "2020-2021", 20)]
    assert awards(day_after, "2020-2021") == []
    assert awards(day_after, "2022-2023") == [("bronze", "2022-2023", 20)]


def test_gold_restarts_the_count_from_the_day_after_the_40th_donation():
    # 41 two-weekly platelet donations in 2020-2021: gold at the 40th, the 41st counts toward the next.
    history = every_two_weeks("2020-01-06", 41)
    standing = h.standing(history, RULES, cycle("2020-2021"))
    assert [(a.award, a.count) for a in standing.awards] == [("gold", 40)]
    assert standing.awards[0].counted[-1] == history[39]
    assert (standing.count_toward_next, standing.next_award, standing.donations_needed) == (1, "gold", 39)


def test_after_a_gold_bronze_and_silver_are_not_given_again():
    history = every_two_weeks("2020-01-06", 40) + every_two_weeks("2022-01-05", 35)
    assert awards(history, "2022-2023") == [("gold", "2020-2021", 40)]


def test_three_golds_bring_the_lifetime_honour_once():
    history = []
    for start in ("2014-01-06", "2016-01-05", "2018-01-03", "2020-01-06"):
        history += every_two_weeks(start, 40)
    got = awards(history, "2020-2021")
    assert got == [
        ("gold", "2014-2015", 40),
        ("gold", "2016-2017", 40),
        ("gold", "2018-2019", 40),
        ("lifetime", "2018-2019", 3),
        ("gold", "2020-2021", 40),
    ]


def test_a_jump_straight_past_bronze_gives_the_higher_award_only():
    history = every_two_weeks("2020-01-06", 33)
    assert awards(history, "2020-2021") == [("silver", "2020-2021", 33)]


def test_next_award_for_a_new_donor_is_bronze():
    s = h.standing([whole("2024-03-01")], RULES, cycle("2024-2025"))
    assert (s.awards, s.count_toward_next, s.next_award, s.donations_needed) == ((), 2, "bronze", 18)


def test_no_history_needs_twenty_for_bronze():
    s = h.standing([], RULES, cycle("2024-2025"))
    assert (s.count_toward_next, s.next_award, s.donations_needed) == (0, "bronze", 20)


def test_a_cycle_must_be_one_of_the_rules_cycles():
    assert cycle("2022-2023").cutoff == date(2023, 12, 31)
    for bad in ("2023-2024", "2022-2024", "2022", "22-23"):
        with pytest.raises(ValueError, match="cycle"):
            cycle(bad)
    assert h.cycle_of_day(date(2024, 7, 1), R).label == "2024-2025"


def test_rules_files_are_validated_when_loaded():
    document = {"rules": [{**_rules_table(), "silver": 15}]}
    with pytest.raises(h.RulesInvalid, match="rise"):
        h.parse_award_rules(document)
    with pytest.raises(h.RulesInvalid, match="gold"):
        h.parse_award_rules({"rules": [{**_rules_table(), "gold": "40"}]})
    with pytest.raises(h.RulesInvalid):
        h.parse_award_rules({})


def test_a_revision_judges_the_cycles_whose_cut_off_falls_after_it():
    older = h.parse_award_rules(
        {"rules": [{**_rules_table(), "effective_from": date(2010, 1, 1), "bronze": 10}]}
    )
    revisions = (older[0], R)
    history = [whole(f"{y}-03-01") for y in range(2014, 2019)]  # 10 counts by 2018
    got = h.standing(history, revisions, cycle("2018-2019")).awards
    assert [(a.award, a.cycle) for a in got] == [("bronze", "2018-2019")]
    assert h.standing(history, (R,), cycle("2018-2019")).awards == ()


def _rules_table() -> dict[str, object]:
    return {
        "source": "test",
        "effective_from": date(2022, 1, 1),
        "cycle_anchor_year": 2020,
        "cycle_years": 2,
        "cutoff_month": 12,
        "cutoff_day": 31,
        "bronze": 20,
        "silver": 30,
        "gold": 40,
        "golds_for_lifetime": 3,
        "whole_blood_ml_per_count": 200,
        "platelet_units_per_count": 1,
        "platelets_legacy_before": date(2010, 1, 1),
        "platelets_legacy_factor": 4,
        "plasma_ml_per_count": 200,
    }


# --- properties ------------------------------------------------------------------------------------------

donations = st.lists(
    st.builds(
        lambda day, kind, ml, units: h.Donation(
            date(2000, 1, 1) + timedelta(days=day),
            kind,
            ml if kind != "platelets" else None,
            units if kind == "platelets" else None,
        ),
        st.integers(0, 9000),
        st.sampled_from(["whole_blood", "platelets", "plasma"]),
        st.sampled_from([200, 300, 400]),
        st.integers(1, 2),
    ),
    max_size=150,
)
UP_TO = h.cycle_of_year(2024, R)


@settings(max_examples=150, deadline=None)
@given(donations, st.randoms())
def test_the_order_of_the_history_does_not_matter(history: list[h.Donation], rnd: random.Random):
    shuffled = list(history)
    rnd.shuffle(shuffled)
    first, second = h.standing(history, RULES, UP_TO), h.standing(shuffled, RULES, UP_TO)
    assert [(a.award, a.cycle, a.count) for a in first.awards] == [
        (a.award, a.cycle, a.count) for a in second.awards
    ]
    assert first.count_toward_next == second.count_toward_next


@settings(max_examples=150, deadline=None)
@given(donations)
def test_awards_follow_the_rules_shape(history: list[h.Donation]):
    s = h.standing(history, RULES, UP_TO)
    dedication = [a for a in s.awards if a.award != "lifetime"]
    assert len({a.cycle for a in dedication}) == len(dedication), "one 奉献奖 per cycle"
    assert [a.award for a in s.awards].count("lifetime") <= 1
    golds = [a for a in s.awards if a.award == "gold"]
    assert ("lifetime" in [a.award for a in s.awards]) == (len(golds) >= R.golds_for_lifetime)
    ranks = [h.LEVELS.index(a.award) for a in dedication]
    assert ranks == sorted(ranks), "never a lower award after a higher one"
    for gold in golds:
        # The gold's donations reach 40 exactly at their last one.
        assert sum(h.counts(d, R) for d in gold.counted) >= R.gold
        assert sum(h.counts(d, R) for d in gold.counted[:-1]) < R.gold
    counted_days = [d.donated_on for g in golds for d in g.counted]
    assert counted_days == sorted(counted_days), "no donation counts toward two golds"


@settings(max_examples=150, deadline=None)
@given(donations)
def test_donations_needed_is_what_the_next_award_still_lacks(history: list[h.Donation]):
    s = h.standing(history, RULES, UP_TO)
    target = "gold" if s.next_award == "lifetime" else s.next_award
    assert target is not None
    assert s.donations_needed == max(R.threshold(target) - s.count_toward_next, 0)


@settings(max_examples=100, deadline=None)
@given(donations)
def test_without_a_gold_the_count_toward_next_is_the_whole_count(history: list[h.Donation]):
    s = h.standing(history, RULES, UP_TO)
    if not any(a.award == "gold" for a in s.awards):
        assert s.count_toward_next == sum(h.counts(d, R) for d in history)


# --- volunteer hours and perks ------------------------------------------------------------------------


def test_weinan_converts_by_its_own_table_and_elsewhere_by_the_default():
    tables = h.hours_tables()
    weinan = [whole("2021-01-01", ml, "610502") for ml in (400, 300, 200)] + [
        platelets("2021-03-01", 2, "610502")
    ]
    assert h.volunteer_hours(weinan, tables) == 6 + 4 + 2 + 4
    assert h.volunteer_hours(weinan[:3], tables, rare=True) == 8 + 5 + 3
    elsewhere = [whole("2021-01-01", 400, "420102"), platelets("2021-03-01", 1, "420102")]
    assert h.volunteer_hours(elsewhere, tables) == 4 + 2
    assert tables.for_region("420102") is tables.default


def test_wuhan_tiers_unlock_by_volume_or_count():
    wuhan = [t for t in h.perk_tiers() if t.region == "4201"]
    totals = h.Totals(whole_blood_ml=3200, count=12, hours=0, highest_award=None)
    assert [t.name for t in wuhan if h.reached(t, totals)] == ["一级", "二级"]
    by_count = h.Totals(whole_blood_ml=0, count=40, hours=0, highest_award=None)
    assert all(h.reached(t, by_count) for t in wuhan)


def test_qingdao_needs_an_award_and_jiangsu_volume_or_hours():
    qingdao = next(t for t in h.perk_tiers() if t.region == "3702")
    jiangsu = next(t for t in h.perk_tiers() if t.region == "32")
    assert not h.reached(qingdao, h.Totals(9000, 50, 0, None))
    assert h.reached(qingdao, h.Totals(0, 0, 0, "bronze"))
    assert h.reached(jiangsu, h.Totals(4000, 0, 0, None))
    assert h.reached(jiangsu, h.Totals(0, 0, 1500, None))
    assert not h.reached(jiangsu, h.Totals(3800, 99, 1499, "gold"))


def test_a_perk_tier_without_a_condition_is_refused():
    document = {
        "regions": [
            {
                "region": "11",
                "name": "北京市",
                "source": "x",
                "effective_from": date(2020, 1, 1),
                "tiers": [{"name": "t", "unlocks": ["x"]}],
            }
        ]
    }
    with pytest.raises(h.RulesInvalid, match="no condition"):
        h.parse_perks(document)
