from datetime import date

import pytest

from bloodcert.domain.donation_rules import (
    ALLOWED_PLATELET_UNITS,
    STANDARD_WHOLE_BLOOD_ML,
    Interval,
    Kind,
    age_on,
    age_out_of_range,
    commendation_count,
    dedication_award,
    earliest_next,
    interval_too_short,
    min_interval,
    next_eligible,
    platelet_donations_in_year_exceeded,
)

WHOLE, PLATELETS, PLASMA = Kind.WHOLE_BLOOD, Kind.PLATELETS, Kind.PLASMA


def test_standard_volumes_and_platelet_units_follow_gb_18467() -> None:
    assert sorted(STANDARD_WHOLE_BLOOD_ML) == [200, 300, 400]
    assert sorted(ALLOWED_PLATELET_UNITS) == [1, 2]


@pytest.mark.parametrize(
    ("prev", "nxt", "interval"),
    [
        (WHOLE, WHOLE, Interval(months=6)),
        (PLATELETS, PLATELETS, Interval(days=14)),
        (PLATELETS, WHOLE, Interval(days=28)),
        (WHOLE, PLATELETS, Interval(months=3)),
    ],
)
def test_the_minimum_interval_table_follows_gb_18467(prev: Kind, nxt: Kind, interval: Interval) -> None:
    assert min_interval(prev, nxt) == interval


@pytest.mark.parametrize(
    ("prev", "nxt"), [(PLASMA, PLASMA), (PLASMA, WHOLE), (WHOLE, PLASMA), (PLATELETS, PLASMA)]
)
def test_no_interval_applies_where_plasma_is_involved(prev: Kind, nxt: Kind) -> None:
    assert min_interval(prev, nxt) is None
    assert earliest_next(prev, date(2024, 1, 1), nxt) is None
    assert not interval_too_short(prev, date(2024, 1, 1), nxt, date(2024, 1, 2))


def test_adding_months_clamps_to_the_end_of_a_shorter_month() -> None:
    assert Interval(months=6).add_to(date(2024, 8, 31)) == date(2025, 2, 28)
    assert Interval(months=6).add_to(date(2023, 8, 31)) == date(2024, 2, 29)
    assert Interval(months=3).add_to(date(2024, 11, 30)) == date(2025, 2, 28)


def test_adding_months_crosses_the_year_end() -> None:
    assert Interval(months=6).add_to(date(2024, 12, 15)) == date(2025, 6, 15)
    assert Interval(months=3).add_to(date(2024, 10, 1)) == date(2025, 1, 1)


def test_adding_days_counts_calendar_days() -> None:
    assert Interval(days=14).add_to(date(2024, 2, 20)) == date(2024, 3, 5)
    assert Interval(days=28).add_to(date(2024, 12, 10)) == date(2025, 1, 7)


def test_earliest_next_whole_blood_is_six_months_later() -> None:
    assert earliest_next(WHOLE, date(2024, 1, 15), WHOLE) == date(2024, 7, 15)


def test_whole_blood_one_day_before_six_months_is_too_short() -> None:
    assert interval_too_short(WHOLE, date(2024, 1, 15), WHOLE, date(2024, 7, 14))


def test_whole_blood_exactly_six_months_later_is_allowed() -> None:
    assert not interval_too_short(WHOLE, date(2024, 1, 15), WHOLE, date(2024, 7, 15))


def test_platelets_two_weeks_apart_are_allowed_but_thirteen_days_are_not() -> None:
    assert not interval_too_short(PLATELETS, date(2024, 3, 1), PLATELETS, date(2024, 3, 15))
    assert interval_too_short(PLATELETS, date(2024, 3, 1), PLATELETS, date(2024, 3, 14))


def test_whole_blood_four_weeks_after_platelets_is_allowed() -> None:
    assert not interval_too_short(PLATELETS, date(2024, 3, 1), WHOLE, date(2024, 3, 29))
    assert interval_too_short(PLATELETS, date(2024, 3, 1), WHOLE, date(2024, 3, 28))


def test_platelets_two_months_after_whole_blood_is_too_short() -> None:
    assert interval_too_short(WHOLE, date(2024, 3, 1), PLATELETS, date(2024, 5, 1))
    assert not interval_too_short(WHOLE, date(2024, 3, 1), PLATELETS, date(2024, 6, 1))


def test_a_donor_with_no_history_is_eligible_today_for_everything() -> None:
    today = date(2024, 5, 1)
    assert next_eligible([], today) == {WHOLE: today, PLATELETS: today, PLASMA: today}


def test_next_eligible_takes_the_latest_constraint_over_the_history() -> None:
    history = [(WHOLE, date(2024, 1, 10)), (PLATELETS, date(2024, 4, 20))]
    eligible = next_eligible(history, date(2024, 5, 1))
    assert eligible[WHOLE] == date(2024, 7, 10)
    assert eligible[PLATELETS] == date(2024, 5, 4)
    assert eligible[PLASMA] == date(2024, 5, 1)


def test_next_eligible_is_today_once_every_interval_has_passed() -> None:
    today = date(2025, 1, 1)
    assert next_eligible([(WHOLE, date(2024, 1, 10))], today) == {
        WHOLE: today,
        PLATELETS: today,
        PLASMA: today,
    }


def test_next_eligible_accepts_any_iterable() -> None:
    history = iter([(PLATELETS, date(2024, 4, 20))])
    assert next_eligible(history, date(2024, 4, 21))[WHOLE] == date(2024, 5, 18)


def test_more_than_24_platelet_donations_in_a_year_is_flagged() -> None:
    dates = [date(2024, 1, 1 + i) for i in range(25)]
    assert platelet_donations_in_year_exceeded(dates, 2024)
    assert not platelet_donations_in_year_exceeded(dates[:24], 2024)


def test_platelet_donations_in_other_years_do_not_count() -> None:
    dates = [date(2023, 12, 31)] + [date(2024, 1, 1 + i) for i in range(24)]
    assert not platelet_donations_in_year_exceeded(dates, 2024)
    assert not platelet_donations_in_year_exceeded(dates, 2023)


def test_age_counts_whole_years_up_to_the_birthday() -> None:
    birth = date(1990, 6, 15)
    assert age_on(birth, date(2008, 6, 14)) == 17
    assert age_on(birth, date(2008, 6, 15)) == 18
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18


def test_donors_aged_18_to_60_inclusive_are_in_range() -> None:
    birth = date(1960, 3, 1)
    assert age_out_of_range(birth, date(1978, 2, 28))
    assert not age_out_of_range(birth, date(1978, 3, 1))
    assert not age_out_of_range(birth, date(2021, 2, 28))
    assert age_out_of_range(birth, date(2021, 3, 1))


@pytest.mark.parametrize(
    ("volume_ml", "expected"), [(200, 1), (300, 1), (400, 2), (150, 1), (0, 0), (None, 0), (1000, 5)]
)
def test_whole_blood_counts_once_per_200_ml(volume_ml: int | None, expected: int) -> None:
    assert commendation_count(WHOLE, volume_ml, None, date(2024, 1, 1)) == expected


def test_platelets_count_once_per_unit_since_2010() -> None:
    assert commendation_count(PLATELETS, None, 1, date(2010, 1, 1)) == 1
    assert commendation_count(PLATELETS, None, 2, date(2024, 1, 1)) == 2


def test_platelets_counted_four_times_per_unit_before_2010() -> None:
    assert commendation_count(PLATELETS, None, 1, date(2009, 12, 31)) == 4
    assert commendation_count(PLATELETS, None, 2, date(2005, 6, 1)) == 8


def test_a_platelet_donation_without_units_counts_as_one_unit() -> None:
    assert commendation_count(PLATELETS, None, None, date(2024, 1, 1)) == 1


def test_plasma_does_not_count_toward_the_dedication_award() -> None:
    assert commendation_count(PLASMA, 600, None, date(2024, 1, 1)) == 0


@pytest.mark.parametrize(
    ("count", "award"),
    [
        (0, None),
        (19, None),
        (20, "bronze"),
        (29, "bronze"),
        (30, "silver"),
        (39, "silver"),
        (40, "gold"),
        (99, "gold"),
    ],
)
def test_dedication_award_grades_follow_the_count(count: int, award: str | None) -> None:
    assert dedication_award(count) == award
