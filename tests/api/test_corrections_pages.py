"""The donor's correction pages over HTTP: a wrong record filed from a donation's link, a form that comes
back with its reasons, and a station's question answered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services import corrections
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.console_helpers import SECURE_BASE, secure_client
from tests.api.test_donor_api import login_body, seed
from tests.factories import create_station, make_record

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
def client(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    create_station(db, "33000001", region="330000")
    seed(db, signing, [make_record(donation_no="W1")])
    with secure_client(settings, db) as test_client:
        assert test_client.post("/api/v1/auth/login", json=login_body()).status_code == 200
        yield test_client


def test_a_donor_files_a_wrong_record_from_the_donation_and_sees_it_listed(client: Any, db: Database) -> None:
    history = client.get("/me").text
    assert "/me/corrections?donation_no=W1#wrong" in history
    form = client.get("/me/corrections?donation_no=W1")
    assert form.status_code == 200 and '<option value="W1" selected>' in form.text
    csrf = CSRF.search(form.text)
    assert csrf
    data = {"_csrf_token": csrf[1], "kind": "wrong_record", "donation_no": "W1", "field": "volume_ml"}
    incomplete = client.post("/me/corrections", data={**data, "message": ""})
    assert incomplete.status_code == 400 and "说明" in incomplete.text
    filed = client.post("/me/corrections", data={**data, "proposed": "300", "message": "是 300 毫升"})
    assert filed.status_code == 200 and str(filed.url) == SECURE_BASE + "/me/corrections?done=filed"
    assert "申请已提交" in filed.text and "是 300 毫升" in filed.text and "处理中" in filed.text


def test_a_donor_answers_a_station_s_question_on_the_page(client: Any, db: Database) -> None:
    page = client.get("/me/corrections")
    csrf = CSRF.search(page.text)
    assert csrf
    form = {"_csrf_token": csrf[1], "kind": "missing_donation", "donated_on": "2019-06-01"}
    client.post("/me/corrections", data={**form, "station_code": "33000001", "message": "缺一次"})
    with db.transaction() as uow:
        [filed] = corrections.of_province(uow, "33", "open")
        request = filed.row
        actor = corrections.Actor("station", "station:33000001", None, b"")
        corrections.answer(
            uow,
            request,
            action="need_info",
            message="请提供献血证号",
            donation_no=None,
            actor=actor,
            now=datetime.now(UTC),
        )
    page = client.get("/me/corrections")
    assert "需要您补充信息" in page.text and "请提供献血证号" in page.text
    reply = client.post(
        f"/me/corrections/{request.id}/reply", data={"_csrf_token": csrf[1], "message": "证号 123"}
    )
    assert reply.status_code == 200 and "已补充说明" in reply.text


def test_a_back_fill_form_carries_a_photo_of_the_paper_certificate(client: Any, db: Database) -> None:
    page = client.get("/me/corrections")
    csrf = CSRF.search(page.text)
    assert csrf and 'enctype="multipart/form-data"' in page.text
    form = {"_csrf_token": csrf[1], "kind": "missing_donation", "donated_on": "2019-06-01"}
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 200
    done = client.post(
        "/me/corrections",
        data={**form, "station_code": "33000001", "message": "附献血证"},
        files={"photo": ("card.png", png, "image/png")},
    )
    assert done.status_code == 200 and "已附纸质献血证照片" in done.text
    with db.reading() as uow:
        [request] = corrections.of_province(uow, "33", "open")
        assert corrections.photo(uow, request.row) == ("image/png", png)
    wrong = client.post(
        "/me/corrections",
        data={**form, "station_code": "33000001", "message": "x"},
        files={"photo": ("card.gif", b"GIF89a" + b"\x00" * 20, "image/gif")},
    )
    assert wrong.status_code == 400 and "照片" in wrong.text
