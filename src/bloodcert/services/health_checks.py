"""The health check before donating (献血前健康征询) and the pass it gives.

On the day of a booking, or walking in to an open site, a logged-in donor answers the questions of the
questionnaire in force (domain/health_check.py). An answer that defers is explained, with the day to come
back; a check with none gives a pass: a short signed QR (`"t": "pass"`, the trust list of the
certificates) that the site's staff scan at check-in, online or offline.

Who sees what. The answers are health data: stored encrypted (storage/crypto.py), shown to the donor who
gave them only as their outcome, and read in full only by the station that runs the site, through its
signed API or the console, each read audited by the caller. Another station's site answers 404.

Why a pass stops working. Offline, a verifier has only the signature and the pass's own expiry: the end of
the Beijing day of the check, since the answers describe that day. Online, a pass also stops when the
donor answers again (only the latest check counts) or cancels the booking it was for.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

import msgspec

from bloodcert.certs.payload import DonorPassContent, pass_to_claims
from bloodcert.certs.qr import encode
from bloodcert.domain.clock import BEIJING, naive_utc
from bloodcert.domain.donation_rules import Kind, age_on
from bloodcert.domain.health_check import (
    Assessment,
    Outcome,
    Question,
    Questionnaire,
    assess,
    questionnaire_on,
)
from bloodcert.domain.honours import mask_name
from bloodcert.domain.identity import mask_id_number
from bloodcert.errors import Conflict, NotFound, ValidationFailed
from bloodcert.services.booking import check_eligible
from bloodcert.services.certificates import CertificateIssuer, Signing
from bloodcert.storage.repositories.sites import AppointmentRow, SiteRow
from bloodcert.storage.rows import HealthCheckRow, PersonRow, StationHealthCheckRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewHealthCheck

BOOKED = "booked"


RowId = Annotated[int, msgspec.Meta(ge=1, le=2**53)]


class CheckIn(msgspec.Struct, forbid_unknown_fields=True):
    """A completed check: for one of my bookings today, or walking in to a site open today."""

    answers: Annotated[dict[Annotated[str, msgspec.Meta(max_length=40)], bool], msgspec.Meta(max_length=64)]
    appointment_id: RowId | None = None
    site_id: RowId | None = None
    kind: Literal["whole_blood", "platelets", "plasma"] = "whole_blood"  # a booking knows its own


@dataclass(frozen=True, slots=True)
class MyQuestions:
    """What the donor is asked today, and the booking of today the check would be for (if any)."""

    questionnaire: Questionnaire
    questions: tuple[Question, ...]
    today: date
    appointment: AppointmentRow | None


@dataclass(frozen=True, slots=True)
class IssuedPass:
    """A freshly signed pass."""

    qr: str
    content: DonorPassContent


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What a completed check gave: its meaning, and a pass when nothing defers."""

    check_id: int
    assessment: Assessment
    issued: IssuedPass | None


def _today(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


def _person(uow: UnitOfWork, person_ids: tuple[int, ...]) -> PersonRow:
    persons = uow.history.persons_by_ids(person_ids)
    if not persons:
        raise NotFound("no donation record for this login")
    return persons[0]


def _asked(person: PersonRow, questionnaire: Questionnaire, today: date) -> tuple[Question, ...]:
    age = age_on(person.birth_date, today) if person.birth_date else None
    return questionnaire.for_donor(woman=person.sex == "F", age=age)


def todays_booking(uow: UnitOfWork, person_ids: tuple[int, ...], today: date) -> AppointmentRow | None:
    """The donor's booking for today that is still standing, if any."""
    mine = uow.sites.appointments_of_persons(person_ids)
    return next((a for a in mine if a.status == BOOKED and a.day == today), None)


def my_questions(uow: UnitOfWork, person_ids: tuple[int, ...], now: datetime) -> MyQuestions:
    """The questions of the revision in force today that this donor is asked."""
    today = _today(now)
    questionnaire = questionnaire_on(today)
    asked = _asked(_person(uow, person_ids), questionnaire, today)
    return MyQuestions(questionnaire, asked, today, todays_booking(uow, person_ids, today))


def _target(
    uow: UnitOfWork, person_ids: tuple[int, ...], data: CheckIn, today: date
) -> tuple[SiteRow, AppointmentRow | None, Kind]:
    """Where and for what the check is: a booking of today, or a walk-in at a site open today."""
    if (data.appointment_id is None) == (data.site_id is None):
        raise ValidationFailed("give either appointment_id (a booking of today) or site_id (walking in)")
    if data.appointment_id is not None:
        found = next(
            (a for a in uow.sites.appointments_of_persons(person_ids) if a.id == data.appointment_id), None
        )
        if found is None:
            raise NotFound("no such appointment")  # another donor's booking answers like a missing one
        if found.status != BOOKED or found.day != today:
            raise Conflict("the health check is for a booking of today", slug="not_today")
        site = uow.sites.by_id(found.site_id)
        assert site is not None
        return site, found, Kind(found.kind)
    assert data.site_id is not None
    site = uow.sites.by_id(data.site_id)
    if site is None:
        raise NotFound("no such site")
    if not site.site.open_on(today):
        raise Conflict("this site takes no donors today", slug="site_closed")
    return site, None, Kind(data.kind)


def end_of_day(day: date) -> datetime:
    """When a pass for a Beijing day stops: midnight at its end, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), BEIJING).astimezone(UTC)


def _sign(uow: UnitOfWork, signing: Signing, content: DonorPassContent, now: datetime) -> IssuedPass:
    issuer = CertificateIssuer.open(uow, signing)
    claims = pass_to_claims(
        content, issuer=signing.issuer, issued_at=now.astimezone(UTC).replace(microsecond=0)
    )
    return IssuedPass(
        encode(claims, alg=issuer.alg, private_key=issuer.private_key, kid=issuer.key.kid).qr_text, content
    )


def _new_pass(
    person: PersonRow, site: SiteRow, appointment: AppointmentRow | None, kind: Kind, today: date
) -> DonorPassContent:
    return DonorPassContent(
        serial=secrets.token_hex(8),
        holder_name=mask_name(person.name),
        id_number_masked=mask_id_number(person.id_number),
        station_code=site.station_code,
        site_name=site.site.name,
        day=today,
        kind=kind.value,
        starts_at=appointment.starts_at if appointment else None,
        expires_at=end_of_day(today),
    )


def submit(
    uow: UnitOfWork, person_ids: tuple[int, ...], signing: Signing, data: CheckIn, now: datetime
) -> CheckResult:
    """Judge and store a completed check; a pass, signed, when no answer defers."""
    today = _today(now)
    site, appointment, kind = _target(uow, person_ids, data, today)
    check_eligible(uow, person_ids, kind, today)
    person = _person(uow, person_ids)
    questionnaire = questionnaire_on(today)
    asked = _asked(person, questionnaire, today)
    assessment = assess(asked, data.answers, today)
    issued = None
    if assessment.outcome is Outcome.PASS:
        issued = _sign(uow, signing, _new_pass(person, site, appointment, kind, today), now)
    check_id = uow.health_checks.add(
        NewHealthCheck(
            person_id=person.id,
            site_id=site.id,
            appointment_id=appointment.id if appointment else None,
            day=today,
            kind=kind.value,
            questionnaire=questionnaire.version,
            answers={q.id: data.answers[q.id] for q in asked},
            outcome=assessment.outcome.value,
            come_back_on=assessment.come_back_on,
            pass_serial=issued.content.serial if issued else None,
            pass_expires_at=naive_utc(issued.content.expires_at) if issued else None,
            answered_at=naive_utc(now),
        )
    )
    return CheckResult(check_id, assessment, issued)


def todays_check(uow: UnitOfWork, person_ids: tuple[int, ...], now: datetime) -> HealthCheckRow | None:
    """The donor's latest check of today."""
    return uow.health_checks.latest_of_persons(person_ids, _today(now))


def todays_pass(
    uow: UnitOfWork, person_ids: tuple[int, ...], signing: Signing, now: datetime
) -> IssuedPass | None:
    """Today's pass shown again (the same serial, signed afresh), while it is in force; None otherwise."""
    check = todays_check(uow, person_ids, now)
    if check is None or check.pass_serial is None or not pass_in_force(uow, check.pass_serial):
        return None
    site = uow.sites.by_id(check.site_id)
    assert site is not None
    assert check.pass_expires_at is not None
    person = _person(uow, person_ids)
    starts_at = None
    if check.appointment_id is not None:
        booked = uow.sites.appointment_at_site(check.appointment_id, check.site_id)
        starts_at = booked.starts_at if booked else None
    content = DonorPassContent(
        check.pass_serial,
        mask_name(person.name),
        mask_id_number(person.id_number),
        site.station_code,
        site.site.name,
        check.day,
        check.kind,
        starts_at,
        check.pass_expires_at.replace(tzinfo=UTC),
    )
    return _sign(uow, signing, content, now)


def pass_in_force(uow: UnitOfWork, serial: str) -> bool:
    """Whether a pass is still its holder's latest check, and the booking it was for still stands."""
    check = uow.health_checks.by_pass_serial(serial)
    if check is None:
        return False
    latest = uow.health_checks.latest_of_persons([check.person_id])
    if latest is None or latest.id != check.id:
        return False
    if check.appointment_id is None:
        return True
    booked = uow.sites.appointment_at_site(check.appointment_id, check.site_id)
    return booked is not None and booked.status in (BOOKED, "attended")


def site_checks(uow: UnitOfWork, station_id: int, site_code: str, day: date) -> list[StationHealthCheckRow]:
    """The checks at one of the station's sites on a day, answers included, ID numbers masked for the desk."""
    site = uow.sites.site_of_station(station_id, site_code)
    if site is None:
        raise NotFound("this station has no site with that code")
    rows = uow.health_checks.of_site_day(site.id, day)
    return [dataclasses.replace(r, id_number=mask_id_number(r.id_number)) for r in rows]


def deferring_answers(check: HealthCheckRow) -> set[str]:
    """The ids of a stored check's answers that deferred the donation."""
    revision = questionnaire_on(date.fromisoformat(check.questionnaire))
    return {q.id for q in revision.questions if q.id in check.answers and check.answers[q.id] is q.defer_on}


def question_text(version: str, question_id: str, lang: str) -> str:
    """A stored answer's question in `lang`, from the revision the donor answered."""
    revision = questionnaire_on(date.fromisoformat(version))
    found = next((q for q in revision.questions if q.id == question_id), None)
    return found.text(lang) if found else question_id
