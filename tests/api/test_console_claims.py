"""Claims and relatives in the console: each station's queue with its filters, the documents, decisions with
their reasons, and the volumes; an operator of another station sees none of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bloodcert.config import Settings
from bloodcert.services import claims as svc
from bloodcert.services.certificates import Signing
from bloodcert.storage.tables import audit_log
from bloodcert.storage.uow import Database
from tests.api.claims_helpers import PDF, claim_part, image, register_relative, two_provinces
from tests.api.console_helpers import SECURE_BASE, as_staff, csrf_token, secure_client
from tests.factories import WANG_FANG, create_staff, create_station, staff_session


@pytest.fixture
def client(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    """王芳's claim of 1,200 元 split between Jiangsu (32000001) and Zhejiang (33000001), with a PNG bill."""
    two_provinces(db, signing)
    create_station(db, "31000001", region="310000")
    with secure_client(settings, db) as test_client:
        body = {k: WANG_FANG[k] for k in ("id_type", "id_number", "name")} | {"donation_no": "Z1"}
        token = test_client.post("/api/v1/auth/login", json=body).json()["access_token"]
        me = {"Authorization": f"Bearer {token}"}
        import json

        files = [
            ("claim", (None, json.dumps(claim_part(), ensure_ascii=False), "application/json")),
            ("invoice", ("invoice.pdf", PDF, "application/pdf")),
            ("itemised_bill", ("bill.png", image("PNG"), "image/png")),
        ]
        assert test_client.post(SECURE_BASE + "/api/v1/me/claims", headers=me, files=files).status_code == 201
        assert register_relative(test_client, me).status_code == 201
        test_client.headers.pop("Authorization", None)
        yield test_client


def sign_in(client: Any, db: Database, username: str, role: str, station: str | None = None) -> str:
    as_staff(client, staff_session(db, create_staff(db, username, role, station)))
    return csrf_token(client, "/console")


def test_an_operator_reviews_their_share_with_the_documents_and_decides_with_a_reason(
    client: Any, db: Database
) -> None:
    csrf = sign_in(client, db, "olga", "station_operator", "32000001")
    queue = client.get("/console/claims")
    assert queue.status_code == 200
    claim_id = re.search(r'data-claim="(cl_[0-9a-f]+)"', queue.text)[1]  # type: ignore[index]
    page = client.get(f"/console/claims/{claim_id}")
    assert "上海市某民营医院" in page.text and "decision-form" in page.text
    tokens = re.findall(r'/console/claims/documents/([\w-]+)"', page.text)
    assert client.get(f"/console/claims/documents/{tokens[0]}").status_code == 200
    refused = client.post(
        f"/console/claims/{claim_id}/decision",
        data={"_csrf_token": csrf, "decision": "reject", "message": ""},
    )
    assert "message: give the reason" in refused.text
    done = client.post(
        f"/console/claims/{claim_id}/decision",
        data={"_csrf_token": csrf, "decision": "approve", "message": "", "payout_reference": "TX-77"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "TX-77" in done.text and "审核中" in done.text  # Zhejiang's share still waits
    assert "data-claim" not in client.get("/console/claims?status=submitted").text
    with db.reading() as uow:
        reads = uow.conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == "read:document")
        ).scalar_one()
    assert reads == 1


def test_an_operator_of_another_station_sees_nothing_and_an_administrator_decides_nothing(
    client: Any, db: Database
) -> None:
    sign_in(client, db, "ada", "national_admin")
    queue = client.get("/console/claims?station=33000001")
    claim_id = re.search(r'data-claim="(cl_[0-9a-f]+)"', queue.text)[1]  # type: ignore[index]
    page = client.get(f"/console/claims/{claim_id}").text
    assert "decision-form" not in page and "/console/claims/documents/" not in page
    csrf = csrf_token(client, "/console")
    assert client.post(f"/console/claims/{claim_id}/decision", data={"_csrf_token": csrf}).status_code == 403
    sign_in(client, db, "oscar", "station_operator", "31000001")
    assert "data-claim" not in client.get("/console/claims").text
    assert client.get(f"/console/claims/{claim_id}").status_code == 404


def test_overdue_claims_are_filtered_and_the_volumes_count_each_station(
    client: Any, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(client, db, "ada", "national_admin")
    assert "data-claim" not in client.get("/console/claims?overdue=1").text
    later = svc.now() + timedelta(days=30)
    monkeypatch.setattr(svc, "now", lambda: later)
    overdue = client.get("/console/claims?overdue=1&lang=en")
    assert overdue.text.count("data-claim") == 2 and "Overdue" in overdue.text
    jiangsu = client.get("/console/claims?overdue=1&province=32")  # following one province's escalations
    assert jiangsu.text.count("data-claim") == 1 and ">32000001<" in jiangsu.text
    volumes = client.get("/console/claims-volumes")
    assert volumes.status_code == 200
    assert "32000001" in volumes.text and "33000001" in volumes.text and "National" in volumes.text


def test_an_operator_approves_a_relatives_registration(client: Any, db: Database) -> None:
    csrf = sign_in(client, db, "olga", "station_operator", "32000001")
    queue = client.get("/console/relatives")
    assert "王建国" in queue.text and "330***********0015" in queue.text
    relative_id = re.search(r'data-relative="(rel_[0-9a-f]+)"', queue.text)[1]  # type: ignore[index]
    done = client.post(
        f"/console/relatives/{relative_id}/decision",
        data={"_csrf_token": csrf, "decision": "approve", "message": ""},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "王建国" in client.get("/console/relatives?status=approved").text


def test_a_provincial_administrator_follows_the_shares_of_their_province_and_decides_none(
    client: Any, db: Database
) -> None:
    as_staff(client, staff_session(db, create_staff(db, "petra", "provincial_admin", province="33")))
    queue = client.get("/console/claims")
    assert queue.status_code == 200
    assert "33000001" in queue.text and "32000001" not in queue.text  # Zhejiang's share, not Jiangsu's
    claim_id = re.search(r'data-claim="(cl_[0-9a-f]+)"', queue.text)[1]  # type: ignore[index]
    page = client.get(f"/console/claims/{claim_id}")
    assert page.status_code == 200 and "decision-form" not in page.text
    assert client.get("/console/claims?station=32000001").status_code == 403  # another province's station
    as_staff(client, staff_session(db, create_staff(db, "pete", "provincial_admin", province="31")))
    assert 'data-claim="' not in client.get("/console/claims").text  # Shanghai's stations pay no share
    assert client.get(f"/console/claims/{claim_id}").status_code == 404
