"""Notifications: raise events into donors' inboxes, keep their preferences, and deliver through providers.

Raising an event is cheap and safe to repeat: it writes an inbox entry keyed by the event's dedup key (a
second raise finds the key taken and does nothing) and queues one delivery per provider channel the donor
chose for the topic. Nothing leaves here.

Delivery runs apart (`bloodcert notify send`, from cron or a loop) in three steps, so that no provider
call ever holds a database transaction open: take the due deliveries (judging each against the donor's
preferences as they are now, the quiet hours and the daily cap, and postponing those that must wait),
send them, then record each outcome. A provider's temporary failure is retried with a growing delay up to
`Policy.max_attempts`; a permanent one (an unknown number, a refused subscription) fails at once. A taken
delivery counts against the cap from the moment it is taken, so two senders never breach it together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bloodcert.channels.base import ChannelError, MessageChannel, OutgoingMessage
from bloodcert.channels.wechat import WeChatChannel
from bloodcert.config import NotifySettings
from bloodcert.domain.clock import BEIJING, beijing_midnight_utc, naive_utc
from bloodcert.domain.notifications import (
    EXTERNAL,
    Channel,
    Event,
    Policy,
    Preferences,
    Topic,
    beijing_day,
    choices_from_json,
    release_time,
    retry_delay,
    words_of,
)
from bloodcert.errors import Conflict, ProblemField, ValidationFailed
from bloodcert.storage.repositories.notifications import DeliveryRow, NotificationRow, PreferenceRow
from bloodcert.storage.uow import Database, UnitOfWork
from bloodcert.storage.writes import NewDelivery, NewNotification

INBOX_LIMIT = 100
PREFS_LINK = "/me/notifications"
SEND_BATCH = 200
STALE_SENDING = timedelta(hours=1)


def preferences_of(uow: UnitOfWork, person_id: int) -> Preferences:
    """The donor's preferences, or the defaults when they never chose."""
    return stored_preferences(uow.notifications.preferences([person_id]).get(person_id))


def policy_of(settings: NotifySettings) -> Policy:
    """The delivery policy the settings give."""
    return Policy(
        quiet_start=settings.quiet_start,
        quiet_end=settings.quiet_end,
        daily_cap=settings.daily_cap,
        max_attempts=settings.max_attempts,
        callups_per_month=settings.callups_per_month,
    )


def settings_of(uow: UnitOfWork, person_id: int) -> tuple[Preferences, dict[str, bool]]:
    """The donor's preferences, and which app channels have a linked account to reach."""
    linked = {c.value: bool(uow.notifications.linked_subjects(person_id, c.value)) for c in EXTERNAL[1:]}
    linked[Channel.WECHAT.value] |= bool(uow.notifications.wechat_openid(person_id))
    return preferences_of(uow, person_id), linked


def stored_preferences(row: PreferenceRow | None) -> Preferences:
    """Preferences as stored, or the defaults for a donor who never chose."""
    if row is None:
        return Preferences()
    return Preferences(choices_from_json(row.choices), row.phone, row.home_region)


def save_preferences(uow: UnitOfWork, person_id: int, wanted: Preferences, now: datetime) -> None:
    """Store the donor's choices; channels left are emptied of queued messages, a new number is told."""
    before = preferences_of(uow, person_id)
    stamp = naive_utc(now)
    uow.notifications.save_preferences(
        PreferenceRow(person_id, wanted.as_json(), wanted.phone, wanted.home_region), stamp
    )
    for topic in Topic:
        left = before.channels(topic) - wanted.channels(topic)
        if wanted.phone != before.phone:
            left |= {Channel.SMS}  # nothing queued for the old number goes to the new one
        if left & set(EXTERNAL):
            uow.notifications.drop_queued(person_id, [c.value for c in left], topic.value, stamp)
    if before.phone and wanted.phone != before.phone:
        # Told through the old number too: a stranger who changed it is noticed by its owner.
        masked = mask_phone(wanted.phone) if wanted.phone else "—"
        params = {"phone": masked, "old_phone": before.phone}
        event = Event(
            Topic.SECURITY, "security.phone_changed", f"phone:{stamp.isoformat()}", params, PREFS_LINK
        )
        raise_events(uow, [(person_id, event)], now, also_sms=frozenset({person_id}))


def mask_phone(phone: str) -> str:
    """A phone number as shown: the first 3 and last 4 digits."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def raise_events(
    uow: UnitOfWork,
    events: Sequence[tuple[int, Event]],
    now: datetime,
    *,
    also_sms: frozenset[int] = frozenset(),
    stored: Mapping[int, PreferenceRow] | None = None,
) -> list[int]:
    """Put each (person, event) in the person's inbox and queue its deliveries; repeats are ignored.

    Returns the ids of the notifications added (an event already raised, or of a topic the donor does
    not want, adds none). `stored`: the persons' stored preferences, when the caller has them already.
    """
    if not events:
        return []
    stamp = naive_utc(now)
    if stored is None:
        stored = uow.notifications.preferences(p for p, _ in events)
    prefs = {pid: stored_preferences(row) for pid, row in stored.items()}
    fresh: dict[tuple[int, str], tuple[int, Event]] = {}
    for pid, event in events:
        if prefs.get(pid, Preferences()).wants(event.topic):
            # A key raised before is left to the insert's ON CONFLICT DO NOTHING, which also settles a race.
            fresh.setdefault((pid, event.dedup_key), (pid, event))
    rows = [
        NewNotification(pid, e.topic.value, e.name, e.dedup_key, dict(e.params), e.link, stamp)
        for pid, e in fresh.values()
    ]
    added = uow.notifications.add_new(rows)
    deliveries = []
    for key, nid in added.items():
        pid, event = fresh[key]
        chosen = prefs.get(pid, Preferences()).channels(event.topic) - {Channel.INBOX}
        if pid in also_sms:
            chosen |= {Channel.SMS}
        deliveries += [NewDelivery(nid, pid, channel.value, stamp, stamp) for channel in sorted(chosen)]
    uow.notifications.queue(deliveries)
    return sorted(added.values())


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One message in the inbox, in the reader's language, with how far its deliveries got."""

    id: int
    topic: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read: bool
    deliveries: list[tuple[str, str]]


def inbox(uow: UnitOfWork, person_ids: Sequence[int], lang: str) -> list[InboxEntry]:
    """The donor's messages, newest first."""
    rows = uow.notifications.inbox(person_ids, INBOX_LIMIT)
    statuses = uow.notifications.statuses([r.id for r in rows])
    return [_entry(r, lang, [(s.channel, s.status) for s in statuses.get(r.id, [])]) for r in rows]


def _entry(row: NotificationRow, lang: str, deliveries: list[tuple[str, str]]) -> InboxEntry:
    title, body = words_of(row.event, row.params, lang)
    created = row.created_at.replace(tzinfo=UTC).astimezone(BEIJING)
    return InboxEntry(row.id, row.topic, title, body, row.link, created, row.read_at is not None, deliveries)


def unread_count(uow: UnitOfWork, person_ids: Sequence[int]) -> int:
    """How many messages the donor has not read."""
    return uow.notifications.unread(person_ids)


def mark_read(uow: UnitOfWork, person_ids: Sequence[int], notification_id: int | None, now: datetime) -> int:
    """Mark one message (or all, with None) read."""
    return uow.notifications.mark_read(person_ids, notification_id, naive_utc(now))


# ---- delivery


@dataclass(frozen=True, slots=True)
class Job:
    """A delivery taken for sending, with its message and address."""

    delivery_id: int
    channel: Channel
    message: OutgoingMessage


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a provider answered for one job."""

    delivery_id: int
    ref: str | None = None
    error: ChannelError | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRun:
    """What one run did."""

    sent: int
    retried: int
    failed: int
    postponed: int
    dropped: int


def take_due(
    uow: UnitOfWork, policy: Policy, now: datetime, *, channels: Iterable[Channel], limit: int = SEND_BATCH
) -> tuple[list[Job], int, int]:
    """Take the deliveries that may go now, postpone or drop the others: (jobs, postponed, dropped)."""
    stamp = naive_utc(now)
    # A sender that died between taking and recording leaves its deliveries "sending": after an hour they
    # are shown as failed rather than sent again, since the provider may have delivered them.
    uow.notifications.give_up_stale(stamp - STALE_SENDING, stamp)
    due = uow.notifications.due(stamp, limit)
    persons = {d.person_id for d in due}
    prefs = {pid: stored_preferences(row) for pid, row in uow.notifications.preferences(persons).items()}
    sent_today = uow.notifications.sent_since(persons, beijing_midnight_utc(beijing_day(now)))
    available = set(channels)
    jobs: list[Job] = []
    postponed = dropped = 0
    for row in due:
        mine = prefs.get(row.person_id, Preferences())
        topic, channel = Topic(row.topic), Channel(row.channel)
        address = _address(uow, row, mine)
        if channel not in mine.channels(topic) and row.event != "security.phone_changed":
            uow.notifications.finish(row.id, "dropped", stamp, last_error="opted_out")
            dropped += 1
            continue
        if address is None or channel not in available:
            uow.notifications.finish(row.id, "dropped", stamp, last_error="no_address")
            dropped += 1
            continue
        count = sent_today.get(row.person_id, 0)
        when = release_time(now, topic, policy, count)
        if when > now:
            uow.notifications.postpone(row.id, naive_utc(when), stamp)
            postponed += 1
            continue
        uow.notifications.start(row.id, stamp)
        if topic is not Topic.SECURITY:
            sent_today[row.person_id] = count + 1
        jobs.append(Job(row.id, channel, _message(row, address, now)))
    return jobs, postponed, dropped


def _address(uow: UnitOfWork, row: DeliveryRow, prefs: Preferences) -> str | None:
    if row.channel == Channel.SMS.value:
        if row.event == "security.phone_changed" and "old_phone" in row.params:
            return row.params["old_phone"]
        return prefs.phone
    if row.channel == Channel.WECHAT.value:
        registered = uow.notifications.wechat_openid(row.person_id)
        if registered:
            return registered
    subjects = uow.notifications.linked_subjects(row.person_id, row.channel)
    return subjects[0] if subjects else None


def register_wechat(uow: UnitOfWork, person_id: int, openid: str, now: datetime) -> None:
    """Keep the mini-program openid (verified by WeChat from a wx.login code) that WeChat messages go to."""
    if person_id not in uow.notifications.preferences([person_id]):
        save_preferences(uow, person_id, preferences_of(uow, person_id), now)
    uow.notifications.set_wechat_openid(person_id, openid, naive_utc(now))


def _message(row: DeliveryRow, address: str, now: datetime) -> OutgoingMessage:
    title, body = words_of(row.event, row.params, "zh")
    return OutgoingMessage(
        address=address,
        event=row.event,
        title=title,
        body=body,
        link=row.link,
        at=now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
    )


def send(channels: Mapping[Channel, MessageChannel], jobs: Sequence[Job]) -> list[Outcome]:
    """Hand each job to its channel's provider; never raises for a provider's refusal."""
    outcomes = []
    for job in jobs:
        try:
            outcomes.append(Outcome(job.delivery_id, ref=channels[job.channel].send(job.message)))
        except ChannelError as exc:
            outcomes.append(Outcome(job.delivery_id, error=exc))
    return outcomes


def record(
    uow: UnitOfWork, outcomes: Sequence[Outcome], attempts: Mapping[int, int], policy: Policy, now: datetime
) -> tuple[int, int, int]:
    """Record what the providers answered; returns (sent, retried, failed)."""
    stamp = naive_utc(now)
    sent = retried = failed = 0
    for outcome in outcomes:
        error = outcome.error
        if error is None:
            uow.notifications.finish(
                outcome.delivery_id, "sent", stamp, provider_ref=(outcome.ref or "")[:64]
            )
            sent += 1
        elif error.retryable and attempts[outcome.delivery_id] < policy.max_attempts:
            again = naive_utc(now + retry_delay(attempts[outcome.delivery_id]))
            uow.notifications.finish(
                outcome.delivery_id,
                "queued",
                stamp,
                next_attempt_at=again,
                last_error=error.code[:120],
                sent_at=None,
            )
            retried += 1
        else:
            uow.notifications.finish(outcome.delivery_id, "failed", stamp, last_error=error.code[:120])
            failed += 1
    return sent, retried, failed


def deliver_due(
    db: Database, channels: Mapping[Channel, MessageChannel], policy: Policy, now: datetime
) -> DeliveryRun:
    """One delivery run: take what is due (one transaction), send it, record the answers (another)."""
    with db.transaction() as uow:
        jobs, postponed, dropped = take_due(uow, policy, now, channels=channels.keys())
        attempts = uow.notifications.attempts_of([j.delivery_id for j in jobs])
    outcomes = send(channels, jobs)
    with db.transaction() as uow:
        sent, retried, failed = record(uow, outcomes, attempts, policy, now)
    return DeliveryRun(sent, retried, failed, postponed, dropped)


def link_wechat(
    db: Database, channel: MessageChannel | None, person_id: int, js_code: str, now: datetime
) -> None:
    """Ask WeChat whose mini-program login code this is, and send the donor's WeChat messages there."""
    if not isinstance(channel, WeChatChannel):
        raise Conflict("WeChat messages are not configured here", slug="channel_unavailable")
    try:
        openid = channel.openid_of(js_code)  # before the transaction: no provider call holds it open
    except ChannelError as exc:
        problem = ProblemField("js_code", "invalid_value", "WeChat did not accept this login code")
        raise ValidationFailed(f"WeChat refused the code ({exc.code})", errors=[problem]) from None
    with db.transaction() as uow:
        register_wechat(uow, person_id, openid, now)
