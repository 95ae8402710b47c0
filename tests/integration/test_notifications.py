"""Notifications: one message per event, opt-in channels, quiet hours, the daily cap, opt-out and retries,
with the clock moved rather than waited for."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bloodcert.channels.wechat import WeChatChannel, WeChatMessageConfig
from bloodcert.domain.clock import BEIJING
from bloodcert.domain.notifications import Channel, Event, Policy, Preferences, Topic, choices_from_json
from bloodcert.errors import Conflict, ValidationFailed
from bloodcert.services import notifications as notify
from bloodcert.storage.tables import notification_deliveries
from bloodcert.storage.uow import Database
from tests.notify_helpers import create_person, sms_channels, sms_simulator
from tests.simulators.wechat import WeChatUser
from tests.simulators.wechat_messages import WeChatMessageSimulator

POLICY = Policy(daily_cap=3, max_attempts=3)
PHONE = "13800138000"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Beijing time, late November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


def record_event(n: int = 1) -> Event:
    return Event(
        Topic.RECORD,
        "record.arrived",
        f"record:C{n}",
        {"station": "杭州市中心血站", "day": "2026-11-30"},
        "/me",
    )


def _with_sms(db: Database, person: int, *topics: Topic, phone: str = PHONE) -> None:
    choices = choices_from_json({t.value: ["inbox", "sms"] for t in topics})
    with db.transaction() as uow:
        notify.save_preferences(uow, person, Preferences(choices, phone), at(1, 12))


def _raise(db: Database, person: int, events: list[Event], now: datetime) -> list[int]:
    with db.transaction() as uow:
        return notify.raise_events(uow, [(person, e) for e in events], now)


def _statuses(db: Database) -> list[str]:
    with db.reading() as uow:
        c = notification_deliveries.c
        return [r[0] for r in uow.conn.execute(select(c.status).order_by(c.id))]


def test_the_same_event_raised_twice_is_one_message_and_one_delivery(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD)
    first = _raise(db, person, [record_event(), record_event()], at(30, 10))
    again = _raise(db, person, [record_event()], at(30, 11))
    with db.reading() as uow:
        inbox = notify.inbox(uow, [person], "en")
    assert len(first) == 1 and again == []
    assert [e.title for e in inbox] == ["A new donation on your record"]
    assert _statuses(db) == ["queued"]


def test_without_a_choice_a_record_reaches_only_the_inbox_and_a_call_up_nothing(db: Database) -> None:
    person = create_person(db, 1)
    callup = Event(Topic.CALLUP, "callup.low", "callup:1", {"type": "O"})
    added = _raise(db, person, [record_event(), callup], at(30, 10))
    with db.reading() as uow:
        assert [e.topic for e in notify.inbox(uow, [person], "zh")] == ["record"]
    assert len(added) == 1 and _statuses(db) == []


def test_a_message_raised_at_night_waits_for_eight_and_then_goes(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD)
    sim = sms_simulator()
    _raise(db, person, [record_event()], at(29, 22, 30))
    night = notify.deliver_due(db, sms_channels(sim), POLICY, at(29, 22, 31))
    early = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 7, 59))
    morning = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 8, 0))
    assert (night.postponed, early.sent, morning.sent) == (1, 0, 1)
    assert len(sim.sent) == 1 and _statuses(db) == ["sent"]


def test_quiet_hours_follow_the_settings(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD)
    sim = sms_simulator()
    _raise(db, person, [record_event()], at(29, 22, 30))
    late_owl = Policy(quiet_start=at(1, 23).time(), quiet_end=at(1, 6).time())
    assert notify.deliver_due(db, sms_channels(sim), late_owl, at(29, 22, 31)).sent == 1


def test_an_account_security_message_goes_at_once_even_at_night(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD)
    sim = sms_simulator()
    with db.transaction() as uow:
        notify.save_preferences(uow, person, Preferences(phone="13900139000"), at(29, 23))
    run = notify.deliver_due(db, sms_channels(sim), POLICY, at(29, 23, 1))
    assert run.sent == 1
    # The old number hears of the change, so a stranger who changed it is noticed.
    assert sim.sent[0]["phone"] == PHONE and "短信号码" in sim.sent[0]["params"]["title"]


def test_the_daily_cap_holds_the_rest_until_the_next_morning(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD)
    sim = sms_simulator()
    _raise(db, person, [record_event(n) for n in range(5)], at(30, 10))
    today = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 10, 1))
    later = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 20, 59))
    tomorrow = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 8) + timedelta(days=1))
    assert (today.sent, today.postponed, later.sent, tomorrow.sent) == (3, 2, 0, 2)
    assert len(sim.sent) == 5


def test_security_messages_do_not_count_against_the_cap(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD, Topic.SECURITY)
    sim = sms_simulator()
    alert = Event(Topic.SECURITY, "security.phone_changed", "sec:1", {"phone": "139****9000"})
    _raise(db, person, [alert, *(record_event(n) for n in range(3))], at(30, 10))
    assert notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 10, 1)).sent == 4


def test_opting_out_at_night_drops_what_was_waiting_for_the_morning(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD)
    sim = sms_simulator()
    _raise(db, person, [record_event()], at(29, 22))
    notify.deliver_due(db, sms_channels(sim), POLICY, at(29, 22, 1))
    with db.transaction() as uow:
        notify.save_preferences(uow, person, Preferences(phone=PHONE), at(29, 23))
    run = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 8))
    assert run.sent == 0 and sim.sent == [] and _statuses(db) == ["dropped"]


def test_a_busy_provider_is_retried_with_growing_delays_until_it_takes_the_message(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD)
    sim = sms_simulator()
    sim.failures.extend(["busy", "down"])
    _raise(db, person, [record_event()], at(30, 10))
    first = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 10))
    too_soon = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 10, 0) + timedelta(seconds=30))
    second = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 10, 1))
    third = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 10, 5))
    assert (first.retried, too_soon.sent + too_soon.retried, second.retried, third.sent) == (1, 0, 1, 1)
    assert _statuses(db) == ["sent"]


def test_a_message_fails_for_good_after_the_last_attempt_or_a_final_refusal(db: Database) -> None:
    person = create_person(db, 1)
    other = create_person(db, 2)
    _with_sms(db, person, Topic.RECORD)
    _with_sms(db, other, Topic.RECORD, phone="12345")
    sim = sms_simulator()
    _raise(db, other, [record_event()], at(30, 9))
    assert notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 9)).failed == 1
    sim.failures.extend(["busy"] * 3)
    _raise(db, person, [record_event()], at(30, 10))
    for minute in (0, 2, 10, 30):
        notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 10, minute))
    assert _statuses(db) == ["failed", "failed"] and sim.sent == [] and not sim.failures


def test_a_channel_without_an_address_is_dropped_not_retried(db: Database) -> None:
    person = create_person(db, 1)
    with db.transaction() as uow:
        choices = choices_from_json({"record": ["inbox", "wechat"]})
        notify.save_preferences(uow, person, Preferences(choices), at(1, 12))
    _raise(db, person, [record_event()], at(30, 10))
    run = notify.deliver_due(db, sms_channels(sms_simulator()), POLICY, at(30, 10))
    assert run.dropped == 1 and _statuses(db) == ["dropped"]


@pytest.mark.parametrize("which", [None, "one"])
def test_reading_marks_messages_read(db: Database, which: str | None) -> None:
    person = create_person(db, 1)
    ids = _raise(db, person, [record_event(1), record_event(2)], at(30, 10))
    with db.transaction() as uow:
        notify.mark_read(uow, [person], ids[0] if which else None, at(30, 11))
    with db.reading() as uow:
        assert notify.unread_count(uow, [person]) == (1 if which else 0)


def test_another_donor_cannot_mark_my_messages_read(db: Database) -> None:
    person, stranger = create_person(db, 1), create_person(db, 2)
    ids = _raise(db, person, [record_event()], at(30, 10))
    with db.transaction() as uow:
        assert notify.mark_read(uow, [stranger], ids[0], at(30, 11)) == 0
    with db.reading() as uow:
        assert notify.unread_count(uow, [person]) == 1
        assert Channel.INBOX in Preferences().channels(Topic.SECURITY)


def test_a_delivery_whose_sender_died_is_shown_failed_after_an_hour_not_sent_twice(db: Database) -> None:
    person = create_person(db, 1)
    _with_sms(db, person, Topic.RECORD)
    _raise(db, person, [record_event()], at(30, 10))
    with db.transaction() as uow:
        jobs, _, _ = notify.take_due(uow, POLICY, at(30, 10), channels=[Channel.SMS])  # and then nothing
    sim = sms_simulator()
    soon = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 10, 30))
    later = notify.deliver_due(db, sms_channels(sim), POLICY, at(30, 11, 1))
    assert len(jobs) == 1 and soon.sent == later.sent == 0 and sim.sent == []
    assert _statuses(db) == ["failed"]


def test_a_wechat_message_reaches_the_openid_the_mini_program_registered(db: Database) -> None:
    sim = WeChatMessageSimulator({"wxmini0000000001": "minisecret"}, template_id="TPL-1")
    sim.add_user(WeChatUser("fang"))
    channel = WeChatChannel(
        WeChatMessageConfig("wxmini0000000001", "minisecret", "TPL-1"), httpx.Client(transport=sim.transport)
    )
    person = create_person(db, 1)
    with db.transaction() as uow:
        notify.save_preferences(
            uow, person, Preferences(choices_from_json({"record": ["wechat"]})), at(1, 12)
        )
    notify.link_wechat(db, channel, person, sim.login("wxmini0000000001", "fang"), at(30, 9))
    openid = sim.openid("wxmini0000000001", "fang")
    sim.subscribe(openid)
    _raise(db, person, [record_event()], at(30, 10))
    run = notify.deliver_due(db, {Channel.WECHAT: channel}, POLICY, at(30, 10))
    assert run.sent == 1 and sim.sent[0]["touser"] == openid and _statuses(db) == ["sent"]
    with pytest.raises(ValidationFailed):
        notify.link_wechat(db, channel, person, "made-up", at(30, 11))
    with pytest.raises(Conflict):
        notify.link_wechat(db, None, person, "any", at(30, 11))
