"""Booking a donation (预约献血): a donor takes a place in a slot, moves it or cancels it.

Two promises hold here. A slot never takes more bookings than its capacity, whatever the concurrency: the
place is taken by one conditional UPDATE (see SiteRepository.take_place). And a donor is only booked for a
day the GB 18467 age limits and intervals allow, judged on the national history of every station, with
the refusal saying why and from which day booking is possible. A donor holds one upcoming booking at a
time, so that two bookings can never break an interval between themselves: moving it is a reschedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import MAX_AGE, MAX_AGE_FIRST_TIME, Kind, kind_label
from bloodcert.domain.eligibility import age_refusal, eligible_from
from bloodcert.errors import Conflict, NotEligible, NotFound, ProblemField
from bloodcert.services import notices
from bloodcert.storage.repositories.sites import AppointmentRow, SlotRow
from bloodcert.storage.uow import UnitOfWork

ACTIVE = "booked"
KINDS = frozenset(k.value for k in Kind)


@dataclass(frozen=True, slots=True)
class MyAppointments:
    """A donor's bookings, latest first, and how many times they did not come."""

    appointments: list[AppointmentRow]
    no_shows: int


def _today(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


def _open_slot(uow: UnitOfWork, slot_id: int, now: datetime) -> SlotRow:
    slot = uow.sites.slot(slot_id)
    if slot is None:
        raise NotFound("no such slot")
    if slot.day < _today(now):
        raise Conflict("this slot is in the past", slug="slot_closed")
    return slot


def _check_age(uow: UnitOfWork, person_ids: tuple[int, ...], repeat_donor: bool, day: date) -> None:
    births = [p.birth_date for p in uow.history.persons_by_ids(person_ids) if p.birth_date is not None]
    # The national history records no adverse reactions: the health check asks a donor past 55 about them.
    refusal = age_refusal(births[0] if births else None, day, repeat_donor=repeat_donor)
    if refusal is None:
        return
    if refusal.code == "too_young":
        assert refusal.eligible_from is not None
        first = refusal.eligible_from.isoformat()
        detail = f"donors must be {refusal.limit} or older: booking is possible from {first}"
    else:
        first = None
        detail = (
            f"GB 18467-2011 allows donating up to the age of {MAX_AGE} for a repeat donor with no adverse "
            f"reaction, and up to {MAX_AGE_FIRST_TIME} otherwise"
        )
    raise NotEligible(detail, eligible_from=first, errors=[ProblemField("age", refusal.code, detail)])


def check_eligible(uow: UnitOfWork, person_ids: tuple[int, ...], kind: Kind, day: date) -> None:
    """Refuse (NotEligible, saying why) a donation the age limits or the intervals do not allow on `day`."""
    past = uow.donations.valid_of_persons(person_ids)
    history = [(Kind(d.kind), d.donated_on) for ds in past.values() for d in ds if d.kind in KINDS]
    _check_age(uow, person_ids, any(d < day for _k, d in history), day)
    first = eligible_from(history, kind, day)
    if first is not None:
        raise NotEligible(
            f"{kind_label(kind, 'en').lower()} is possible again from {first.isoformat()}",
            eligible_from=first.isoformat(),
        )


def _upcoming(uow: UnitOfWork, person_ids: tuple[int, ...], today: date) -> AppointmentRow | None:
    mine = uow.sites.appointments_of_persons(person_ids)
    return next((a for a in mine if a.status == ACTIVE and a.day >= today), None)


def book(uow: UnitOfWork, person_ids: tuple[int, ...], slot_id: int, kind: Kind, now: datetime) -> int:
    """Book a place in a slot for a kind of donation; returns the appointment id."""
    slot = _open_slot(uow, slot_id, now)
    if _upcoming(uow, person_ids, _today(now)) is not None:
        raise Conflict("you already have an upcoming booking: move or cancel it", slug="already_booked")
    check_eligible(uow, person_ids, kind, slot.day)
    if not uow.sites.take_place(slot.id):
        raise Conflict("this slot is full", slug="slot_full")
    appointment_id = uow.sites.add_appointment(slot.id, min(person_ids), kind.value, now.replace(tzinfo=None))
    _tell(uow, "confirmed", (appointment_id, min(person_ids), kind.value), slot, now)
    return appointment_id


def _tell(
    uow: UnitOfWork, what: str, appointment: tuple[int, int, str], slot: SlotRow, now: datetime
) -> None:
    appointment_id, person_id, kind = appointment
    site = uow.sites.by_id(slot.site_id)
    name = site.site.name if site else ""
    facts = notices.BookingFacts(appointment_id, person_id, name, slot.day, slot.starts_at, kind)
    notices.booking_changed(uow, facts, what, now)


def _mine(uow: UnitOfWork, person_ids: tuple[int, ...], appointment_id: int) -> AppointmentRow:
    # Someone else's booking answers exactly like a missing one.
    found = next((a for a in uow.sites.appointments_of_persons(person_ids) if a.id == appointment_id), None)
    if found is None:
        raise NotFound("no such appointment")
    if found.status != ACTIVE:
        raise Conflict(f"this appointment is {found.status}", slug="not_booked")
    return found


def reschedule(
    uow: UnitOfWork, person_ids: tuple[int, ...], appointment_id: int, slot_id: int, now: datetime
) -> AppointmentRow:
    """Move a booking to another slot, keeping its kind; the old place is given back."""
    current = _mine(uow, person_ids, appointment_id)
    slot = _open_slot(uow, slot_id, now)
    if slot.id != current.slot_id:
        check_eligible(uow, person_ids, Kind(current.kind), slot.day)
        if not uow.sites.take_place(slot.id):
            raise Conflict("this slot is full", slug="slot_full")
        uow.sites.give_back_place(current.slot_id)
        uow.sites.move(current.id, slot.id, now.replace(tzinfo=None))
        _tell(uow, "changed", (current.id, current.person_id, current.kind), slot, now)
    return _mine(uow, person_ids, appointment_id)


def cancel(uow: UnitOfWork, person_ids: tuple[int, ...], appointment_id: int, now: datetime) -> None:
    """Cancel a booking and free its place."""
    current = _mine(uow, person_ids, appointment_id)
    uow.sites.set_status(current.id, "cancelled", now.replace(tzinfo=None))
    uow.sites.give_back_place(current.slot_id)
    slot = uow.sites.slot(current.slot_id)
    if slot is not None:
        _tell(uow, "cancelled", (current.id, current.person_id, current.kind), slot, now)


def my_appointments(uow: UnitOfWork, person_ids: tuple[int, ...]) -> MyAppointments:
    """Every booking of the donor, and the count of no-shows."""
    mine = uow.sites.appointments_of_persons(person_ids)
    return MyAppointments(mine, sum(1 for a in mine if a.status == "no_show"))
