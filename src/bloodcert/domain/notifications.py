"""What donors are told and when: topics, channels, preferences, quiet hours, the daily cap and retries.

Donors fear too many alerts and the loss of their privacy more than they want reminders, so every rule
here leans towards silence. Every channel beyond the site's own inbox is opt-in, per topic. Messages to a
phone or an app wait outside quiet hours (Beijing time) and beyond a daily cap, except those about the
donor's own account security, which cannot wait. The same event raised twice is one message: each event
names a key (`dedup_key`) that is unique per person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from bloodcert.domain.clock import BEIJING


class Topic(StrEnum):
    """What a message is about; donors choose channels per topic."""

    RECORD = "record"  # a record and its certificate arrived
    ELIGIBLE = "eligible"  # eligible again for a kind of donation
    BOOKING = "booking"  # a booking confirmed, changed, cancelled or due tomorrow
    ANSWER = "answer"  # a request or claim answered
    CALLUP = "callup"  # the donor's blood type is short nearby
    SURVEY = "survey"  # how was your donation?
    SECURITY = "security"  # the donor's own account: never waits, always in the inbox


class Channel(StrEnum):
    """Where a message goes: the site's inbox, or a provider's channel."""

    INBOX = "inbox"
    SMS = "sms"
    WECHAT = "wechat"
    ALIPAY = "alipay"


EXTERNAL = (Channel.SMS, Channel.WECHAT, Channel.ALIPAY)

# Without a choice of their own, donors get the inbox for what concerns their own record and bookings;
# call-ups reach only those who asked for them.
DEFAULT_CHOICES: dict[Topic, frozenset[Channel]] = {
    Topic.RECORD: frozenset({Channel.INBOX}),
    Topic.ELIGIBLE: frozenset({Channel.INBOX}),
    Topic.BOOKING: frozenset({Channel.INBOX}),
    Topic.ANSWER: frozenset({Channel.INBOX}),
    Topic.CALLUP: frozenset(),
    Topic.SURVEY: frozenset({Channel.INBOX}),
    Topic.SECURITY: frozenset({Channel.INBOX}),
}


@dataclass(frozen=True, slots=True)
class Preferences:
    """A donor's choice of channels per topic, the SMS number, and where they live (for call-ups)."""

    choices: Mapping[Topic, frozenset[Channel]] = field(default_factory=lambda: dict(DEFAULT_CHOICES))
    phone: str | None = None
    home_region: str | None = None

    def channels(self, topic: Topic) -> frozenset[Channel]:
        """The channels a topic goes to; security always reaches the inbox."""
        chosen = self.choices.get(topic, DEFAULT_CHOICES[topic])
        return chosen | {Channel.INBOX} if topic is Topic.SECURITY else chosen

    def wants(self, topic: Topic) -> bool:
        """Whether the donor wants this topic at all (call-ups only when opted in)."""
        return bool(self.channels(topic))

    def as_json(self) -> dict[str, list[str]]:
        """The choices as stored: {topic: [channel, …]}."""
        return {t.value: sorted(c.value for c in self.choices.get(t, DEFAULT_CHOICES[t])) for t in Topic}


def choices_from_json(stored: Mapping[str, Any] | None) -> dict[Topic, frozenset[Channel]]:
    """Stored choices back as enums; unknown names (a channel retired) are dropped, missing topics default."""
    choices = dict(DEFAULT_CHOICES)
    for name, channels in (stored or {}).items():
        if name in Topic.__members__.values() and isinstance(channels, list):
            known = {c for c in channels if c in Channel.__members__.values()}
            choices[Topic(name)] = frozenset(Channel(c) for c in known)
    return choices


@dataclass(frozen=True, slots=True)
class Event:
    """Something a donor is told about: `name` picks the words, `params` fill them in, `link` opens it."""

    topic: Topic
    name: str
    dedup_key: str
    params: Mapping[str, str] = field(default_factory=dict)
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """When messages may leave: quiet hours (Beijing time), a daily cap per donor, and retries."""

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    daily_cap: int = 3
    max_attempts: int = 5
    callups_per_month: int = 2


def in_quiet_hours(now: datetime, policy: Policy) -> bool:
    """Whether `now` falls in the quiet hours (which may span midnight)."""
    local = now.astimezone(BEIJING).time()
    start, end = policy.quiet_start, policy.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_ends(now: datetime, policy: Policy) -> datetime:
    """The first moment at or after `now` outside quiet hours."""
    if not in_quiet_hours(now, policy):
        return now
    local = now.astimezone(BEIJING)
    end = datetime.combine(local.date(), policy.quiet_end, BEIJING)
    return end if end > local else end + timedelta(days=1)


def beijing_day(now: datetime) -> date:
    """The Beijing calendar day of an instant (the cap counts per day)."""
    return now.astimezone(BEIJING).date()


def next_day_start(now: datetime, policy: Policy) -> datetime:
    """When tomorrow's messages may start: the end of the quiet hours on the next Beijing day."""
    tomorrow = beijing_day(now) + timedelta(days=1)
    return quiet_ends(datetime.combine(tomorrow, time(0), BEIJING), policy)


def release_time(now: datetime, topic: Topic, policy: Policy, sent_today: int) -> datetime:
    """When a message of `topic` may go out, given how many went to the donor today; `now` if at once."""
    if topic is Topic.SECURITY:
        return now
    if sent_today >= policy.daily_cap:
        return next_day_start(now, policy)
    return quiet_ends(now, policy)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: 1, 4, 16 … minutes, at most 6 hours."""
    return min(timedelta(minutes=4 ** max(attempts - 1, 0)), timedelta(hours=6))


# The words of each event: (zh title, zh body), (en title, en body); {names} come from the params.
WORDS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "record.arrived": (
        (
            "新的献血记录",
            "{station}报告了您{day}的一次献血（{kind}），电子献血证已签发。如果您不记得这次献血，请立即报告。",
        ),
        (
            "A new donation on your record",
            "{station} reported a donation of yours on {day} ({kind}); its certificate is issued. "
            "If you do not recognise it, report it now.",
        ),
    ),
    "eligible.again": (
        ("可以再次献血了", "从{day}起，您可以再次献{kind}。感谢您的坚持！"),
        ("You may donate again", "From {day} you may give {kind} again. Thank you for coming back!"),
    ),
    "booking.confirmed": (
        ("预约成功", "您已预约{day} {time}在{site}献血（{kind}）。"),
        ("Booking confirmed", "You are booked at {site} on {day} at {time} ({kind})."),
    ),
    "booking.changed": (
        ("预约已改期", "您的预约已改到{day} {time}，地点{site}。"),
        ("Booking moved", "Your booking is now at {site} on {day} at {time}."),
    ),
    "booking.cancelled": (
        ("预约已取消", "您{day} {time}在{site}的预约已取消。"),
        ("Booking cancelled", "Your booking at {site} on {day} at {time} is cancelled."),
    ),
    "booking.reminder": (
        ("明天献血提醒", "别忘了明天{time}在{site}的预约。献血前请吃清淡早餐、睡好觉。"),
        (
            "Your donation is tomorrow",
            "Your booking at {site} is tomorrow at {time}. Eat a light meal and sleep well before.",
        ),
    ),
    "callup.low": (
        ("{type}型血紧缺", "{station}的{type}型血库存{level}。如果方便，请预约献血。"),
        (
            "Type {type} is short",
            "{station}'s stock of type {type} is {level}. If you can, please book a donation.",
        ),
    ),
    "survey.invite": (
        ("这次献血体验如何？", "请花一分钟评价您{day}在{station}的献血体验。链接只能使用一次。"),
        (
            "How was your donation?",
            "Tell us in one minute how your donation at {station} on {day} went. The link works once.",
        ),
    ),
    "security.phone_changed": (
        ("短信号码已更改", "您接收通知的手机号码已改为{phone}。如果不是您本人操作，请立即联系血站。"),
        (
            "Your SMS number changed",
            "Messages now go to {phone}. If you did not change it, contact your blood station at once.",
        ),
    ),
    "answer.updated": (
        ("您的申请有了答复", "您的{what}已有答复：{status}。"),
        ("Your request was answered", "Your {what} was answered: {status}."),
    ),
}

LEVEL_WORDS = {"adequate": ("充足", "adequate"), "low": ("偏紧", "low"), "critical": ("告急", "critical")}


def words_of(name: str, params: Mapping[str, str], lang: str) -> tuple[str, str]:
    """The title and body of an event in a language ("zh" or "en")."""
    zh, en = WORDS[name]
    title, body = en if lang == "en" else zh
    values = _localised(params, lang)
    return title.format_map(_Blank(values)), body.format_map(_Blank(values))


def _localised(params: Mapping[str, str], lang: str) -> dict[str, str]:
    values = dict(params)
    suffix = "_en" if lang == "en" else "_zh"
    for key in [k for k in params if k.endswith("_zh")]:
        base = key[:-3]
        values[base] = params.get(base + suffix) or params[key]
    return values


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""
