"""The site pages without JavaScript: find a site by province, open it, book a slot, see and cancel it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from bloodcert.web.auth import SESSION_COOKIE
from tests.api.console_helpers import csrf_token, secure_client
from tests.api.test_donor_api import login_body, seed
from tests.api.test_sites_api import TOMORROW, put_site, put_slots
from tests.factories import create_station, make_record


@pytest.fixture
def web(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    with secure_client(settings, db) as client:
        key = create_station(db)
        put_site(client, key, "WL01")
        put_slots(client, key, "WL01", [{"starts_at": "09:00", "capacity": 1}])
        seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
        yield client


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_finder_lists_a_province_s_sites_in_both_languages(web: Any) -> None:
    zh = web.get("/sites", params={"region": "33", "open_on": TOMORROW.isoformat(), "near": "30.19,120.26"})
    assert zh.status_code == 200
    assert "武林广场献血屋" in text(zh.text) and "公里" in text(zh.text)
    en = web.get("/sites", params={"region": "11", "lang": "en"})
    assert "No site matches." in text(en.text)


def test_a_donor_books_a_slot_from_the_site_page_and_cancels_it(web: Any) -> None:
    token = web.post("/api/v1/auth/login", json=login_body()).json()["access_token"]
    web.cookies.set(SESSION_COOKIE, token)
    site_id = re.search(r'href="/sites/(\d+)\?', web.get("/sites").text)[1]  # type: ignore[index]
    path = f"/sites/{site_id}?date={TOMORROW.isoformat()}"
    token_value = csrf_token(web, path)
    slot_id = re.search(r'name="slot_id" value="(\d+)"', web.get(path).text)[1]  # type: ignore[index]
    form = {
        "_csrf_token": token_value,
        "slot_id": slot_id,
        "kind": "whole_blood",
        "date": TOMORROW.isoformat(),
    }
    booked = web.post(f"/sites/{site_id}/book", data=form, follow_redirects=True)
    assert booked.status_code == 200
    assert "武林广场献血屋" in text(booked.text) and "已预约" in text(booked.text)
    assert "已约满" in text(web.get(path).text)
    cancel = re.search(r'action="(/me/appointments/\d+/cancel)"', booked.text)[1]  # type: ignore[index]
    after = web.post(cancel, data={"_csrf_token": csrf_token(web, "/me/appointments")}, follow_redirects=True)
    assert "已取消" in text(after.text)


def test_a_second_booking_is_refused_on_the_page_with_the_reason(web: Any) -> None:
    token = web.post("/api/v1/auth/login", json=login_body()).json()["access_token"]
    web.cookies.set(SESSION_COOKIE, token)
    site_id = re.search(r'href="/sites/(\d+)\?', web.get("/sites").text)[1]  # type: ignore[index]
    path = f"/sites/{site_id}?date={TOMORROW.isoformat()}&lang=en"
    slot_id = re.search(r'name="slot_id" value="(\d+)"', web.get(path).text)[1]  # type: ignore[index]
    form = {"_csrf_token": csrf_token(web, path), "slot_id": slot_id, "kind": "whole_blood"}
    web.post(f"/sites/{site_id}/book", data=form)
    again = web.post(f"/sites/{site_id}/book", data=form)
    assert again.status_code == 200
    assert "You already have an upcoming booking" in text(again.text)
