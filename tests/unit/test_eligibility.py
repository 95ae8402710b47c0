"""The age limits of GB 18467-2011 at booking: 18 to 55, and up to 60 for a repeat donor."""

from __future__ import annotations

from datetime import date

from bloodcert.domain.eligibility import age_refusal, birthday

DAY = date(2026, 12, 1)


def test_a_donor_of_17_is_refused_until_the_18th_birthday() -> None:
    refusal = age_refusal(date(2009, 3, 15), DAY, repeat_donor=False)
    assert refusal is not None
    assert (refusal.code, refusal.age, refusal.eligible_from) == ("too_young", 17, date(2027, 3, 15))


def test_a_donor_is_welcome_on_the_18th_birthday() -> None:
    assert age_refusal(date(2008, 12, 1), DAY, repeat_donor=False) is None


def test_a_first_time_donor_of_56_is_refused_for_good() -> None:
    refusal = age_refusal(date(1970, 11, 30), DAY, repeat_donor=False)
    assert refusal is not None
    assert (refusal.code, refusal.age, refusal.limit, refusal.eligible_from) == ("too_old", 56, 55, None)


def test_a_repeat_donor_may_go_on_to_60_but_not_61() -> None:
    assert age_refusal(date(1966, 12, 2), DAY, repeat_donor=True) is None  # 59
    assert age_refusal(date(1966, 12, 1), DAY, repeat_donor=True) is None  # 60 today
    refusal = age_refusal(date(1965, 12, 1), DAY, repeat_donor=True)
    assert refusal is not None and (refusal.code, refusal.age, refusal.limit) == ("too_old", 61, 60)


def test_a_repeat_donor_past_55_with_an_adverse_reaction_is_refused() -> None:
    refusal = age_refusal(date(1968, 6, 1), DAY, repeat_donor=True, adverse_history=True)
    assert refusal is not None and (refusal.code, refusal.limit) == ("too_old", 55)


def test_an_unknown_birth_date_is_left_to_the_staff() -> None:
    assert age_refusal(None, DAY, repeat_donor=False) is None


def test_a_leap_day_birthday_falls_on_1_march() -> None:
    assert birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
