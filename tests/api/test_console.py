"""The console's pages over HTTP: login with CSRF, the station and key forms, quality, audit log, status."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bloodcert.config import Settings
from bloodcert.domain.keyed import token_hash
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import report_donations
from bloodcert.services.stations import new_ed25519_key
from bloodcert.storage.uow import Database
from bloodcert.storage.writes import column_values
from bloodcert.web.console.auth import STAFF_COOKIE
from tests.api.console_helpers import as_staff, csrf_token, log_in, secure_client
from tests.conftest import INDEX_KEY
from tests.factories import (
    STAFF_PASSWORD,
    StaffAccount,
    create_staff,
    create_station,
    make_record,
    staff_session,
)


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[Any]:
    create_station(db, "33000001", region="330000")
    create_station(db, "31000001", region="310000")
    with secure_client(settings, db) as test_client:
        yield test_client


@pytest.fixture
def ada(db: Database) -> StaffAccount:
    return create_staff(db, "ada", "national_admin")


@pytest.fixture
def olga(db: Database) -> StaffAccount:
    return create_staff(db, "olga", "station_operator", "33000001")


@pytest.fixture
def audrey(db: Database) -> StaffAccount:
    return create_staff(db, "audrey", "auditor")


def audit_entries(db: Database, client: Any = None) -> list[dict[str, Any]]:
    """The audit log, oldest first (with `client`, after its app has written its open refusal windows)."""
    if client is not None:
        client.app.state["bloodcert"].audit.end_refusal_windows()
    with db.reading() as uow:
        return [column_values(e) for e in reversed(uow.audit.recent(500))]


def signed_in(client: Any, db: Database, account: StaffAccount) -> str:
    """Sign `account` in (a session as a login opens one) and return a CSRF token for the forms."""
    as_staff(client, staff_session(db, account))
    return csrf_token(client, "/console")


# ---- login -----------------------------------------------------------------------------------------------


def test_the_login_form_sets_a_strict_http_only_secure_cookie_for_the_console_only(
    client: Any, ada: StaffAccount, db: Database
) -> None:
    response = log_in(client, ada)
    assert (response.status_code, response.headers["location"]) == (303, "/console")
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(STAFF_COOKIE + "=")
    for part in ("httponly", "samesite=strict", "secure", "path=/console", "max-age=28800"):
        assert part in cookie
    assert client.get("/console").status_code == 200
    login = [e for e in audit_entries(db) if e["action"] == "staff.login"]
    assert [(e["actor"], e["outcome"]) for e in login] == [("staff:ada", "ok")]


def test_the_login_form_needs_its_csrf_token(client: Any, ada: StaffAccount) -> None:
    client.get("/console/login")
    form = {"username": "ada", "password": STAFF_PASSWORD, "code": ada.code()}
    assert client.post("/console/login", data=form).status_code == 403


def test_a_wrong_code_gets_the_one_message_and_no_secret_reaches_the_audit_log(
    client: Any, ada: StaffAccount, db: Database
) -> None:
    response = log_in(client, ada, code="000000")
    assert response.status_code == 200 and STAFF_COOKIE not in response.headers.get("set-cookie", "")
    assert "登录失败：用户名、密码或动态验证码不正确，或账户已被暂时锁定。" in response.text
    assert STAFF_PASSWORD not in response.text  # the password is never echoed back
    entry = audit_entries(db)[-1]
    assert (entry["actor"], entry["action"], entry["outcome"]) == ("staff:ada", "staff.login", "failed")
    assert STAFF_PASSWORD not in str(entry) and "000000" not in str(entry)


def test_a_client_that_keeps_failing_is_shown_a_captcha(client: Any, ada: StaffAccount) -> None:
    for _ in range(3):
        log_in(client, ada, password="wrong password!")
    page = client.get("/console/login")
    assert 'name="captcha_answer"' in page.text and "data:image/png;base64," in page.text


def test_only_our_own_console_pages_are_returned_to_after_login(client: Any, ada: StaffAccount) -> None:
    response = log_in(client, ada, next="https://evil.example/console")
    assert response.headers["location"] == "/console"
    response = log_in(client, ada, steps_ahead=1, next="/console/status")
    assert response.headers["location"] == "/console/status"


def test_logout_ends_the_session_on_the_server(client: Any, ada: StaffAccount) -> None:
    log_in(client, ada)
    token = client.cookies.get(STAFF_COOKIE)
    csrf = csrf_token(client, "/console")
    response = client.post("/console/logout", data={"_csrf_token": csrf}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/console/login")
    as_staff(client, token)
    assert client.get("/console").status_code == 401


def test_an_idle_session_is_refused_after_15_minutes(client: Any, ada: StaffAccount, db: Database) -> None:
    token = staff_session(db, ada)
    as_staff(client, token)
    assert client.get("/console").status_code == 200
    with db.transaction() as uow:
        session = uow.staff.session_by_token_hash(token_hash(token))
        assert session is not None
        stale = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=15, seconds=1)
        uow.staff.touch_session(session.id, stale)
    response = client.get("/console")
    assert response.status_code == 401
    assert 'href="/console/login?next=%2Fconsole"' in response.text
    assert "max-age=0" in response.headers["set-cookie"].lower()  # the stale cookie is dropped


# ---- stations and keys -----------------------------------------------------------------------------------


def test_an_administrator_registers_a_station_adds_a_key_and_revokes_it(
    client: Any, ada: StaffAccount, db: Database
) -> None:
    csrf = signed_in(client, db, ada)
    form = {
        "_csrf_token": csrf,
        "code": "33019901",
        "name": "杭州市某血站",
        "region": "330106",
        "tier": "central_station",
    }
    added = client.post("/console/stations", data=form, follow_redirects=False)
    assert added.headers["location"] == "/console/stations/33019901?done=station_added"
    _, public_pem = new_ed25519_key()
    form = {"_csrf_token": csrf, "alg": "ed25519", "public_key_pem": public_pem.decode()}
    keyed = client.post("/console/stations/33019901/keys", data=form, follow_redirects=False)
    key_id = parse_qs(urlsplit(keyed.headers["location"]).query)["key"][0]
    page = client.get(keyed.headers["location"])
    assert key_id in page.text and "公钥已登记" in page.text
    revoked = client.post(f"/console/stations/33019901/keys/{key_id}/revoke", data={"_csrf_token": csrf})
    assert revoked.status_code == 200 and "公钥已吊销" in revoked.text
    with db.reading() as uow:
        key = uow.stations.get_key(key_id)
    assert key is not None and key.revoked_at is not None
    actions = [
        (e["actor"], e["action"], e["object"])
        for e in audit_entries(db)
        if e["action"].startswith("station.")
    ]
    assert actions == [
        ("staff:ada", "station.add", "33019901"),
        ("staff:ada", "station.add_key", f"33019901 {key_id}"),
        ("staff:ada", "station.revoke_key", f"33019901 {key_id}"),
    ]


def test_a_form_that_cannot_be_done_comes_back_with_the_reason(
    client: Any, ada: StaffAccount, db: Database
) -> None:
    csrf = signed_in(client, db, ada)
    form = {"_csrf_token": csrf, "code": "X1", "name": "某站", "region": "999999", "tier": "central_station"}
    response = client.post("/console/stations", data=form)
    assert response.status_code == 200 and "not a current GB/T 2260 region code" in response.text
    form = {"_csrf_token": csrf, "alg": "ed25519", "public_key_pem": "-----BEGIN PRIVATE KEY-----"}
    response = client.post("/console/stations/33000001/keys", data=form)
    assert response.status_code == 200 and "not a PEM public key" in response.text


def test_the_key_forms_need_their_csrf_token(client: Any, ada: StaffAccount, db: Database) -> None:
    signed_in(client, db, ada)
    with db.reading() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        key_id = uow.stations.keys_of_station(station.id)[0].key_id
    assert client.post(f"/console/stations/33000001/keys/{key_id}/revoke", data={}).status_code == 403
    with db.reading() as uow:
        key = uow.stations.get_key(key_id)
    assert key is not None and key.revoked_at is None


def test_an_operator_sees_their_own_station_and_is_refused_another(
    client: Any, olga: StaffAccount, db: Database
) -> None:
    csrf = signed_in(client, db, olga)
    page = client.get("/console/stations")
    assert "33000001" in page.text and "31000001" not in page.text
    assert client.get("/console/stations/33000001").status_code == 200
    for path in ("/console/stations/31000001", "/console/stations/31000001/quality"):
        refused = client.get(path)
        assert refused.status_code == 403 and "无权访问" in refused.text
    with db.reading() as uow:
        station = uow.stations.get_by_code("31000001")
        assert station is not None
        key_id = uow.stations.keys_of_station(station.id)[0].key_id
    revoke = client.post(f"/console/stations/31000001/keys/{key_id}/revoke", data={"_csrf_token": csrf})
    assert revoke.status_code == 403
    denied = [
        (e["actor"], e["object"], e["outcome"]) for e in audit_entries(db) if e["action"] == "console.denied"
    ]
    assert denied == [
        ("staff:olga", "/console/stations/31000001", "403"),
        ("staff:olga", "/console/stations/31000001/quality", "403"),
        ("staff:olga", f"/console/stations/31000001/keys/{key_id}/revoke", "403"),
    ]


def test_an_anonymous_visit_is_refused_with_a_link_to_the_login_and_audited(
    client: Any, db: Database
) -> None:
    response = client.get("/console/stations/33000001")
    assert response.status_code == 401
    assert 'href="/console/login?next=%2Fconsole%2Fstations%2F33000001"' in response.text
    entry = audit_entries(db, client)[-1]
    assert (entry["actor"], entry["action"], entry["outcome"]) == ("anonymous", "console.denied", "401")


def test_the_audit_screen_shows_how_many_refusals_an_entry_stands_for(
    client: Any, audrey: StaffAccount, db: Database
) -> None:
    for _ in range(3):
        assert client.get("/console/stations").status_code == 401
    assert audit_entries(db, client)[-1]["repeats"] == 3
    signed_in(client, db, audrey)
    assert "401 ×3" in client.get("/console/audit").text


# ---- data quality ----------------------------------------------------------------------------------------


def test_the_quality_page_charts_rejections_and_reporting_delay(
    client: Any, olga: StaffAccount, db: Database, signing: Signing
) -> None:
    now = datetime.now(UTC)
    late = (now - timedelta(days=3)).astimezone().isoformat(timespec="seconds")
    records = [make_record(donated_at=late), make_record(donation_no="BAD1", kind="nonsense")]
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        results = report_donations(
            uow, station=station, records=records, index_key=INDEX_KEY, signing=signing, now=now
        )
    assert [r.outcome for r in results] == ["created", "rejected"]
    signed_in(client, db, olga)
    page = client.get("/console/stations/33000001/quality")
    assert page.status_code == 200
    assert page.text.count('<svg viewBox="0 0 480.0 160.0" role="img"') == 2
    assert "50%" in page.text  # one of two records rejected this month
    assert "3.0 天" in page.text  # received three days after the donation
    assert "BAD1" in page.text
    entry = audit_entries(db)[-1]
    assert (entry["actor"], entry["action"], entry["object"]) == ("staff:olga", "read:quality", "33000001")


# ---- the audit log and system status ---------------------------------------------------------------------


def test_only_the_auditor_reads_the_audit_log_and_reading_it_is_audited(
    client: Any, ada: StaffAccount, audrey: StaffAccount, db: Database
) -> None:
    signed_in(client, db, ada)
    assert client.get("/console/audit").status_code == 403
    signed_in(client, db, audrey)
    page = client.get("/console/audit")
    assert page.status_code == 200 and "console.denied" in page.text and "staff:ada" in page.text
    entry = audit_entries(db)[-1]
    assert (entry["actor"], entry["action"], entry["object"]) == ("staff:audrey", "read:audit_log", "page 1")


def test_the_status_page_shows_the_database_keys_and_status_lists(
    client: Any, ada: StaffAccount, db: Database
) -> None:
    signed_in(client, db, ada)
    page = client.get("/console/status")
    assert page.status_code == 200
    assert "一切正常" in page.text and "已是最新" in page.text and "可以签发" in page.text
    with db.reading() as uow:
        kids = [k.kid.hex() for k in uow.certificates.all_keys()]
    assert kids and all(kid in page.text for kid in kids)


def test_the_console_speaks_english_too(client: Any, ada: StaffAccount, db: Database) -> None:
    signed_in(client, db, ada)
    page = client.get("/console/stations?lang=en")
    assert "Register a station" in page.text and 'lang="en"' in page.text


# ---- the donor pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/me", "/me/certificates/2026000000000015"])
def test_a_donor_page_without_a_session_answers_401_with_the_login_form(client: Any, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 401
    assert 'action="/"' in response.text and 'name="donation_no"' in response.text


def test_an_id_number_typed_into_a_console_url_is_masked_in_the_audit_log(client: Any, db: Database) -> None:
    assert client.get("/console/stations/330106199001011221/quality").status_code == 401
    entry = audit_entries(db, client)[-1]
    assert entry["object"] == "/console/stations/330***1221/quality"


def test_a_throttled_client_reloading_the_login_form_keeps_only_a_few_captchas(
    client: Any, db: Database, ada: StaffAccount
) -> None:
    from sqlalchemy import func, select

    from bloodcert.services.sessions import MAX_LIVE_CAPTCHAS
    from bloodcert.storage.tables import captchas

    for _ in range(3):
        log_in(client, ada, password="wrong password")
    shown = [client.get("/console/login") for _ in range(60)]
    assert all('name="captcha_id"' in page.text for page in shown)
    with db.reading() as uow:
        stored = uow.conn.execute(select(func.count()).select_from(captchas)).scalar_one()
    assert stored <= MAX_LIVE_CAPTCHAS + 1  # at most one more from the failed form's own redraw
