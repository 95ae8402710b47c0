"""Console staff: accounts, login with password + TOTP, lockout and per-client throttling.

Sessions, the captcha gate and the audit of every login are services/sessions.py's (policy STAFF).

How failed logins are counted
-----------------------------
Two counters, so that brute force is stopped without handing an attacker a way to lock people out:

- **Per account**: 5 failures (within 15 minutes of each other) lock the account for 15 minutes. While it
  is locked nothing is checked, so guessing on stays useless, and the lock is not extended.
- **Per client** (a keyed hash of the client address, `staff_login_failures`): every failure counts here
  first. A client with `CLIENT_CAPTCHA_AFTER` (3) failures in the last 15 minutes is *throttled*: each
  further attempt needs a freshly solved captcha, and, whatever its result, **no longer counts against any
  account**. At `CLIENT_BLOCK_AFTER` (20) failures the client is refused outright until the window passes.

Since 3 < 5, one client can never lock an account by itself: locking takes failures from at least two
clients, i.e. a distributed guessing attack, which is what the account lock is for. A colleague on the
same network who mistypes is not locked out either: they solve a captcha and go on. A success does not
wipe the client's record, so that a staff member cannot launder failures against a colleague's account
through logins to their own. The requests themselves are also rate-limited per client in front of the app
(web/ratelimit.py, `console_login`).

Every failure gets the same answer, whatever was wrong (unknown user, password, code, lock, disabled), and
an unknown user costs one argon2id verification like a known one.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

from bloodcert.domain.clock import naive_utc
from bloodcert.domain.keyed import blind_index
from bloodcert.domain.regions import province_name
from bloodcert.domain.staff import Role, check_province, check_username, parse_role
from bloodcert.errors import Conflict, NotFound, ValidationFailed
from bloodcert.services import passwords, sessions
from bloodcert.services.sessions import STAFF, LoginContext, LoginOutcome, StaffOwner
from bloodcert.storage.rows import NewStaffUser, StaffUserRow
from bloodcert.storage.uow import UnitOfWork

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
FAILURE_WINDOW = timedelta(minutes=15)
CLIENT_CAPTCHA_AFTER = 3
CLIENT_BLOCK_AFTER = 20
TOTP_PERIOD = 30
TOTP_DIGITS = 6
# One step either side (±30 s) for clock drift between the server and the staff member's phone.
TOTP_SKEW_STEPS = 1
ISSUER = "bloodcert"
UNKNOWN = "staff:unknown"


@dataclass(frozen=True, slots=True)
class NewStaff:
    """A created account, with the TOTP provisioning URI shown to its holder once."""

    user: StaffUserRow
    provisioning_uri: str


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What was typed on the console login form."""

    username: str
    password: str
    code: str
    captcha_id: str | None = None
    captcha_answer: str | None = None


def client_hash(index_key: bytes, client: str) -> bytes:
    """The keyed hash the per-client counter is stored under (addresses are not kept in the clear)."""
    return blind_index(index_key, "staff-client|" + client)


# ---- accounts --------------------------------------------------------------------------------------------


def add_staff(
    uow: UnitOfWork,
    *,
    username: str,
    role: str,
    station_code: str | None,
    password: str,
    now: datetime,
    province: str | None = None,
) -> NewStaff:
    """Create an account after checking its role, station or province and password; returns its TOTP URI."""
    name = check_username(username)
    parsed = parse_role(role)
    station_id = _station_for_role(uow, parsed, station_code)
    bound = _province_for_role(parsed, province)
    passwords.check(password, username=name)
    if uow.staff.user_by_username(name) is not None:
        raise Conflict(f"the username {name} is taken")
    secret = pyotp.random_base32()
    uow.staff.add_user(
        NewStaffUser(
            name, parsed.value, station_id, passwords.hash_password(password), secret, naive_utc(now), bound
        )
    )
    user = uow.staff.user_by_username(name)
    assert user is not None
    uri = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).provisioning_uri(
        name=name, issuer_name=ISSUER
    )
    return NewStaff(user, uri)


def _station_for_role(uow: UnitOfWork, role: Role, station_code: str | None) -> int | None:
    if role is not Role.STATION_OPERATOR:
        if station_code:
            raise ValidationFailed("only a station operator is bound to a station")
        return None
    if not station_code:
        raise ValidationFailed("a station operator needs --station")
    station = uow.stations.get_by_code(station_code.strip())
    if station is None:
        raise NotFound(f"no station with code {station_code}")
    return station.id


def _province_for_role(role: Role, province: str | None) -> str | None:
    if role is not Role.PROVINCIAL_ADMIN:
        if province:
            raise ValidationFailed("only a provincial administrator is bound to a province")
        return None
    if not province:
        raise ValidationFailed("a provincial administrator needs --province")
    code = check_province(province)
    if province_name(code) is None:
        raise ValidationFailed(f"{code} is not a GB/T 2260 province", slug="unknown_region")
    return code


def disable_staff(uow: UnitOfWork, username: str, now: datetime) -> StaffUserRow:
    """Disable an account and end its sessions at once."""
    user = uow.staff.user_by_username(username.strip().lower())
    if user is None:
        raise NotFound(f"no staff account {username}")
    if not uow.staff.disable_user(user.id, naive_utc(now)):
        raise Conflict(f"{user.username} is already disabled")
    uow.staff.end_sessions_of_user(user.id, naive_utc(now))
    return user


# ---- TOTP ------------------------------------------------------------------------------------------------


def totp_step(now: datetime) -> int:
    """The RFC 6238 time step of a moment."""
    return int(now.timestamp()) // TOTP_PERIOD


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step whose code is `code`, within the allowed skew and after the last one used; else None.

    Keeping the last used step per account refuses a code replayed within its window (RFC 6238 §5.2).
    """
    given = "".join(code.split())
    if len(given) != TOTP_DIGITS or not given.isascii() or not given.isdigit():
        return None
    otp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    current = totp_step(now)
    found = None
    # Every candidate is computed and compared, so that the time taken does not say which step matched.
    for step in range(current - TOTP_SKEW_STEPS, current + TOTP_SKEW_STEPS + 1):
        if hmac.compare_digest(otp.generate_otp(step), given) and (last_step is None or step > last_step):
            found = step
    return found


# ---- login -----------------------------------------------------------------------------------------------


def log_in(uow: UnitOfWork, ctx: LoginContext, attempt: LoginAttempt) -> LoginOutcome:
    """Check a console login (see the module docstring for the counting); opens a session on success.

    Every outcome, success or not, is audited by the sessions service with its reason.
    """
    stamp = naive_utc(ctx.now)
    client = client_hash(ctx.index_key, ctx.client)
    earlier = uow.staff.client_failures_since(client, stamp - FAILURE_WINDOW)
    if earlier >= CLIENT_BLOCK_AFTER:
        return sessions.refuse(uow, ctx, STAFF, "blocked", actor=UNKNOWN, captcha_next=True)
    throttled = earlier >= CLIENT_CAPTCHA_AFTER
    if throttled and not sessions.captcha_passed(uow, ctx, attempt.captcha_id, attempt.captcha_answer):
        uow.staff.add_client_failure(client, stamp)
        return sessions.refuse(uow, ctx, STAFF, "captcha", actor=UNKNOWN, captcha_next=True)
    user = uow.staff.user_by_username(attempt.username.strip().lower()[:32])
    reason, step = _check(user, attempt, ctx.now)
    next_needs_captcha = earlier + 1 >= CLIENT_CAPTCHA_AFTER
    if user is None or step is None:
        uow.staff.add_client_failure(client, stamp)
        if user is not None and reason == "failed" and not throttled:
            _count_against_account(uow, user, stamp)
        actor = f"staff:{user.username}" if user else UNKNOWN
        return sessions.refuse(uow, ctx, STAFF, reason, actor=actor, captcha_next=next_needs_captcha)
    actor = f"staff:{user.username}"
    if not uow.staff.record_success(user.id, totp_step=step):
        uow.staff.add_client_failure(client, stamp)  # the code was used by a concurrent login
        return sessions.refuse(uow, ctx, STAFF, "failed", actor=actor, captcha_next=next_needs_captcha)
    if passwords.needs_rehash(user.password_hash):
        uow.staff.set_password_hash(user.id, passwords.hash_password(attempt.password))
    return sessions.grant(uow, ctx, STAFF, StaffOwner(user.id, actor), captcha_next=throttled)


def _check(user: StaffUserRow | None, attempt: LoginAttempt, now: datetime) -> tuple[str, int | None]:
    """(reason, TOTP step): the step only when the password and the code are both right."""
    password = attempt.password[: passwords.MAX_LENGTH + 1]
    if user is None or user.disabled_at is not None or _locked(user, now):
        passwords.spend_like_verify(password)
        reason = "failed" if user is None else "disabled" if user.disabled_at else "locked"
        return reason, None
    # Both factors are checked on every attempt, so a right password alone is not told apart.
    password_ok = passwords.verify(user.password_hash, password)
    step = matching_step(user.totp_secret, attempt.code[:16], now, user.last_totp_step)
    return ("ok", step) if password_ok and step is not None else ("failed", None)


def _locked(user: StaffUserRow, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > naive_utc(now)


def _count_against_account(uow: UnitOfWork, user: StaffUserRow, stamp: datetime) -> None:
    recent = user.last_failure_at is not None and user.last_failure_at > stamp - FAILURE_WINDOW
    count = (user.failed_count if recent else 0) + 1
    if count >= MAX_FAILURES:
        uow.staff.record_failure(user.id, failed_count=0, at=stamp, locked_until=stamp + LOCKOUT)
    else:
        uow.staff.record_failure(user.id, failed_count=count, at=stamp, locked_until=None)


def captcha_needed(uow: UnitOfWork, *, index_key: bytes, client: str, now: datetime) -> bool:
    """True when this client is throttled: its next attempt must come with a solved captcha."""
    since = naive_utc(now) - FAILURE_WINDOW
    return uow.staff.client_failures_since(client_hash(index_key, client), since) >= CLIENT_CAPTCHA_AFTER


def login_captcha(uow: UnitOfWork, ctx: LoginContext) -> sessions.Captcha | None:
    """The captcha the login form shows this client: a fresh one when it is throttled, else None."""
    if not captcha_needed(uow, index_key=ctx.index_key, client=ctx.client, now=ctx.now):
        return None
    return sessions.issue_captcha(uow, ctx)
