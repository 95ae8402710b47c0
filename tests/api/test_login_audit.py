"""Every login is audited: each login route of the app writes exactly one audit entry for a success and one
for a failure, and each logout one.

The login routes come from the app's route table: a route whose path speaks of logging in, sessions or
platform callbacks must be listed below with a scenario (or as not a login), and every real-name platform
the app offers needs a callback scenario, so a login route added tomorrow without its audit fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import TestClient
from sqlalchemy import select

from bloodcert.config import Settings
from bloodcert.identity.providers.alipay import AlipayConfig, AlipayProvider
from bloodcert.identity.providers.baidu import BaiduConfig, BaiduProvider
from bloodcert.identity.providers.wechat import WeChatConfig, WeChatProvider
from bloodcert.services.certificates import Signing
from bloodcert.storage.tables import audit_log
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from bloodcert.web.state import AppState
from tests.api.console_helpers import csrf_token
from tests.api.test_route_authorisation import endpoints
from tests.factories import WANG_FANG, StaffAccount, create_staff, create_station, make_record, report_records
from tests.simulators.alipay import AlipaySimulator, AlipayUser
from tests.simulators.baidu import BaiduSimulator, BaiduUser
from tests.simulators.wechat import WeChatSimulator, WeChatUser

BASE = "https://testserver.local"
LOGIN_ACTIONS = ("login", "staff.login")
LOGOUT_ACTIONS = ("logout", "staff.logout")
# Routes that speak of logins but open no session themselves.
NOT_LOGINS = {
    ("GET", "/"),  # the login form
    ("GET", "/console/login"),
    ("POST", "/api/v1/auth/captcha"),
    ("GET", "/api/v1/auth/providers"),
    ("GET", "/api/v1/auth/providers/{name:str}/start"),
    ("GET", "/auth/demo"),  # the demo platform's own page, which hands out a code for the callback
    ("POST", "/auth/demo"),
    ("GET", "/api/v1/schema/oauth2-redirect.html"),  # the API docs' own OAuth helper page
}
LOGOUTS = {("POST", "/logout"), ("POST", "/api/v1/auth/logout"), ("POST", "/console/logout")}
SPEAKS_OF_LOGIN = re.compile(r"login|logout|auth|session|callback|miniprogram|^/$")
WEB_APP, WEB_SECRET = "wx0123456789abcdef", "web-secret-0123456789abcdef012345"
MINI_APP, MINI_SECRET = "wxfedcba9876543210", "mini-secret-0123456789abcdef01234"
ALIPAY_APP = "2021004112345678"


@dataclass
class Platforms:
    """The simulators behind the app's real-name providers."""

    alipay: AlipaySimulator
    wechat: WeChatSimulator
    baidu: BaiduSimulator


@dataclass
class Site:
    client: Any
    db: Database
    platforms: Platforms
    staff: StaffAccount


@pytest.fixture
def site(settings: Settings, db: Database, signing: Signing) -> Iterator[Site]:
    create_station(db)
    report_records(db, signing, [make_record(donation_no="W1")])
    staff = create_staff(db, "ada", "national_admin")
    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alipay = AlipaySimulator(ALIPAY_APP, app_key.public_key())
    alipay.add_user(AlipayUser("2088102104794936", cert_no=WANG_FANG["id_number"], user_name="王芳"))
    wechat = WeChatSimulator({WEB_APP: WEB_SECRET, MINI_APP: MINI_SECRET})
    wechat.add_user(WeChatUser("wang", real_name="王芳", cred_id=WANG_FANG["id_number"]))
    baidu = BaiduSimulator("baidu-client", "baidu-secret", "ai-key", "ai-secret", "9876")
    baidu.add_user(BaiduUser("wangfang", WANG_FANG["id_number"], "王芳"))
    pem = app_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    app = create_app(replace(settings, demo=True, public_base_url=BASE), db=db)
    state: AppState = app.state["bloodcert"]
    providers = state.providers
    providers["alipay"] = AlipayProvider(
        AlipayConfig(ALIPAY_APP, pem, alipay.public_key_pem), httpx.Client(transport=alipay.transport)
    )
    providers["wechat"] = WeChatProvider(
        WeChatConfig(WEB_APP, WEB_SECRET, MINI_APP, MINI_SECRET), httpx.Client(transport=wechat.transport)
    )
    providers["baidu"] = BaiduProvider(
        BaiduConfig("baidu-client", "baidu-secret", "ai-key", "ai-secret", "9876"),
        httpx.Client(transport=baidu.transport),
    )
    with TestClient(app=app, base_url=BASE) as client:
        yield Site(client, db, Platforms(alipay, wechat, baidu), staff)


def entries(db: Database, actions: tuple[str, ...]) -> list[tuple[str, str, str | None]]:
    with db.reading() as uow:
        rows = uow.conn.execute(
            select(audit_log.c.actor, audit_log.c.outcome, audit_log.c.object)
            .where(audit_log.c.action.in_(actions))
            .order_by(audit_log.c.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]


def one_more_entry(site: Site, act: Callable[[], Any], actions: tuple[str, ...] = LOGIN_ACTIONS) -> Any:
    """Run `act` and return the one audit entry it wrote (failing when it wrote none or several)."""
    before = len(entries(site.db, actions))
    act()
    after = entries(site.db, actions)
    assert len(after) == before + 1, after[before:]
    return after[-1]


# ---- the scenarios ---------------------------------------------------------------------------------------


def api_login(site: Site, ok: bool) -> None:
    body = {
        **{k: WANG_FANG[k] for k in ("id_type", "id_number", "name")},
        "donation_no": "W1" if ok else "W9",
    }
    response = site.client.post("/api/v1/auth/login", json=body)
    assert response.status_code == (200 if ok else 401), response.text
    site.client.cookies.clear()


def page_login(site: Site, ok: bool) -> None:
    page = site.client.get("/")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    form = {
        **{k: WANG_FANG[k] for k in ("id_type", "id_number", "name")},
        "donation_no": "W1" if ok else "W9",
        "_csrf_token": token.group(1) if token else "",
    }
    response = site.client.post("/", data=form, follow_redirects=False)
    assert response.status_code == (303 if ok else 200), response.text
    site.client.cookies.clear()


def console_login(site: Site, ok: bool) -> None:
    form = {
        "_csrf_token": csrf_token(site.client),
        "username": "ada",
        "password": site.staff.password if ok else "wrong password",
        "code": site.staff.code(),
    }
    response = site.client.post("/console/login", data=form, follow_redirects=False)
    assert response.status_code == (303 if ok else 200), response.text
    site.client.cookies.clear()


def mini_program(site: Site, ok: bool) -> None:
    js_code = site.platforms.wechat.login(MINI_APP, "wang")
    body = {
        "js_code": js_code,
        "id_type": "resident_id",
        "id_number": WANG_FANG["id_number"],
        "name": "王芳" if ok else "王方",
    }
    response = site.client.post("/api/v1/auth/providers/wechat/miniprogram", json=body)
    assert response.status_code == (200 if ok else 401), response.text
    site.client.cookies.clear()


def _start(site: Site, name: str) -> str:
    response = site.client.get(f"/api/v1/auth/providers/{name}/start", follow_redirects=False)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


def _finish(site: Site, callback_url: str, ok: bool) -> None:
    response = site.client.get(callback_url, follow_redirects=False)
    assert response.status_code == 303
    assert (response.headers["location"] == "/me") is ok, response.headers["location"]
    site.client.cookies.clear()


def _refused(url: str) -> str:
    """The callback URL as a platform sends it back when the user declines."""
    parts = urlsplit(url)
    state = parse_qs(parts.query)["state"][0]
    return f"{parts.scheme}://{parts.netloc}{parts.path}?error=access_denied&state={state}"


def demo_callback(site: Site, ok: bool) -> None:
    page_url = _start(site, "demo")
    query = {k: v[0] for k, v in parse_qs(urlsplit(page_url).query).items()}
    provider: Any = site.client.app.state["bloodcert"].providers["demo"]
    code = provider.issue_code(
        "resident_id",
        WANG_FANG["id_number"],
        "王芳",
        redirect_uri=query["redirect_uri"],
        code_challenge=query["code_challenge"],
    )
    url = f"/api/v1/auth/providers/demo/callback?code={code}&state={query['state']}"
    _finish(site, url if ok else _refused(BASE + url), ok)


def alipay_callback(site: Site, ok: bool) -> None:
    back = site.platforms.alipay.consent(_start(site, "alipay"), "2088102104794936")
    _finish(site, back if ok else _refused(back), ok)


def wechat_callback(site: Site, ok: bool) -> None:
    # WeChat's web login discloses no ID: it reaches a donor through the link the mini-program made.
    mini_program(site, True)
    back = site.platforms.wechat.consent(_start(site, "wechat"), "wang")
    _finish(site, back if ok else _refused(back), ok)


def baidu_callback(site: Site, ok: bool) -> None:
    face_page = _start(site, "baidu")
    back = site.platforms.baidu.consent(site.platforms.baidu.verify_face(face_page, "wangfang"), "wangfang")
    _finish(site, back if ok else _refused(back), ok)


CALLBACKS: dict[str, Callable[[Site, bool], None]] = {
    "demo": demo_callback,
    "alipay": alipay_callback,
    "wechat": wechat_callback,
    "baidu": baidu_callback,
}
LOGINS: dict[tuple[str, str], Callable[[Site, bool], None]] = {
    ("POST", "/api/v1/auth/login"): api_login,
    ("POST", "/"): page_login,
    ("POST", "/api/v1/auth/providers/wechat/miniprogram"): mini_program,
    ("POST", "/console/login"): console_login,
}
CALLBACK_ROUTE = ("GET", "/api/v1/auth/providers/{name:str}/callback")


# ---- the tests -------------------------------------------------------------------------------------------


def test_every_login_route_of_the_app_has_an_audit_scenario(site: Site) -> None:
    speaking = {
        (e.method, e.path)
        for e in endpoints(site.client.app)
        if SPEAKS_OF_LOGIN.search(e.path) and e.method != "OPTIONS"
    }
    assert speaking == set(LOGINS) | {CALLBACK_ROUTE} | NOT_LOGINS | LOGOUTS
    assert set(site.client.app.state["bloodcert"].providers) == set(CALLBACKS)


@pytest.mark.parametrize("route", sorted(LOGINS), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_login_route_writes_one_entry_for_a_success_and_one_for_a_failure(
    site: Site, route: tuple[str, str]
) -> None:
    actor, outcome, _ = one_more_entry(site, lambda: LOGINS[route](site, False))
    assert outcome != "ok"
    actor, outcome, _ = one_more_entry(site, lambda: LOGINS[route](site, True))
    assert outcome == "ok" and "anonymous" not in actor and "unknown" not in actor


@pytest.mark.parametrize("name", sorted(CALLBACKS))
def test_each_platform_callback_writes_one_entry_for_a_success_and_one_for_a_failure(
    site: Site, name: str
) -> None:
    before = len(entries(site.db, LOGIN_ACTIONS))
    CALLBACKS[name](site, False)
    CALLBACKS[name](site, True)
    written = entries(site.db, LOGIN_ACTIONS)[before:]
    if name == "wechat":
        written = [w for w in written if w[2] != "wechat_mini"]  # its scenario links through the mini-program
    assert [(w[1] == "ok", w[2]) for w in written] == [(False, name), (True, name)], written


def test_each_logout_writes_one_entry(site: Site) -> None:
    token = site.client.post(
        "/api/v1/auth/login",
        json={**{k: WANG_FANG[k] for k in ("id_type", "id_number", "name")}, "donation_no": "W1"},
    ).json()["access_token"]
    site.client.cookies.clear()
    logout = lambda: site.client.post(  # noqa: E731
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    actor, outcome, _ = one_more_entry(site, logout, LOGOUT_ACTIONS)
    assert (actor.startswith("donor:session:"), outcome) == (True, "ok")
