"""Donor login by ID type + ID number + name + any one donation number (献血编号), with captcha and sessions.

Every failure gets the same 401 whatever was wrong, compared in constant time, so that a probe learns
nothing about which of the four fields was right.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bloodcert.domain.clock import naive_utc
from bloodcert.domain.identity import IdType, normalize_id_number
from bloodcert.domain.keyed import blind_index, identity_hash_of, name_hash_of, token_hash
from bloodcert.errors import AppError, Unauthorized
from bloodcert.identity import captcha
from bloodcert.storage.repositories.history import HistoryRepository
from bloodcert.storage.rows import SessionRow
from bloodcert.storage.uow import UnitOfWork

CAPTCHA_AFTER_FAILURES = 3
FAILURE_WINDOW = timedelta(minutes=15)
CAPTCHA_TTL = timedelta(seconds=120)
SESSION_IDLE = timedelta(minutes=30)
SESSION_ABSOLUTE = timedelta(hours=12)
# Moving the idle deadline is a write; once a minute is precise enough for a 30-minute timeout.
TOUCH_EVERY = timedelta(seconds=60)
LOGIN_FAILED = "the details do not match a donation record"


class CaptchaRequired(AppError):
    """Too many failures from this client or for this ID number: solve a captcha first."""

    status = 428
    slug = "captcha_required"
    title = "Captcha required"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the donor typed, and where from."""

    id_type: str
    id_number: str
    name: str
    donation_no: str
    client: str
    captcha_id: str | None = None
    captcha_answer: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """A new session: the token is shown once and stored only as a hash."""

    token: str
    expires_in: int
    session_id: int


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """Either a grant or the error to answer with (after the failure has been committed)."""

    grant: Grant | None
    error: AppError | None


@dataclass(frozen=True, slots=True)
class DonorPrincipal:
    """The donor behind a valid session: every person record with their ID and name."""

    session_id: int
    identity_hash: bytes
    name_hash: bytes
    person_ids: tuple[int, ...]
    under_review: bool

    @property
    def actor(self) -> str:
        """How the audit log names this donor (never by ID number)."""
        return f"donor:session:{self.session_id}"


def issue_captcha(uow: UnitOfWork, index_key: bytes, now: datetime) -> tuple[str, bytes]:
    """A new captcha: (captcha id, PNG image)."""
    answer = captcha.new_answer()
    captcha_id = secrets.token_urlsafe(24)
    uow.identity.add_captcha(
        captcha_id, blind_index(index_key, "captcha|" + answer), naive_utc(now + CAPTCHA_TTL)
    )
    return captcha_id, captcha.draw(answer)


def login(uow: UnitOfWork, creds: Credentials, *, index_key: bytes, now: datetime) -> LoginOutcome:
    """Check the four fields (and a captcha when required); returns a grant or the error to answer with."""
    subjects = _subjects(creds, index_key)
    stamp = naive_utc(now)
    if _captcha_required(uow, subjects, stamp) and not _captcha_passed(uow, creds, index_key, stamp):
        uow.identity.add_failures(subjects, stamp)
        return LoginOutcome(None, CaptchaRequired("solve the captcha to continue"))
    identity, name = _identity(creds, index_key)
    persons = uow.history.persons_by_identity_and_name(identity, name)
    # An empty match still runs the query, so that a wrong name takes as long as a wrong donation number.
    found = uow.history.has_donation_no([p.id for p in persons] or [0], creds.donation_no.strip())
    if not found:
        uow.identity.add_failures(subjects, stamp)
        return LoginOutcome(None, Unauthorized(LOGIN_FAILED, slug="login_failed"))
    uow.identity.clear_failures(subjects)
    return LoginOutcome(start_session(uow, identity, name, "web", now), None)


def start_session(uow: UnitOfWork, identity: bytes, name: bytes, method: str, now: datetime) -> Grant:
    """Open a session for a verified ID + name."""
    token = secrets.token_urlsafe(32)
    session_id = uow.identity.add_session(
        {
            "token_hash": token_hash(token),
            "identity_hash": identity,
            "name_hash": name,
            "method": method,
            "created_at": naive_utc(now),
            "last_seen_at": naive_utc(now),
            "expires_at": naive_utc(now + SESSION_ABSOLUTE),
        }
    )
    return Grant(token, int(SESSION_IDLE.total_seconds()), session_id)


class HasHistory(Protocol):
    """A unit of work, or the donor's hot reads: anything with the history repository."""

    @property
    def history(self) -> HistoryRepository: ...


def resolve(reads: HasHistory, token: str | None, now: datetime) -> tuple[DonorPrincipal, bool]:
    """The principal of a live session and whether its idle deadline should move; Unauthorized otherwise."""
    if not token or len(token) > 128:
        raise Unauthorized("log in first", slug="unauthorized")
    found = reads.history.session_with_persons(token_hash(token))
    stamp = naive_utc(now)
    if found is None or not _live(found[0], stamp):
        raise Unauthorized("the session has ended; log in again", slug="unauthorized")
    session, person_ids, under_review = found
    principal = DonorPrincipal(
        session.id, session.identity_hash, session.name_hash, tuple(person_ids), under_review
    )
    return principal, session.last_seen_at + TOUCH_EVERY <= stamp


def _live(session: SessionRow, stamp: datetime) -> bool:
    return (
        session.ended_at is None
        and stamp < session.expires_at
        and stamp < session.last_seen_at + SESSION_IDLE
    )


def _identity(creds: Credentials, index_key: bytes) -> tuple[bytes, bytes]:
    try:
        id_type = IdType(creds.id_type)
    except ValueError:
        id_type = IdType.OTHER  # still hashed and looked up, so that the timing does not tell
    number = normalize_id_number(creds.id_number)
    return identity_hash_of(index_key, id_type, number), name_hash_of(index_key, creds.name)


def _subjects(creds: Credentials, index_key: bytes) -> list[bytes]:
    number = normalize_id_number(creds.id_number)
    return [blind_index(index_key, "client|" + creds.client), blind_index(index_key, "idnum|" + number)]


def _captcha_required(uow: UnitOfWork, subjects: list[bytes], now: datetime) -> bool:
    since = now - FAILURE_WINDOW
    return any(uow.identity.failures_since(s, since) >= CAPTCHA_AFTER_FAILURES for s in subjects)


def _captcha_passed(uow: UnitOfWork, creds: Credentials, index_key: bytes, now: datetime) -> bool:
    if not creds.captcha_id or creds.captcha_answer is None:
        return False
    stored = uow.identity.take_captcha(creds.captcha_id[:64])  # any attempt uses the captcha up
    if stored is None:
        return False
    answer_hash, expires_at = stored
    given = blind_index(index_key, "captcha|" + captcha.normalise_answer(creds.captcha_answer))
    return hmac.compare_digest(given, answer_hash) and now < expires_at


def captcha_data_uri(png: bytes) -> str:
    """The image as a data: URI, as the donor API returns it (docs/donor-api.md)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
