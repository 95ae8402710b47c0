"""A station's sites in the console: add a site with hours, set a day's slots, see the day's bookings and
mark attendance; the health-check answers reach the station's own operator only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.console_helpers import as_staff, csrf_token, secure_client
from tests.api.test_donor_api import login_body, seed
from tests.api.test_health_check_api import TODAY
from tests.factories import create_staff, create_station, make_record, staff_session

SITES = "/console/stations/33000001/sites"
HOUSE = {
    "site_code": "WL01",
    "name": "武林广场献血屋",
    "type": "fixed",
    "region": "330105",
    "lat": "30.2741",
    "lon": "120.1650",
    "address": "杭州市拱墅区武林广场1号",
    "hours": "\n".join(f"{d} 08:30-17:00" for d in range(1, 8)),
    "schedule": "",
}


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def console(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    create_station(db, "33000001", region="330000")
    create_station(db, "31000001", region="310000")
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
    with secure_client(settings, db) as client:
        as_staff(client, staff_session(db, create_staff(db, "olga", "station_operator", "33000001")))
        yield client


def post(client: Any, path: str, form: dict[str, str], follow: bool = True) -> Any:
    return client.post(path, data={"_csrf_token": csrf_token(client, SITES)} | form, follow_redirects=follow)


def test_an_operator_adds_a_site_sets_slots_and_marks_a_donor_who_came(console: Any, db: Database) -> None:
    saved = post(console, SITES, HOUSE)
    assert saved.status_code == 200 and "献血点已保存" in text(saved.text)
    assert "武林广场献血屋" in text(console.get(SITES).text)
    site = f"{SITES}/WL01"
    slots = post(console, f"{site}/slots", {"date": TODAY.isoformat(), "slots": "09:00 2\n23:30 1"})
    assert "时段已保存" in text(slots.text) and "23:30" in slots.text
    site_id = console.get("/api/v1/sites").json()["sites"][0]["id"]
    slot_id = console.get(f"/api/v1/sites/{site_id}/slots", params={"date": TODAY.isoformat()}).json()[
        "slots"
    ][1]["id"]
    token = console.post("/api/v1/auth/login", json=login_body()).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    booked = console.post(
        "/api/v1/me/appointments", json={"slot_id": slot_id, "kind": "whole_blood"}, headers=auth
    )
    assert booked.status_code == 201
    day = console.get(f"{site}?date={TODAY.isoformat()}")
    assert (
        "王芳" in text(day.text) and "330***********1221" in day.text and "330106199001011221" not in day.text
    )
    marked = post(
        console, f"{site}/bookings/{booked.json()['id']}", {"date": TODAY.isoformat(), "status": "attended"}
    )
    assert "到场情况已登记" in text(marked.text)
    assert (
        console.get("/api/v1/me/appointments", headers=auth).json()["appointments"][0]["status"] == "attended"
    )


def test_an_invalid_site_comes_back_with_its_reasons(console: Any) -> None:
    refused = post(console, SITES, HOUSE | {"region": "339999", "hours": "8 09:00-10:00"})
    assert refused.status_code == 200
    assert "hours[0]" in text(refused.text)
    refused = post(console, SITES, HOUSE | {"region": "339999"})
    assert (
        "region" in text(refused.text) and "武林广场献血屋" in refused.text
    )  # the form keeps what was typed


def test_the_health_check_answers_reach_the_station_s_own_operator_only(
    console: Any, db: Database, settings: Settings
) -> None:
    post(console, SITES, HOUSE)
    token = console.post("/api/v1/auth/login", json=login_body()).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    site_id = console.get("/api/v1/sites").json()["sites"][0]["id"]
    questions = console.get("/api/v1/me/health-check", headers=auth).json()["questions"]
    answers = {q["id"]: q["id"] in {"feel_well", "rested_and_fed"} for q in questions} | {"medication": True}
    walked_in = console.post(
        "/api/v1/me/health-check", json={"site_id": site_id, "answers": answers}, headers=auth
    )
    assert walked_in.json()["outcome"] == "deferred"
    day = text(console.get(f"{SITES}/WL01?date={TODAY.isoformat()}").text)
    assert "暂缓献血" in day and "最近一周内服用过药物吗" in day
    as_staff(console, staff_session(db, create_staff(db, "ada", "national_admin")))
    admin = text(console.get(f"{SITES}/WL01?date={TODAY.isoformat()}").text)
    assert "健康征询的回答只对本站操作员可见" in admin and "服用过药物" not in admin
    as_staff(console, staff_session(db, create_staff(db, "oscar", "station_operator", "31000001")))
    assert console.get(f"{SITES}/WL01").status_code == 403
