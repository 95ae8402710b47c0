"""The relatives and claims pages without JavaScript, in both languages: register a relative, quote and
file a claim with its documents, see the timeline, answer a request for more."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services import claims as svc
from bloodcert.services import relatives as rel
from bloodcert.services.certificates import Signing
from bloodcert.services.relatives import Actor
from bloodcert.storage.uow import Database
from bloodcert.web.auth import SESSION_COOKIE
from tests.api.claims_helpers import FATHER, PDF, image, two_provinces
from tests.api.console_helpers import SECURE_BASE, csrf_token, secure_client
from tests.api.hospital_helpers import post
from tests.factories import StationKey

FORM = {
    "beneficiary": "self",
    "hospital_code": "",
    "hospital_name": "上海市某民营医院",
    "hospital_region": "310104",
    "invoice_no": "P-1",
    "transfused_at": "2025-06-01",
    "component": "red_cells",
    "volume_ml": "400",
    "units": "",
    "amount_yuan": "520.00",
}


@pytest.fixture
def web(settings: Settings, db: Database, signing: Signing) -> Iterator[tuple[Any, StationKey]]:
    _, jiangsu = two_provinces(db, signing)  # a 400 ml bill is all Jiangsu's (its pool is drawn first)
    with secure_client(settings, db) as client:
        body = {k: FATHER[k] for k in ("id_type",)} | {
            "id_type": "resident_id",
            "id_number": "330106199001011221",
            "name": "王芳",
            "donation_no": "Z1",
        }
        client.cookies.set(
            SESSION_COOKIE, client.post("/api/v1/auth/login", json=body).json()["access_token"]
        )
        yield client, jiangsu


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_donor_registers_a_relative_from_the_page_and_answers_a_request_for_more(
    web: tuple[Any, StationKey], db: Database
) -> None:
    client, _ = web
    token = csrf_token(client, "/me/relatives")
    fields = {
        "_csrf_token": token,
        **{k: FATHER[k] for k in ("name", "id_type", "id_number", "relationship")},
    }
    done = client.post(
        "/me/relatives",
        data=fields,
        files={"proof": ("hukou.pdf", PDF, "application/pdf")},
        follow_redirects=True,
    )
    assert done.status_code == 200, done.text
    assert "王建国" in text(done.text) and "审核中" in text(done.text) and "330***********0015" in done.text
    en = client.get("/me/relatives?lang=en")
    assert "Under review" in text(en.text)
    bad = client.post(
        "/me/relatives", data=fields, files={"proof": ("hukou.pdf", b"not a pdf", "application/pdf")}
    )
    assert "Files must be PDF, JPEG or PNG" in text(bad.text)  # the language chosen stays
    relative_id = re.search(r'data-id="(rel_[0-9a-f]+)"', en.text)[1]  # type: ignore[index]
    with db.transaction() as uow:
        who = Actor("station:32000001", None, b"", b"", svc.now())
        rel.decide(uow, who, None, relative_id, "need_info", "户口簿页面不清楚")
    asked = client.get("/me/relatives")
    assert "More needed" in text(asked.text) and "户口簿页面不清楚" in text(asked.text)
    answered = client.post(
        f"/me/relatives/{relative_id}/answer",
        data={"_csrf_token": token, "message": "已重新拍照"},
        files={"proof": ("hukou.jpg", image("JPEG"), "image/jpeg")},
        follow_redirects=True,
    )
    assert "Under review" in text(answered.text)
    assert answered.text.count("/api/v1/me/documents/") == 2


def test_a_donor_quotes_files_and_answers_a_claim_from_the_pages(web: tuple[Any, StationKey]) -> None:
    client, station = web
    token = csrf_token(client, "/me/claims/new")
    quoted = client.post("/me/claims/new", data={"_csrf_token": token, "action": "quote", **FORM})
    assert quoted.status_code == 200
    assert "预计可报销 520.00 元（400 毫升）" in text(quoted.text)
    files = {
        "invoice": ("invoice.pdf", PDF, "application/pdf"),
        "itemised_bill": ("bill.png", image("PNG"), "image/png"),
    }
    filed = client.post(
        "/me/claims/new",
        data={"_csrf_token": token, "action": "file", **FORM},
        files=files,
        follow_redirects=True,
    )
    assert filed.status_code == 200, filed.text
    assert "已提交" in text(filed.text) and "办结期限" in text(filed.text)
    claim_id = re.search(r'data-id="(cl_[0-9a-f]+)"', filed.text)[1]  # type: ignore[index]
    decided = post(client, station, f"{SECURE_BASE}/api/v1/station/claims/{claim_id}/decision",
                   {"decision": "need_info", "message": "请补充输血记录"})  # fmt: skip
    assert decided.status_code == 200, decided.text
    asked = client.get("/me/claims?lang=en")
    assert "More needed" in text(asked.text) and "请补充输血记录" in text(asked.text)
    answered = client.post(
        f"/me/claims/{claim_id}/answer",
        data={"_csrf_token": token, "message": "已补充"},
        files={"other": ("", b"", "application/octet-stream")},
        follow_redirects=True,
    )
    assert answered.status_code == 200
    assert "You answered: 已补充" in text(answered.text)
    again = client.post("/me/claims/new", data={"_csrf_token": token, "action": "file", **FORM}, files=files)
    assert "This invoice was already waived or claimed" in text(again.text)
