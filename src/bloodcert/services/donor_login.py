"""Donor login by ID type + ID number + name + any one donation number (献血编号), with a captcha gate.

Every failure gets the same 401 whatever was wrong, so that a probe learns nothing about which of the four
fields was right. The session reaches only the person whose donation number was presented (see
services/sessions.py for why).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bloodcert.domain.clock import naive_utc
from bloodcert.domain.identity import IdType, normalize_id_number
from bloodcert.domain.keyed import blind_index, identity_hash_of, name_hash_of
from bloodcert.errors import AppError, Unauthorized
from bloodcert.services import sessions
from bloodcert.services.sessions import DONOR, DonorOwner, LoginContext, LoginOutcome
from bloodcert.storage.uow import UnitOfWork

CAPTCHA_AFTER_FAILURES = 3
FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_FAILED = "the details do not match a donation record"


class CaptchaRequired(AppError):
    """Too many failures from this client or for this ID number: solve a captcha first."""

    status = 428
    slug = "captcha_required"
    title = "Captcha required"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the donor typed."""

    id_type: str
    id_number: str
    name: str
    donation_no: str
    captcha_id: str | None = None
    captcha_answer: str | None = None


def log_in(uow: UnitOfWork, ctx: LoginContext, creds: Credentials) -> LoginOutcome:
    """Check the four fields (and a captcha when required); opens a session or says why not (audited)."""
    subjects = _subjects(creds, ctx)
    stamp = naive_utc(ctx.now)
    required = _captcha_required(uow, subjects, stamp)
    anonymous = sessions.ANONYMOUS_DONOR
    if required and not sessions.captcha_passed(uow, ctx, creds.captcha_id, creds.captcha_answer):
        uow.identity.add_failures(subjects, stamp)
        return sessions.refuse(uow, ctx, DONOR, "captcha", actor=anonymous, obj="web", captcha_next=True)
    identity, name = _identity(creds, ctx.index_key)
    person_id = uow.identity.person_with_donation_no(identity, name, creds.donation_no.strip()[:64])
    if person_id is None:
        uow.identity.add_failures(subjects, stamp)
        return sessions.refuse(uow, ctx, DONOR, "failed", actor=anonymous, obj="web", captcha_next=required)
    uow.identity.clear_failures(subjects)
    return sessions.grant(uow, ctx, DONOR, DonorOwner(identity, name, person_id, "web"))


def refusal(outcome: LoginOutcome) -> AppError:
    """The error a refused login answers with: 428 when a captcha is needed, the one 401 otherwise."""
    if outcome.reason == "captcha":
        return CaptchaRequired("solve the captcha to continue")
    return Unauthorized(LOGIN_FAILED, slug="login_failed")


def _identity(creds: Credentials, index_key: bytes) -> tuple[bytes, bytes]:
    try:
        id_type = IdType(creds.id_type)
    except ValueError:
        id_type = IdType.OTHER  # still hashed and looked up, so that the timing does not tell
    number = normalize_id_number(creds.id_number)
    return identity_hash_of(index_key, id_type, number), name_hash_of(index_key, creds.name)


def _subjects(creds: Credentials, ctx: LoginContext) -> list[bytes]:
    number = normalize_id_number(creds.id_number)
    return [blind_index(ctx.index_key, "client|" + ctx.client), blind_index(ctx.index_key, "idnum|" + number)]


def _captcha_required(uow: UnitOfWork, subjects: list[bytes], stamp: datetime) -> bool:
    since = stamp - FAILURE_WINDOW
    return any(uow.identity.failures_since(s, since) >= CAPTCHA_AFTER_FAILURES for s in subjects)
