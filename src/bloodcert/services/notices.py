"""What donors are told about: a record and certificate arrived, eligible again, a booking confirmed,
changed, cancelled or due tomorrow. Each builds the event (with a dedup key that makes raising it twice
harmless) and raises it through services/notifications.py.

The callers make one small call each: ingest after writing a station's batch, booking after each change,
and the daily sweeps (`bloodcert notify sweep`) for eligibility and reminders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bloodcert.domain.donation_rules import Kind, earliest_next, kind_label
from bloodcert.domain.notifications import Event, Topic
from bloodcert.services import surveys
from bloodcert.services.notifications import raise_events, stored_preferences
from bloodcert.storage.repositories.notifications import PreferenceRow
from bloodcert.storage.uow import UnitOfWork

# A daily sweep looks this far back, so that a missed day or two still tells everyone (once: dedup keys).
SWEEP_DAYS = 3
# Whole blood after whole blood, the longest interval, is six months: older donations never matter.
LOOKBACK_DAYS = 200


@dataclass(frozen=True, slots=True)
class Arrival:
    """A donation a station just reported, with its new certificate."""

    person_id: int
    donation_id: int
    station_id: int
    station_name: str
    certificate_no: str
    donated_on: date
    kind: str


def _day(day: date) -> dict[str, str]:
    return {"day_zh": f"{day.year}年{day.month}月{day.day}日", "day_en": day.isoformat()}


def _kind(kind: str) -> dict[str, str]:
    return {"kind_zh": kind_label(kind, "zh"), "kind_en": kind_label(kind, "en").lower()}


def records_arrived(uow: UnitOfWork, arrivals: Sequence[Arrival], now: datetime) -> None:
    """Tell each donor of a new donation on their record at once, so that one they do not recognise is
    noticed (the message links to the certificate and to the report of a wrong record)."""
    events = [
        (
            a.person_id,
            Event(
                Topic.RECORD,
                "record.arrived",
                f"record:{a.donation_id}",  # a correction of the same donation is no new message
                {
                    "station": a.station_name,
                    **_day(a.donated_on),
                    **_kind(a.kind),
                    "certificate": a.certificate_no,
                },
                f"/me/certificates/{a.certificate_no}",
            ),
        )
        for a in arrivals
    ]
    if not arrivals:
        return
    stored = uow.notifications.preferences(a.person_id for a in arrivals)
    raise_events(uow, events, now, stored=stored)
    _ask_about(uow, arrivals, now, stored)


def _ask_about(
    uow: UnitOfWork, arrivals: Sequence[Arrival], now: datetime, stored: Mapping[int, PreferenceRow]
) -> None:
    """Send the satisfaction survey of each new donation to the donors who want surveys."""
    wanting = [a for a in arrivals if stored_preferences(stored.get(a.person_id)).wants(Topic.SURVEY)]
    tokens = surveys.invite(
        uow, [surveys.Invite(a.person_id, a.donation_id, a.station_id) for a in wanting], now
    )
    events = [
        (
            a.person_id,
            Event(
                Topic.SURVEY,
                "survey.invite",
                f"survey:{a.donation_id}",
                {"station": a.station_name, **_day(a.donated_on)},
                f"/survey/{tokens[a.donation_id]}",
            ),
        )
        for a in wanting
        if a.donation_id in tokens
    ]
    raise_events(uow, events, now, stored=stored)


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """Where and when a booking is."""

    appointment_id: int
    person_id: int
    site_name: str
    day: date
    starts_at: str
    kind: str


def booking_changed(uow: UnitOfWork, facts: BookingFacts, what: str, now: datetime) -> None:
    """Tell the donor a booking was confirmed, changed or cancelled (`what`)."""
    params = {"site": facts.site_name, "time": facts.starts_at, **_day(facts.day), **_kind(facts.kind)}
    # The key names the slot too: moving twice is two messages, the same move replayed is one.
    key = f"booking:{facts.appointment_id}:{what}:{facts.day.isoformat()}T{facts.starts_at}"
    event = Event(Topic.BOOKING, f"booking.{what}", key, params, "/me/appointments")
    raise_events(uow, [(facts.person_id, event)], now)


def booking_reminders(uow: UnitOfWork, tomorrow: date, now: datetime) -> int:
    """Remind every donor booked for `tomorrow`; returns how many reminders were new."""
    events = []
    for b in uow.notifications.bookings_on(tomorrow):
        params = {"site": b.site_name, "time": b.starts_at, **_day(b.day), **_kind(b.kind)}
        key = f"booking:{b.id}:reminder:{b.day.isoformat()}"
        events.append(
            (b.person_id, Event(Topic.BOOKING, "booking.reminder", key, params, "/me/appointments"))
        )
    return len(raise_events(uow, events, now))


def first_days(history: Sequence[tuple[Kind, date]]) -> dict[Kind, date]:
    """For each kind, the first day the GB 18467 intervals allow it after the donations in `history`."""
    found: dict[Kind, date] = {}
    for kind in Kind:
        days = [d for prev_kind, prev_day in history if (d := earliest_next(prev_kind, prev_day, kind))]
        if days:
            found[kind] = max(days)
    return found


def eligible_again(uow: UnitOfWork, today: date, now: datetime) -> int:
    """Tell donors who became eligible for a kind in the last few days; returns how many were told."""
    since = today - timedelta(days=LOOKBACK_DAYS)
    events = []
    for person_id, past in uow.notifications.donations_since(since).items():
        history = [(Kind(d.kind), d.donated_on) for d in past if d.kind in Kind.__members__.values()]
        for kind, first in first_days(history).items():
            if today - timedelta(days=SWEEP_DAYS) < first <= today:
                params = {**_day(first), **_kind(kind.value)}
                key = f"eligible:{kind.value}:{first.isoformat()}"
                events.append((person_id, Event(Topic.ELIGIBLE, "eligible.again", key, params, "/sites")))
    return len(raise_events(uow, events, now))


# What a donor's request is called in the message; the features that answer requests call request_answered.
REQUESTS = {
    "claim": ("用血费用报销申请", "blood-fee claim"),
    "correction": ("纠错申请", "correction request"),
    "backfill": ("补录申请", "request to add a donation"),
    "relative": ("亲属登记", "relative's registration"),
}


def request_answered(
    uow: UnitOfWork, person_id: int, *, what: str, reference: str, status: str, link: str, now: datetime
) -> None:
    """Tell a donor that a request or claim of theirs was answered (`what` names its kind, REQUESTS)."""
    zh, en = REQUESTS.get(what, (what, what))
    params = {"what_zh": zh, "what_en": en, "status": status}
    event = Event(Topic.ANSWER, "answer.updated", f"answer:{what}:{reference}:{status}", params, link)
    raise_events(uow, [(person_id, event)], now)
