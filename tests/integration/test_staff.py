"""Console staff on a real database: accounts, login, lockout, per-client throttling, sessions, object checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bloodcert.domain.staff import Role, StaffPrincipal
from bloodcert.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from bloodcert.services import console, passwords, sessions
from bloodcert.services import staff as svc
from bloodcert.storage.rows import StaffUserRow
from bloodcert.storage.tables import staff_users
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import STAFF_PASSWORD, StaffAccount, create_staff, create_station, login_context

ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.7"
ELSEWHERE = "192.0.2.15"


@pytest.fixture
def stations(db: Database) -> None:
    create_station(db, "33000001", region="330000")
    create_station(db, "31000001", region="310000")


@pytest.fixture
def ada(db: Database) -> StaffAccount:
    return create_staff(db, "ada", "national_admin")


def attempt(
    db: Database,
    account: StaffAccount,
    *,
    client: str = OFFICE,
    now: datetime | None = None,
    password: str | None = None,
    code: str | None = None,
    captcha: tuple[str, str] | None = None,
) -> sessions.LoginOutcome:
    now = now or datetime.now(UTC)
    given = svc.LoginAttempt(
        account.username,
        account.password if password is None else password,
        account.code(now) if code is None else code,
        *(captcha or (None, None)),
    )
    with db.transaction() as uow:
        return svc.log_in(uow, login_context(now, client), given)


def user_row(db: Database, username: str) -> StaffUserRow:
    with db.reading() as uow:
        row = uow.staff.user_by_username(username)
    assert row is not None
    return row


# ---- accounts --------------------------------------------------------------------------------------------


def test_there_is_no_account_until_one_is_added(db: Database) -> None:
    with db.reading() as uow:
        assert uow.staff.all_users() == []


@pytest.mark.usefixtures("stations")
def test_an_operator_is_bound_to_an_existing_station(db: Database) -> None:
    olga = create_staff(db, "olga", "station_operator", "33000001")
    assert olga.provisioning_uri.startswith("otpauth://totp/bloodcert:olga?secret=")
    with db.reading() as uow:
        row = uow.staff.user_by_username("olga")
    assert row is not None and row.station_code == "33000001" and row.role == "station_operator"


@pytest.mark.usefixtures("stations")
@pytest.mark.parametrize(
    ("role", "station", "error"),
    [
        ("root", None, ValidationFailed),
        ("station_operator", None, ValidationFailed),
        ("station_operator", "99999999", NotFound),
        ("auditor", "33000001", ValidationFailed),
    ],
)
def test_accounts_need_a_known_role_and_a_station_only_for_operators(
    db: Database, role: str, station: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        create_staff(db, "eve", role, station)


@pytest.mark.parametrize("password", ["short-1A!", "administrator", "Password2024!"])
def test_weak_and_breached_passwords_are_refused(db: Database, password: str) -> None:
    with pytest.raises(passwords.WeakPassword):
        create_staff(db, "eve", "auditor", password=password)


def test_usernames_are_unique_and_lower_case(db: Database, ada: StaffAccount) -> None:
    with pytest.raises(Conflict):
        create_staff(db, "ADA", "auditor")


def test_the_totp_secret_is_encrypted_at_rest(db: Database, ada: StaffAccount) -> None:
    with db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT totp_secret, password_hash FROM staff_users").one()
    assert ada.totp_secret.encode() not in bytes(raw[0])
    assert raw[1].startswith("$argon2id$") and STAFF_PASSWORD not in raw[1]


# ---- login -----------------------------------------------------------------------------------------------


def test_the_password_and_the_code_together_open_a_session(db: Database, ada: StaffAccount) -> None:
    outcome = attempt(db, ada)
    assert outcome.reason == "ok" and outcome.grant is not None
    with db.transaction() as uow:
        who = sessions.resolve_staff(uow, outcome.grant.token, datetime.now(UTC))
    assert (who.username, who.role) == ("ada", Role.NATIONAL_ADMIN)


@pytest.mark.parametrize("wrong", [{"password": STAFF_PASSWORD + "x"}, {"code": "000000"}, {"code": ""}])
def test_either_factor_alone_is_not_enough(db: Database, ada: StaffAccount, wrong: dict[str, str]) -> None:
    outcome = attempt(db, ada, **wrong)
    assert outcome.grant is None and outcome.reason == "failed"


def test_an_unknown_username_fails_like_a_wrong_password(db: Database, ada: StaffAccount) -> None:
    ghost = StaffAccount("ghost", "auditor", None, STAFF_PASSWORD, ada.totp_secret, "")
    outcome = attempt(db, ghost)
    assert (outcome.reason, outcome.actor) == ("failed", "staff:unknown")


def test_a_code_cannot_be_used_twice(db: Database, ada: StaffAccount) -> None:
    now = datetime.now(UTC)
    assert attempt(db, ada, now=now).grant is not None
    replay = attempt(db, ada, now=now + timedelta(seconds=5), code=ada.code(now))
    assert replay.grant is None
    assert attempt(db, ada, now=now + timedelta(seconds=30), code=ada.code(now, steps_ahead=1)).grant


def test_a_login_rehashes_a_password_hashed_with_old_parameters(
    db: Database, ada: StaffAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    newer = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(passwords, "HASHER", newer)
    assert attempt(db, ada).grant is not None
    with db.reading() as uow:
        stored = uow.conn.execute(select(staff_users.c.password_hash)).scalar_one()
    assert "m=2048,t=2,p=1" in stored and passwords.verify(stored, STAFF_PASSWORD)


# ---- lockout and per-client throttling -------------------------------------------------------------------


def test_five_failures_lock_the_account_for_15_minutes(db: Database, ada: StaffAccount) -> None:
    now = datetime.now(UTC)
    # From two clients, since one client alone may never lock an account (the next test).
    for i, client in enumerate([ATTACKER] * 2 + [ELSEWHERE] * 3):
        assert attempt(db, ada, client=client, now=now + timedelta(seconds=i), password="wrong").grant is None
    locked = attempt(db, ada, client=OFFICE, now=now + timedelta(minutes=1))
    assert (locked.grant, locked.reason) == (None, "locked")
    later = now + timedelta(minutes=15, seconds=10)
    assert attempt(db, ada, client=OFFICE, now=later).grant is not None


def test_one_client_cannot_lock_an_account(db: Database, ada: StaffAccount) -> None:
    now = datetime.now(UTC)
    reasons = [
        attempt(db, ada, client=ATTACKER, now=now + timedelta(seconds=i), password="wrong").reason
        for i in range(12)
    ]
    # Three failures count; after them the attacker must solve a captcha for every try, and fails at that.
    assert reasons[:3] == ["failed"] * 3 and set(reasons[3:]) == {"captcha"}
    row = user_row(db, "ada")
    assert row.locked_until is None and row.failed_count == 3
    assert attempt(db, ada, client=OFFICE, now=now + timedelta(seconds=20)).grant is not None


def test_a_throttled_clients_failures_with_a_captcha_do_not_count_against_the_account(
    db: Database, ada: StaffAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bloodcert.identity.captcha.new_answer", lambda: "K7TA")
    now = datetime.now(UTC)
    for i in range(3):
        attempt(db, ada, client=ATTACKER, now=now + timedelta(seconds=i), password="wrong")
    for i in range(4):
        with db.transaction() as uow:
            captcha_id = sessions.issue_captcha(uow, login_context(now)).captcha_id
        at = now + timedelta(seconds=10 + i)
        outcome = attempt(db, ada, client=ATTACKER, now=at, password="wrong", captcha=(captcha_id, "k7ta"))
        assert outcome.reason == "failed" and outcome.captcha_next
    assert user_row(db, "ada").locked_until is None
    # The real holder, throttled on the same network, solves the captcha and is let in.
    with db.transaction() as uow:
        captcha_id = sessions.issue_captcha(uow, login_context(now)).captcha_id
    assert attempt(
        db, ada, client=ATTACKER, now=now + timedelta(seconds=30), captcha=(captcha_id, "K7TA")
    ).grant


def test_a_client_with_20_failures_is_refused_outright(db: Database, ada: StaffAccount) -> None:
    now = datetime.now(UTC)
    with db.transaction() as uow:
        for _ in range(svc.CLIENT_BLOCK_AFTER):
            uow.staff.add_client_failure(svc.client_hash(INDEX_KEY, ATTACKER), now.replace(tzinfo=None))
    assert attempt(db, ada, client=ATTACKER, now=now).reason == "blocked"
    assert attempt(db, ada, client=ATTACKER, now=now + timedelta(minutes=16)).grant is not None


def test_a_disabled_account_cannot_log_in_and_loses_its_sessions(db: Database, ada: StaffAccount) -> None:
    grant = attempt(db, ada).grant
    assert grant is not None
    with db.transaction() as uow:
        svc.disable_staff(uow, "ada", datetime.now(UTC))
    with db.transaction() as uow, pytest.raises(Unauthorized):
        sessions.resolve_staff(uow, grant.token, datetime.now(UTC))
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert attempt(db, ada, now=later, code=ada.code(later)).reason == "disabled"


# ---- sessions --------------------------------------------------------------------------------------------


def test_a_session_ends_after_15_idle_minutes(db: Database, ada: StaffAccount) -> None:
    now = datetime.now(UTC)
    with db.transaction() as uow:
        user = uow.staff.user_by_username("ada")
        assert user is not None
        token = sessions.grant(
            uow, login_context(now), sessions.STAFF, sessions.StaffOwner(user.id, "staff:ada")
        ).grant.token  # type: ignore[union-attr]
    with db.transaction() as uow:
        sessions.resolve_staff(uow, token, now + timedelta(minutes=14))  # activity moves the idle deadline
    with db.transaction() as uow:
        sessions.resolve_staff(uow, token, now + timedelta(minutes=28))
    with db.transaction() as uow, pytest.raises(Unauthorized):
        sessions.resolve_staff(uow, token, now + timedelta(minutes=43, seconds=1))


def test_a_session_ends_after_8_hours_however_active(db: Database, ada: StaffAccount) -> None:
    now = datetime.now(UTC)
    with db.transaction() as uow:
        user = uow.staff.user_by_username("ada")
        assert user is not None
        token = sessions.grant(
            uow, login_context(now), sessions.STAFF, sessions.StaffOwner(user.id, "staff:ada")
        ).grant.token  # type: ignore[union-attr]
    for minutes in range(10, 8 * 60, 10):
        with db.transaction() as uow:
            sessions.resolve_staff(uow, token, now + timedelta(minutes=minutes))
    with db.transaction() as uow, pytest.raises(Unauthorized):
        sessions.resolve_staff(uow, token, now + timedelta(hours=8))


def test_logout_ends_the_session(db: Database, ada: StaffAccount) -> None:
    grant = attempt(db, ada).grant
    assert grant is not None
    with db.transaction() as uow:
        sessions.log_out(uow, login_context(), sessions.STAFF, grant.token)
    with db.transaction() as uow, pytest.raises(Unauthorized):
        sessions.resolve_staff(uow, grant.token, datetime.now(UTC))


# ---- object-level checks ---------------------------------------------------------------------------------


def principal_of(db: Database, account: StaffAccount) -> StaffPrincipal:
    grant = attempt(db, account).grant
    assert grant is not None
    with db.transaction() as uow:
        return sessions.resolve_staff(uow, grant.token, datetime.now(UTC))


@pytest.mark.usefixtures("stations")
def test_an_operator_sees_only_their_own_station(db: Database) -> None:
    olga = principal_of(db, create_staff(db, "olga", "station_operator", "33000001"))
    now = datetime.now(UTC)
    with db.reading() as uow:
        assert [i.station.code for i in console.visible_stations(uow, olga)] == ["33000001"]
        assert console.quality_report(uow, olga, "33000001", now).station.code == "33000001"
        for other in ("31000001", "99999999"):  # another's, and one that does not exist: the same 403
            with pytest.raises(Forbidden):
                console.station_detail(uow, olga, other)
            with pytest.raises(Forbidden):
                console.quality_report(uow, olga, other, now)


@pytest.mark.usefixtures("stations")
def test_an_operator_cannot_touch_another_stations_keys(db: Database) -> None:
    oscar = principal_of(db, create_staff(db, "oscar", "station_operator", "31000001"))
    with db.reading() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        olgas_key = uow.stations.keys_of_station(station.id)[0]
    caller = console.Caller(oscar, OFFICE, bytes(32), datetime.now(UTC))
    with db.transaction() as uow, pytest.raises(Forbidden):
        console.revoke_key(uow, caller, "33000001", olgas_key.key_id)
    # Through his own station's code, the other station's key is not found.
    with db.transaction() as uow, pytest.raises(NotFound):
        console.revoke_key(uow, caller, "31000001", olgas_key.key_id)
    with db.reading() as uow:
        key = uow.stations.get_key(olgas_key.key_id)
    assert key is not None and key.revoked_at is None


@pytest.mark.usefixtures("stations")
def test_only_an_administrator_registers_stations_and_only_an_auditor_reads_the_audit_log(
    db: Database, ada: StaffAccount
) -> None:
    admin = principal_of(db, ada)
    olga = principal_of(db, create_staff(db, "olga", "station_operator", "33000001"))
    audrey = principal_of(db, create_staff(db, "audrey", "auditor"))
    now = datetime.now(UTC)
    for who in (olga, audrey):
        caller = console.Caller(who, OFFICE, bytes(32), now)
        with db.transaction() as uow, pytest.raises(Forbidden):
            console.add_station(uow, caller, code="X", name="x", region="330106", tier="central_station")
    for who in (admin, olga):
        with db.reading() as uow, pytest.raises(Forbidden):
            console.audit_page(uow, who, 1)
    with db.reading() as uow, pytest.raises(Forbidden):
        console.visible_stations(uow, audrey)
