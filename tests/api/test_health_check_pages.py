"""The health check as pages without JavaScript: answer for today's booking, a deferral explained kindly,
and the pass full screen; in both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from bloodcert.web.auth import SESSION_COOKIE
from tests.api.console_helpers import csrf_token, secure_client
from tests.api.test_donor_api import login_body, seed
from tests.api.test_health_check_api import TODAY
from tests.api.test_sites_api import put_site, put_slots
from tests.factories import create_station, make_record


@pytest.fixture
def web(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    """王芳, logged in, with a booking at 武林广场献血屋 today."""
    with secure_client(settings, db) as client:
        key = create_station(db)
        put_site(client, key, "WL01")
        [slot] = put_slots(client, key, "WL01", [{"starts_at": "23:30", "capacity": 2}], day=TODAY).json()[
            "slots"
        ]
        seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
        token = client.post("/api/v1/auth/login", json=login_body()).json()["access_token"]
        booked = client.post(
            "/api/v1/me/appointments",
            json={"slot_id": slot["id"], "kind": "whole_blood"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert booked.status_code == 201
        client.cookies.set(SESSION_COOKIE, token)
        yield client


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def form_of(web: Any, path: str = "/me/health-check", **changes: str) -> dict[str, str]:
    """The health check form as a donor with nothing to declare fills it in, with `changes`."""
    html = web.get(path).text
    form = {"_csrf_token": csrf_token(web, path)}
    form |= dict(re.findall(r'type="hidden" name="((?:appointment|site)_id)" value="(\d+)"', html))
    for question in dict.fromkeys(re.findall(r'name="q_([a-z_0-9]+)"', html)):
        form[f"q_{question}"] = "yes" if question in {"feel_well", "rested_and_fed"} else "no"
    return form | changes


def test_the_booking_page_leads_to_the_questions_and_a_clear_check_shows_the_pass(web: Any) -> None:
    assert 'href="/me/health-check"' in web.get("/me/appointments").text
    questions = web.get("/me/health-check")
    assert "您今天身体健康" in text(questions.text) and "武林广场献血屋" in text(questions.text)
    done = web.post("/me/health-check", data=form_of(web), follow_redirects=True)
    assert done.status_code == 200 and done.url.path == "/me/health-check/pass"
    assert "<svg" in done.text and "献血通行码" in text(done.text) and "王*" in text(done.text)
    assert "Do you feel healthy and well today?" in text(web.get("/me/health-check?lang=en").text)
    assert "Donation pass" in text(web.get("/me/health-check/pass").text)


def test_a_deferral_is_explained_with_the_day_to_come_back(web: Any) -> None:
    deferred = web.post("/me/health-check", data=form_of(web, q_infection="yes"))
    assert deferred.status_code == 200
    assert 'data-outcome="deferred"' in deferred.text
    assert "感冒、肠胃炎等痊愈满一周后才能献血" in text(deferred.text)
    assert f'data-come-back="{(TODAY + timedelta(days=7)).isoformat()}"' in deferred.text
    assert "今天还没有有效的献血通行码" in text(web.get("/me/health-check/pass").text)


def test_an_unanswered_question_brings_the_form_back_with_the_reason(web: Any) -> None:
    form = form_of(web)
    del form["q_medication"]
    again = web.post("/me/health-check", data=form | {"q_medication": "maybe"})
    assert again.status_code == 200 and "请回答每一个问题" in text(again.text)
