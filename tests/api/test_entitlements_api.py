"""The donor's side of waivers: /api/v1/me/entitlements and the 用血权益 page, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.hospital_helpers import (
    CLAIM,
    LI_LEI,
    HospitalKey,
    create_hospital,
    donation,
    post,
    report,
    waiver_body,
)
from tests.factories import create_station

URL = BASE + "/api/v1/me/entitlements"


@pytest.fixture
def hospital(db: Database, signing: Signing) -> HospitalKey:
    """王芳 with one 200 ml donation in Zhejiang and one in Beijing (no table there); 李雷 with one in Jiangsu."""
    report(db, signing, create_station(db, "33000001", region="330000"), donation("Z1"))
    report(
        db,
        signing,
        create_station(db, "11000001", region="110000"),
        donation("B1", donated_at="2023-01-01T09:00:00+08:00"),
    )
    report(db, signing, create_station(db, "32000001", region="320000"), donation("J1", donor=LI_LEI))
    return create_hospital(db)


def log_in(client: Any, donation_no: str = "Z1", donor: dict[str, Any] | None = None) -> dict[str, str]:
    from tests.factories import WANG_FANG

    who = donor or WANG_FANG
    body = {
        "id_type": who["id_type"],
        "id_number": who["id_number"],
        "name": who["name"],
        "donation_no": donation_no,
    }
    response = client.post(BASE + "/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_donor_sees_each_provinces_pools_and_every_waiver_drawn(client: Any, hospital: HospitalKey) -> None:
    post(client, hospital, CLAIM, waiver_body())
    post(
        client,
        hospital,
        CLAIM,
        waiver_body("R", patient=LI_LEI, relationship="parent", proof="household_register"),
    )
    response = client.get(URL, headers=log_in(client))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    [zhejiang] = body["provinces"]
    assert (zhejiang["province"], zhejiang["rule"]) == ("33", "33@2020-01-01")
    assert zhejiang["relatives_covered"] == ["spouse", "parent", "child"]
    pools = {p["pool"]: p for p in zhejiang["pools"]}
    assert (pools["self"]["entitled"], pools["self"]["drawn"], pools["self"]["remaining"]) == (1000, 400, 600)
    assert (pools["relatives"]["entitled"], pools["relatives"]["remaining"]) == (400, 0)
    assert sorted((w["pool"], w["hospital"], w["waived_ml"]) for w in body["waivers"]) == [
        ("relatives", "测试医院H3301001", 400),
        ("self", "测试医院H3301001", 400),
    ]


def test_a_second_donor_sees_only_their_own(client: Any, hospital: HospitalKey) -> None:
    post(client, hospital, CLAIM, waiver_body())
    body = client.get(URL, headers=log_in(client, "J1", LI_LEI)).json()
    assert [p["province"] for p in body["provinces"]] == ["32"]
    assert body["waivers"] == []


def test_without_a_session_it_is_401(client: Any, hospital: HospitalKey) -> None:
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("lang", "words"),
    [("zh", ["用血权益", "本人", "亲属（共享）", "剩余"]), ("en", ["Blood-fee waiver", "For you", "Left"])],
)
def test_the_page_is_linked_from_the_history_in_both_languages(
    client: Any, hospital: HospitalKey, lang: str, words: list[str]
) -> None:
    post(client, hospital, CLAIM, waiver_body())
    auth = log_in(client)
    history = client.get(BASE + f"/me?lang={lang}", headers=auth)
    assert 'href="/me/entitlements"' in history.text
    page = client.get(BASE + f"/me/entitlements?lang={lang}", headers=auth)
    assert page.status_code == 200
    for word in words:
        assert word in page.text
    assert "测试医院H3301001" in page.text
