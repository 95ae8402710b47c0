"""The inbox and message settings pages: a new record is in the inbox with a report link, settings are
saved from the form, a malformed number is refused, and another donor sees none of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from bloodcert.web.auth import SESSION_COOKIE
from tests.api.console_helpers import csrf_token, secure_client
from tests.api.test_donor_api import login_body, seed
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY
from tests.factories import LI_LEI, create_station, make_record


@pytest.fixture
def web(sqlite_db: Database, signing: Signing, tmp_path: Path) -> Iterator[Any]:
    settings = Settings(
        database_url=sqlite_db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
        audit_mode="sync",
    )
    with secure_client(settings, sqlite_db) as client:
        create_station(sqlite_db)
        seed(sqlite_db, signing, [make_record(donation_no="W1", donated_at="2026-11-29T09:00:00+08:00")])
        seed(sqlite_db, signing, [make_record(donation_no="L1", donor=LI_LEI)])
        yield client


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _log_in(web: Any, **who: Any) -> None:
    token = web.post("/api/v1/auth/login", json=login_body(**who)).json()["access_token"]
    web.cookies.set(SESSION_COOKIE, token)


def test_a_new_record_is_in_the_inbox_with_a_way_to_report_it(web: Any) -> None:
    _log_in(web)
    page = web.get("/me/inbox?lang=en")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "A new donation on your record" in text(page.text) and "29 November" not in page.text
    assert 'href="/me/corrections"' in page.text and "Not my donation?" in text(page.text)
    token = csrf_token(web, "/me/inbox")
    web.post("/me/inbox/read", data={"_csrf_token": token})
    assert 'data-unread="0"' in web.get("/me/inbox").text


def test_the_settings_form_saves_channels_number_and_home(web: Any) -> None:
    _log_in(web)
    form = {
        "_csrf_token": csrf_token(web, "/me/notifications"),
        "c_record_inbox": "on",
        "c_record_sms": "on",
        "c_callup_sms": "on",
        "phone": "138 0013 8000",
        "home_region": "330100",
    }
    saved = web.post("/me/notifications", data=form, follow_redirects=True)
    assert saved.status_code == 200 and "已保存" in text(saved.text)
    assert 'name="c_callup_sms" value="on" checked' in saved.text
    assert 'name="c_eligible_inbox" value="on">' in saved.text  # unticked now
    assert 'value="13800138000"' in saved.text and 'value="330100" selected' in saved.text


def test_a_malformed_number_is_refused_with_the_reason(web: Any) -> None:
    _log_in(web)
    form = {"_csrf_token": csrf_token(web, "/me/notifications"), "phone": "12345"}
    refused = web.post("/me/notifications?lang=en", data=form)
    assert refused.status_code == 200 and "11-digit mobile number" in text(refused.text)


def test_another_donor_sees_only_their_own_messages(web: Any) -> None:
    _log_in(web, donor=LI_LEI, donation_no="L1")
    inbox = text(web.get("/me/inbox?lang=en").text)
    assert inbox.count("A new donation on your record") == 1
    wang = re.findall(r'name="id" value="(\d+)"', web.get("/me/inbox").text)
    _log_in(web)
    mine = re.findall(r'name="id" value="(\d+)"', web.get("/me/inbox").text)
    assert mine and set(mine).isdisjoint(wang)


def test_the_survey_link_in_the_inbox_takes_one_answer(web: Any) -> None:
    _log_in(web)
    link = re.search(r'href="(/survey/[A-Za-z0-9_-]+)"', web.get("/me/inbox").text)[1]  # type: ignore[index]
    web.cookies.clear()  # the link works without a login, as from an SMS
    form = web.get(link + "?lang=en")
    assert "How satisfied are you with your donation at 测试血站33000001?" in text(form.text)
    answer = {"_csrf_token": csrf_token(web, link), "score": "5", "comment": "很好"}
    assert "Thank you for your answer!" in text(web.post(link + "?lang=en", data=answer).text)
    again = web.post(link + "?lang=en", data=answer)
    assert again.status_code == 410 and "already been answered" in text(again.text)
    assert web.get(link).status_code == 410


def _bearer(web: Any, **who: Any) -> dict[str, str]:
    token = web.post("/api/v1/auth/login", json=login_body(**who)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_api_lists_my_messages_and_marks_one_read(web: Any) -> None:
    me = _bearer(web)
    listed = web.get("/api/v1/me/notifications?lang=en", headers=me)
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    body = listed.json()
    assert body["unread"] == 2 and {m["topic"] for m in body["notifications"]} == {"record", "survey"}
    first = body["notifications"][0]["id"]
    assert (
        web.post(
            f"/api/v1/me/notifications/{first}/read", headers=_bearer(web, donor=LI_LEI, donation_no="L1")
        ).status_code
        == 204
    )
    assert web.get("/api/v1/me/notifications", headers=me).json()["unread"] == 2  # another donor cannot
    web.post(f"/api/v1/me/notifications/{first}/read", headers=me)
    assert web.get("/api/v1/me/notifications", headers=me).json()["unread"] == 1
    web.cookies.clear()  # the logins set session cookies too
    assert web.get("/api/v1/me/notifications").status_code == 401


def test_the_api_replaces_my_preferences_and_masks_my_number(web: Any) -> None:
    me = _bearer(web)
    wanted = {
        "choices": {"callup": ["inbox", "sms"], "survey": []},
        "phone": "13800138000",
        "home_region": "330100",
    }
    saved = web.put("/api/v1/me/notifications/preferences", json=wanted, headers=me)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["phone_masked"] == "138****8000" and body["home_region"] == "330100"
    assert body["choices"]["callup"] == ["inbox", "sms"] and body["choices"]["survey"] == []
    assert body["choices"]["security"] == ["inbox"] and body["choices"]["record"] == ["inbox"]
    assert body["linked"] == {"wechat": False, "alipay": False}
    assert web.get("/api/v1/me/notifications/preferences", headers=me).json() == body
    bad = web.put(
        "/api/v1/me/notifications/preferences",
        json={**wanted, "phone": "123", "home_region": "999999"},
        headers=me,
    )
    assert bad.status_code == 400 and {e["field"] for e in bad.json()["errors"]} == {"phone", "home_region"}
    unknown = web.put(
        "/api/v1/me/notifications/preferences", json={"choices": {"record": ["pigeon"]}}, headers=me
    )
    assert unknown.status_code == 400


def test_registering_wechat_needs_the_channel_configured(web: Any) -> None:
    refused = web.post("/api/v1/me/notifications/wechat", json={"js_code": "abc"}, headers=_bearer(web))
    assert refused.status_code == 409 and refused.json()["type"].endswith("channel_unavailable")
