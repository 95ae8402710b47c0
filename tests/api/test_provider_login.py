"""Real-name login over HTTP: the demo provider and Alipay (against its simulator), start to session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.identity.providers.alipay import AlipayConfig, AlipayProvider
from bloodcert.identity.providers.demo import DemoProvider
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from bloodcert.web.state import AppState
from tests.factories import WANG_FANG, create_station, make_record, report_records
from tests.simulators.alipay import AlipaySimulator, AlipayUser

BASE = "https://testserver.local"  # the platform callback binds its browser with a Secure cookie


@pytest.fixture
def demo_client(settings: Settings, db: Database, signing: Signing) -> Iterator[TestClient]:  # type: ignore[type-arg]
    create_station(db)
    report_records(db, signing, [make_record(donation_no="W1")])
    app = create_app(replace(settings, demo=True, public_base_url=BASE), db=db)
    with TestClient(app=app, base_url=BASE) as client:
        yield client


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_the_demo_provider_is_listed_only_in_demo_mode(demo_client: TestClient, client: TestClient) -> None:  # type: ignore[type-arg]
    names = [p["name"] for p in demo_client.get(BASE + "/api/v1/auth/providers").json()["providers"]]
    assert names == ["demo"]
    assert client.get(BASE + "/api/v1/auth/providers").json()["providers"] == []


def _demo_login(client: TestClient, donor: dict[str, str]) -> httpx.Response:  # type: ignore[type-arg]
    start = client.get(BASE + "/api/v1/auth/providers/demo/start", follow_redirects=False)
    assert start.status_code == 302
    params = _query(start.headers["location"])
    provider = client.app.state["bloodcert"].providers["demo"]
    assert isinstance(provider, DemoProvider)
    code = provider.issue_code(
        donor["id_type"],
        donor["id_number"],
        donor["name"],
        redirect_uri=params["redirect_uri"],
        code_challenge=params["code_challenge"],
    )
    return client.get(
        BASE + "/api/v1/auth/providers/demo/callback",
        params={"code": code, "state": params["state"]},
        follow_redirects=False,
    )


def test_the_demo_provider_logs_a_donor_in_with_a_session_cookie(demo_client: TestClient) -> None:  # type: ignore[type-arg]
    done = _demo_login(demo_client, WANG_FANG)
    assert (done.status_code, done.headers["location"]) == (303, "/me")
    token = done.cookies["bloodcert_session"]
    me = demo_client.get(BASE + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "王芳"


def test_a_state_works_once_and_only_for_its_provider(demo_client: TestClient) -> None:  # type: ignore[type-arg]
    start = demo_client.get(BASE + "/api/v1/auth/providers/demo/start", follow_redirects=False)
    params = _query(start.headers["location"])
    provider = demo_client.app.state["bloodcert"].providers["demo"]
    code = provider.issue_code(
        "resident_id",
        WANG_FANG["id_number"],
        "王芳",
        redirect_uri=params["redirect_uri"],
        code_challenge=params["code_challenge"],
    )
    first = demo_client.get(
        BASE + "/api/v1/auth/providers/demo/callback",
        params={"code": code, "state": params["state"]},
        follow_redirects=False,
    )
    again = demo_client.get(
        BASE + "/api/v1/auth/providers/demo/callback",
        params={"code": code, "state": params["state"]},
        follow_redirects=False,
    )
    assert first.headers["location"] == "/me"
    assert again.headers["location"] == "/?login_error=provider"


def test_an_identity_without_a_donation_record_gets_no_session(demo_client: TestClient) -> None:  # type: ignore[type-arg]
    done = _demo_login(
        demo_client, {"id_type": "resident_id", "id_number": "110105198503150043", "name": "李雷"}
    )
    assert done.headers["location"] == "/?login_error=no_record"
    assert "bloodcert_session" not in done.cookies


def test_an_unknown_provider_is_404(demo_client: TestClient) -> None:  # type: ignore[type-arg]
    assert demo_client.get(BASE + "/api/v1/auth/providers/myspace/start").status_code == 404


def test_alipay_login_through_the_simulator_opens_a_session(
    settings: Settings, db: Database, signing: Signing
) -> None:
    create_station(db)
    report_records(db, signing, [make_record(donation_no="W1")])
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alipay = AlipaySimulator("2021004112345678", app_key.public_key())
    alipay.add_user(AlipayUser("2088102104794936", cert_no=WANG_FANG["id_number"], user_name="王芳"))
    pem = app_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    provider = AlipayProvider(
        AlipayConfig("2021004112345678", pem, alipay.public_key_pem), httpx.Client(transport=alipay.transport)
    )
    app = create_app(replace(settings, public_base_url=BASE), db=db)
    state: AppState = app.state["bloodcert"]
    state.providers["alipay"] = provider
    with TestClient(app=app, base_url=BASE) as client:
        start = client.get(BASE + "/api/v1/auth/providers/alipay/start", follow_redirects=False)
        back = alipay.consent(start.headers["location"], "2088102104794936")
        done = client.get(back, follow_redirects=False)
        assert (done.status_code, done.headers["location"]) == (303, "/me")
        # The gateway saw RSA2-signed requests for both steps of the real protocol.
        assert [r["method"] for r in alipay.received] == [
            "alipay.system.oauth.token",
            "alipay.user.info.share",
        ]


def test_a_callback_url_opened_in_another_browser_opens_no_session(
    demo_client: TestClient,  # type: ignore[type-arg]
) -> None:
    start = demo_client.get(BASE + "/api/v1/auth/providers/demo/start", follow_redirects=False)
    params = _query(start.headers["location"])
    provider = demo_client.app.state["bloodcert"].providers["demo"]
    code = provider.issue_code(
        "resident_id",
        WANG_FANG["id_number"],
        WANG_FANG["name"],
        redirect_uri=params["redirect_uri"],
        code_challenge=params["code_challenge"],
    )
    # The attacker's callback URL, opened by a victim's browser that never started this login.
    with TestClient(app=demo_client.app, base_url=BASE) as victim:
        done = victim.get(
            BASE + "/api/v1/auth/providers/demo/callback",
            params={"code": code, "state": params["state"]},
            follow_redirects=False,
        )
        assert (done.status_code, done.headers["location"]) == (303, "/?login_error=provider")
        assert "bloodcert_session" not in victim.cookies


def test_the_browser_binding_cookie_is_httponly_short_lived_and_only_for_the_callbacks(
    demo_client: TestClient,  # type: ignore[type-arg]
) -> None:
    start = demo_client.get(BASE + "/api/v1/auth/providers/demo/start", follow_redirects=False)
    cookie = start.headers["set-cookie"].lower()
    assert cookie.startswith("bloodcert_oauth=")
    assert "path=/api/v1/auth/providers" in cookie and "max-age=600" in cookie and "httponly" in cookie


def test_a_real_name_login_reaches_every_person_under_the_verified_id_and_name_under_review(
    demo_client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    record = make_record(donation_no="W2", donor={"abo": "B"}, donated_at="2025-01-01T09:00:00+08:00")
    report_records(db, signing, [record])
    done = _demo_login(demo_client, WANG_FANG)
    token = demo_client.cookies.get("bloodcert_session")
    assert done.headers["location"] == "/me" and token
    demo_client.cookies.clear()
    me = demo_client.get(BASE + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["under_review"] is True and me["abo"] == "A/B"
    donations = demo_client.get(BASE + "/api/v1/me/donations", headers={"Authorization": f"Bearer {token}"})
    assert sorted(d["donation_no"] for d in donations.json()["donations"]) == ["W1", "W2"]
