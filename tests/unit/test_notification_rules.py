"""The rules of when a message may leave: quiet hours across midnight, the daily cap, retries, choices."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.notifications import (
    Channel,
    Policy,
    Preferences,
    Topic,
    choices_from_json,
    in_quiet_hours,
    quiet_ends,
    release_time,
    retry_delay,
    words_of,
)
from bloodcert.domain.supply import Level, area_of, calls_up

NIGHT = Policy()


def bj(hour: int, minute: int = 0, day: int = 30) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


def test_quiet_hours_span_midnight_in_beijing_time() -> None:
    assert [in_quiet_hours(bj(h), NIGHT) for h in (7, 8, 20, 21, 23, 0)] == [
        True,
        False,
        False,
        True,
        True,
        True,
    ]
    assert quiet_ends(bj(23), NIGHT) == bj(8) + timedelta(days=1)
    assert quiet_ends(bj(3), NIGHT) == bj(8) and quiet_ends(bj(12), NIGHT) == bj(12)


def test_quiet_hours_within_one_day_and_none_at_all() -> None:
    siesta = Policy(quiet_start=time(12), quiet_end=time(14))
    assert [in_quiet_hours(bj(h), siesta) for h in (11, 12, 13, 14)] == [False, True, True, False]
    assert not in_quiet_hours(bj(3), Policy(quiet_start=time(0), quiet_end=time(0)))


def test_the_cap_holds_messages_for_the_next_morning_but_never_a_security_alert() -> None:
    assert release_time(bj(10), Topic.RECORD, NIGHT, sent_today=3) == bj(8) + timedelta(days=1)
    assert release_time(bj(10), Topic.RECORD, NIGHT, sent_today=2) == bj(10)
    assert release_time(bj(23), Topic.SECURITY, NIGHT, sent_today=9) == bj(23)


def test_retries_wait_longer_each_time_up_to_six_hours() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 4, 16)]
    assert retry_delay(12) == timedelta(hours=6)


def test_call_ups_are_opt_in_and_security_always_reaches_the_inbox() -> None:
    assert not Preferences().wants(Topic.CALLUP)
    nothing = Preferences(choices_from_json({t.value: [] for t in Topic}))
    assert nothing.channels(Topic.SECURITY) == {Channel.INBOX} and not nothing.wants(Topic.RECORD)
    assert choices_from_json({"record": ["pigeon", "sms"], "nonsense": ["inbox"]})[Topic.RECORD] == {
        Channel.SMS
    }


def test_words_fill_in_the_language_s_own_values() -> None:
    params = {"day_zh": "2026年12月1日", "day_en": "2026-12-01", "kind_zh": "全血", "kind_en": "whole blood"}
    assert words_of("eligible.again", params, "en")[1].startswith("From 2026-12-01 you may give whole blood")
    assert words_of("eligible.again", params, "zh")[1].startswith("从2026年12月1日起，您可以再次献全血")


def test_a_shortage_calls_up_when_it_starts_or_worsens_within_the_station_s_area() -> None:
    assert calls_up(None, Level.LOW) and calls_up(Level.LOW, Level.CRITICAL)
    assert not calls_up(Level.LOW, Level.LOW) and not calls_up(Level.CRITICAL, Level.LOW)
    assert (area_of("330100"), area_of("330000"), area_of("330106")) == ("3301", "33", "3301")
