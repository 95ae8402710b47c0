"""Sessions for donors and staff: one implementation, with a policy per audience.

A session is an opaque random token shown once (cookie or Bearer) and stored only as its SHA-256. It ends
after `idle` without use, after `absolute` whatever happens, or at logout. Every login success, login
failure and logout goes through `grant`, `refuse` or `log_out` here, and each writes its audit entry in
the same transaction, so no login path can forget the audit log.

The captcha gate is here too: a captcha is single use (any attempt uses it up), lives 120 s, is stored
only as a keyed hash of its answer, and one client keeps at most `MAX_LIVE_CAPTCHAS` of them: a page that
draws a captcha on every load cannot fill the table.

What a donor session reaches
----------------------------
A donation-number login reaches exactly the one person whose donation number was presented: a station that
reports a record under someone else's ID number and name (with another ABO type, so that it is kept as a
separate person under review) and then logs in with its own donation number sees only its own record,
never the other person's donations or certificates. When the ID number is shared by several persons, the
donor is told that the identity is under review and how to resolve it.

A real-name platform login (Alipay, WeChat, Baidu, and the demo) carries no donation number: the platform
itself verified the ID number and the name of the person holding the account. That holder reaches every
person under the verified ID + name (the ABO variants a station may have mistyped are theirs to see), and
the session is marked under review whenever another person shares the ID number. What a forged record under
the holder's ID + name then shows is the forger's record to its rightful owner, never the reverse.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bloodcert.domain.clock import naive_utc
from bloodcert.domain.keyed import blind_index, token_hash
from bloodcert.domain.staff import Role, StaffPrincipal
from bloodcert.errors import Unauthorized
from bloodcert.identity import captcha
from bloodcert.services import audit
from bloodcert.services.audit import AuditEvent
from bloodcert.services.flushing import Flusher
from bloodcert.storage.repositories.history import HistoryRepository
from bloodcert.storage.rows import NewCaptcha, NewDonorSession, NewStaffSession, SessionRow
from bloodcert.storage.uow import Database, UnitOfWork

CAPTCHA_TTL = timedelta(seconds=120)
MAX_LIVE_CAPTCHAS = 3
MAX_TOKEN = 128
ANONYMOUS_DONOR = "donor:anonymous"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long one audience's sessions live, and how their logins are named in the audit log."""

    audience: str  # donor | staff
    idle: timedelta
    absolute: timedelta
    login_action: str
    logout_action: str
    # Moving the idle deadline is a write; once a minute is precise enough for these timeouts.
    touch_every: timedelta = timedelta(seconds=60)


DONOR = SessionPolicy("donor", timedelta(minutes=30), timedelta(hours=12), "login", "logout")
STAFF = SessionPolicy("staff", timedelta(minutes=15), timedelta(hours=8), "staff.login", "staff.logout")


@dataclass(frozen=True, slots=True)
class LoginContext:
    """Where a login comes from, the keys it needs, and when."""

    client: str
    index_key: bytes
    audit_key: bytes
    now: datetime


@dataclass(frozen=True, slots=True)
class Grant:
    """A new session: the token is shown once and stored only as a hash."""

    token: str
    session_id: int
    expires_in: int  # the idle timeout, in seconds, as the token response states it
    max_age: int  # the absolute lifetime, in seconds, for the cookie


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """A grant, or why not. `reason` is for the audit log (ok | failed | captcha | locked | disabled |
    blocked | no_record | bad_state | denied | provider_error); the user sees one message per kind of
    answer. `captcha_next` asks the form to show a captcha for the next attempt."""

    grant: Grant | None
    reason: str
    actor: str
    captcha_next: bool = False


@dataclass(frozen=True, slots=True)
class DonorOwner:
    """Whom a donor session belongs to: a verified ID + name, and the person a donation number reached."""

    identity_hash: bytes
    name_hash: bytes
    person_id: int | None
    method: str  # web | alipay | wechat | wechat_mini | baidu | demo


@dataclass(frozen=True, slots=True)
class StaffOwner:
    """Whom a console session belongs to."""

    user_id: int
    actor: str


@dataclass(frozen=True, slots=True)
class DonorPrincipal:
    """The donor behind a valid session: the persons it reaches, and whether the ID is under review."""

    session_id: int
    identity_hash: bytes
    name_hash: bytes
    person_ids: tuple[int, ...]
    under_review: bool
    # The read replica has replayed everything this donor must see: their reads may go there
    # (services/replica_reads.py).
    on_standby: bool = False

    @property
    def actor(self) -> str:
        """How the audit log names this donor (never by ID number)."""
        return donor_actor(self.session_id)


@dataclass(frozen=True, slots=True)
class Captcha:
    """A captcha to show: its id and the image as a data: URI."""

    captcha_id: str
    image: str


class HasHistory(Protocol):
    """A unit of work, or the donor's hot reads: anything with the history repository."""

    @property
    def history(self) -> HistoryRepository: ...


def donor_actor(session_id: int) -> str:
    """The audit log's name for the donor of a session."""
    return f"donor:session:{session_id}"


# ---- opening and refusing --------------------------------------------------------------------------------


def grant(
    uow: UnitOfWork,
    ctx: LoginContext,
    policy: SessionPolicy,
    owner: DonorOwner | StaffOwner,
    *,
    captcha_next: bool = False,
) -> LoginOutcome:
    """Open a session for someone who has just proved who they are, and audit the login."""
    assert isinstance(owner, StaffOwner) == (policy.audience == "staff"), "a session of the wrong audience"
    token = secrets.token_urlsafe(32)
    stamp = naive_utc(ctx.now)
    expires = naive_utc(ctx.now + policy.absolute)
    if isinstance(owner, StaffOwner):
        session_id = uow.staff.add_session(
            NewStaffSession(token_hash(token), owner.user_id, stamp, stamp, expires)
        )
        actor, obj = owner.actor, None
    else:
        row = NewDonorSession(
            token_hash(token),
            owner.identity_hash,
            owner.name_hash,
            owner.person_id,
            owner.method,
            stamp,
            stamp,
            expires,
        )
        session_id = uow.identity.add_session(row)
        actor, obj = donor_actor(session_id), owner.method
    _audit(uow, ctx, AuditEvent(actor, policy.login_action, obj, ctx.client, "ok"))
    new = Grant(token, session_id, int(policy.idle.total_seconds()), int(policy.absolute.total_seconds()))
    return LoginOutcome(new, "ok", actor, captcha_next)


def refuse(
    uow: UnitOfWork,
    ctx: LoginContext,
    policy: SessionPolicy,
    reason: str,
    *,
    actor: str,
    obj: str | None = None,
    captcha_next: bool = False,
) -> LoginOutcome:
    """Answer a failed login, and audit why."""
    _audit(uow, ctx, AuditEvent(actor, policy.login_action, obj, ctx.client, reason))
    return LoginOutcome(None, reason, actor, captcha_next)


def log_out(
    uow: UnitOfWork, ctx: LoginContext, policy: SessionPolicy, token: str | None, *, actor: str | None = None
) -> None:
    """End the session behind the token (if any) on the server, and audit the logout."""
    store = _store(uow, policy)
    session = store.session_by_token_hash(token_hash(token)) if token and _plausible(token) else None
    if session is not None:
        store.end_session(session.id, naive_utc(ctx.now))
    who = actor or (f"{policy.audience}:session:{session.id}" if session else f"{policy.audience}:anonymous")
    outcome = "ok" if session is not None else "no_session"
    _audit(uow, ctx, AuditEvent(who, policy.logout_action, None, ctx.client, outcome))


def _audit(uow: UnitOfWork, ctx: LoginContext, event: AuditEvent) -> None:
    audit.append(uow, ctx.audit_key, event, ctx.now)


# ---- resolving -------------------------------------------------------------------------------------------


class _Times(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def last_seen_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...


class _Store(Protocol):
    def session_by_token_hash(self, token_hash: bytes) -> _Times | None: ...
    def touch_session(self, session_id: int, now: datetime) -> None: ...
    def end_session(self, session_id: int, now: datetime) -> None: ...


def _store(uow: UnitOfWork, policy: SessionPolicy) -> _Store:
    return uow.staff if policy.audience == "staff" else uow.identity


def _plausible(token: str | None) -> bool:
    return bool(token) and len(token or "") <= MAX_TOKEN


def live(policy: SessionPolicy, session: _Times, stamp: datetime) -> bool:
    """Not ended, not past its absolute deadline, and used within the idle timeout."""
    return (
        session.ended_at is None and stamp < session.expires_at and stamp < session.last_seen_at + policy.idle
    )


def due_for_touch(policy: SessionPolicy, session: _Times, stamp: datetime) -> bool:
    """Whether the idle deadline should move now (at most once per `touch_every`)."""
    return session.last_seen_at + policy.touch_every <= stamp


def resolve_donor(reads: HasHistory, token: str | None, now: datetime) -> tuple[DonorPrincipal, bool]:
    """The donor of a live session and whether its idle deadline should move; Unauthorized otherwise."""
    return donor_of(reads.history.session_with_persons(donor_token_hash(token)), now)


def donor_session(reads: HasHistory, token: str | None, now: datetime) -> tuple[DonorPrincipal, bool, None]:
    """resolve_donor, shaped as a read made with the session that reads nothing else."""
    principal, touch = resolve_donor(reads, token, now)
    return principal, touch, None


def donor_token_hash(token: str | None) -> bytes:
    """The hash a donor session is stored under; Unauthorized for no token or one that cannot be one."""
    if not _plausible(token):
        raise Unauthorized("log in first", slug="unauthorized")
    assert token is not None
    return token_hash(token)


def donor_of(found: tuple[SessionRow, list[int], bool] | None, now: datetime) -> tuple[DonorPrincipal, bool]:
    """The donor of a session found with the persons it reaches (HistoryRepository.session_with_persons),
    and whether its idle deadline should move; Unauthorized unless it is live."""
    stamp = naive_utc(now)
    if found is None or not live(DONOR, found[0], stamp):
        raise Unauthorized("the session has ended; log in again", slug="unauthorized")
    session, person_ids, under_review = found
    principal = DonorPrincipal(
        session.id, session.identity_hash, session.name_hash, tuple(person_ids), under_review
    )
    return principal, due_for_touch(DONOR, session, stamp)


class SessionTouches:
    """Moves donor sessions' idle deadlines when their donors come back (`resolve_donor` says when).

    `sync` writes each move before the response goes out. `buffered` (the server's default, with the audit
    log's buffering) keeps the latest time each session was seen and a background thread writes them all in
    one statement every `interval_s`: a donor's read then never waits for the database's write turn, which a
    worker serving reads from its event loop would otherwise take there, once a minute for each session. At
    most one interval of moves is at risk if the worker dies: such a session ends up to `touch_every` plus
    that interval sooner than it would have, never later. Shutdown writes what is left.
    """

    def __init__(self, db: Database, *, mode: str = "sync", interval_s: float = 1.0) -> None:
        self.db = db
        self.mode = mode
        self.interval_s = interval_s
        self._seen: dict[int, datetime] = {}
        self._lock = threading.Lock()
        self._flusher = Flusher("session-touches", self.flush)

    def touch(self, session_id: int, now: datetime) -> None:
        """Move the session's idle deadline to `now` (at once, or within one interval when buffered)."""
        stamp = naive_utc(now)
        if self.mode != "buffered":
            with self.db.transaction() as uow:
                uow.identity.touch_session(session_id, stamp)
            return
        with self._lock:
            self._keep_latest({session_id: stamp})
        self._flusher.start(self.interval_s)

    def _keep_latest(self, seen: dict[int, datetime]) -> None:
        # Called with the lock held.
        for session_id, stamp in seen.items():
            prior = self._seen.get(session_id)
            if prior is None or stamp > prior:
                self._seen[session_id] = stamp

    def flush(self) -> int:
        """Write every queued move now; how many sessions moved. When the write fails, the moves stay
        queued (merged with any that came meanwhile) and the error is raised."""
        with self._lock:
            seen, self._seen = self._seen, {}
        if not seen:
            return 0
        try:
            with self.db.transaction() as uow:
                uow.identity.touch_sessions(seen)
        except Exception:
            with self._lock:
                self._keep_latest(seen)
            raise
        return len(seen)

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._flusher.stop()
        self.flush()


def resolve_staff(uow: UnitOfWork, token: str | None, now: datetime) -> StaffPrincipal:
    """The staff member behind a live session (moving its idle deadline); Unauthorized otherwise."""
    ended = Unauthorized("the console session has ended; log in again")
    if not _plausible(token):
        raise Unauthorized("log in to the console first")
    assert token is not None
    session = uow.staff.session_by_token_hash(token_hash(token))
    stamp = naive_utc(now)
    if session is None or not live(STAFF, session, stamp):
        raise ended
    user = uow.staff.user_by_id(session.user_id)
    if user is None or user.disabled_at is not None:
        raise ended
    if due_for_touch(STAFF, session, stamp):
        uow.staff.touch_session(session.id, stamp)
    return StaffPrincipal(
        user.id, user.username, Role(user.role), user.station_id, user.station_code, session.id, user.province
    )


# ---- the captcha gate ------------------------------------------------------------------------------------


def issue_captcha(uow: UnitOfWork, ctx: LoginContext) -> Captcha:
    """A new single-use captcha for this client; the client's oldest is dropped past MAX_LIVE_CAPTCHAS."""
    answer = captcha.new_answer()
    captcha_id = secrets.token_urlsafe(24)
    client = _captcha_client(ctx)
    uow.identity.add_captcha(
        NewCaptcha(captcha_id, _answer_hash(ctx, answer), client, naive_utc(ctx.now + CAPTCHA_TTL))
    )
    uow.identity.keep_newest_captchas(client, MAX_LIVE_CAPTCHAS)
    return Captcha(captcha_id, data_uri(captcha.draw(answer)))


def captcha_passed(uow: UnitOfWork, ctx: LoginContext, captcha_id: str | None, answer: str | None) -> bool:
    """True when the captcha exists, has not expired and the answer is right; any attempt uses it up."""
    if not captcha_id or answer is None:
        return False
    stored = uow.identity.take_captcha(captcha_id[:64])
    if stored is None:
        return False
    answer_hash, expires_at = stored
    given = _answer_hash(ctx, captcha.normalise_answer(answer[:16]))
    return hmac.compare_digest(given, answer_hash) and naive_utc(ctx.now) < expires_at


def _answer_hash(ctx: LoginContext, answer: str) -> bytes:
    return blind_index(ctx.index_key, "captcha|" + answer)


def _captcha_client(ctx: LoginContext) -> bytes:
    return blind_index(ctx.index_key, "captcha-client|" + ctx.client)


def data_uri(png: bytes) -> str:
    """A PNG image as a data: URI, as the captcha endpoint returns it."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
