"""Hospitals and waivers in the console: registering hospitals and keys, and what each station pays."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.services.stations import new_ed25519_key
from bloodcert.storage.uow import Database
from tests.api.console_helpers import as_staff, csrf_token, secure_client
from tests.api.hospital_helpers import CLAIM, create_hospital, donation, post, report, waiver_body
from tests.factories import create_staff, create_station, staff_session


@pytest.fixture
def client(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    """Two stations; 王芳 donated at 33000001 and the hospital H3301001 waived a bill for her."""
    report(db, signing, create_station(db, "33000001", region="330000"), donation("D1"))
    create_station(db, "31000001", region="310000")
    with secure_client(settings, db) as test_client:
        hospital = create_hospital(db)
        assert (
            post(test_client, hospital, CLAIM.replace("http://", "https://"), waiver_body()).status_code
            == 201
        )
        yield test_client


def sign_in(client: Any, db: Database, username: str, role: str, station: str | None = None) -> str:
    as_staff(client, staff_session(db, create_staff(db, username, role, station)))
    return csrf_token(client, "/console")


def test_an_administrator_registers_a_hospital_and_its_key(client: Any, db: Database) -> None:
    csrf = sign_in(client, db, "ada", "national_admin")
    added = client.post(
        "/console/hospitals",
        data={"_csrf_token": csrf, "code": "H4401001", "name": "广州某医院", "region": "440104"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    _private, public = new_ed25519_key()
    keyed = client.post(
        "/console/hospitals/H4401001/keys",
        data={"_csrf_token": csrf, "alg": "ed25519", "public_key_pem": public.decode()},
        follow_redirects=False,
    )
    assert keyed.status_code == 303
    key_id = keyed.headers["location"].split("key=")[1]
    assert key_id.startswith("hsk_")
    page = client.get("/console/hospitals")
    assert "广州某医院" in page.text
    assert key_id in page.text
    revoked = client.post(
        f"/console/hospitals/H4401001/keys/{key_id}/revoke",
        data={"_csrf_token": csrf},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    with db.reading() as uow:
        assert uow.hospitals.get_key(key_id).revoked_at is not None  # type: ignore[union-attr]


def test_the_national_view_counts_waivers_by_station_hospital_and_month_and_exports_csv(
    client: Any, db: Database
) -> None:
    sign_in(client, db, "audrey", "auditor")
    page = client.get("/console/waivers")
    assert page.status_code == 200
    assert "测试医院H3301001" in page.text
    exported = client.get("/console/waivers?format=csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0] == ["station", "hospital", "hospital_name", "month", "waivers", "waived_ml", "waived_fen"]
    assert rows[1][:3] == ["33000001", "H3301001", "测试医院H3301001"]
    assert rows[1][4:] == ["1", "400", "52000"]


def test_a_station_operator_sees_only_their_own_stations_waivers(client: Any, db: Database) -> None:
    sign_in(client, db, "olga", "station_operator", "33000001")
    assert "测试医院H3301001" in client.get("/console/stations/33000001/waivers").text
    assert client.get("/console/stations/31000001/waivers").status_code == 403
    assert client.get("/console/waivers").status_code == 403
    assert client.get("/console/hospitals").status_code == 403
    sign_in(client, db, "oscar", "station_operator", "31000001")
    body = client.get("/console/stations/31000001/waivers?format=csv").text.lstrip("\ufeff")
    assert len(body.strip().splitlines()) == 1  # the header only
