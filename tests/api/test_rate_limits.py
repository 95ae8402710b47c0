"""Abuse limits: per client on login, captcha and verify, per client and key on the station API; 429s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.factories import create_station, make_record, signed_headers


@pytest.fixture
def strict(settings: Settings, db: Database) -> Iterator[TestClient]:  # type: ignore[type-arg]
    limits = (("login", "3/minute"), ("captcha", "2/minute"), ("verify", "5/minute"), ("station", "2/minute"))
    with TestClient(create_app(replace(settings, rate_limits=limits), db=db), base_url=BASE) as client:
        yield client


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("path", "body", "allowed"),
    [
        (
            "/api/v1/auth/login",
            {"id_type": "resident_id", "id_number": "1", "name": "x", "donation_no": "1"},
            3,
        ),
        ("/api/v1/auth/captcha", None, 2),
        ("/api/v1/verify", {"qr": "BC1:X"}, 5),
    ],
)
def test_a_client_over_the_limit_gets_429_with_retry_after(
    strict: TestClient,
    path: str,
    body: object,
    allowed: int,  # type: ignore[type-arg]
) -> None:
    statuses = [strict.post(BASE + path, json=body).status_code for _ in range(allowed)]
    assert 429 not in statuses
    over = strict.post(BASE + path, json=body)
    assert over.status_code == 429
    assert int(over.headers["retry-after"]) >= 1
    assert over.headers["content-type"].startswith("application/problem+json")
    assert over.json()["type"] == "too_many_requests"


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_one_stations_limit_does_not_starve_another(strict: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    one = create_station(db, "33000001")
    two = create_station(db, "11000001", region="110000")
    url = BASE + "/api/v1/station/donations"

    def post(key: object) -> int:
        body = json.dumps({"records": [make_record()]}).encode()
        return strict.post(url, content=body, headers=signed_headers(key, "POST", url, body)).status_code  # type: ignore[arg-type]

    assert [post(one), post(one), post(one)] == [200, 200, 429]
    assert post(two) == 200
