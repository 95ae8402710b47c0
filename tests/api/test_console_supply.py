"""The station's supply screen in the console: an operator publishes levels, the change is audited, the
call-up shows whom it reached; another station's operator is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from tests.api.console_helpers import as_staff, csrf_token, secure_client
from tests.api.test_console import audit_entries
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY
from tests.factories import create_staff, create_station, staff_session


@pytest.fixture
def client(sqlite_db: Database, tmp_path: Path) -> Iterator[Any]:
    create_station(sqlite_db, "33010001", region="330100")
    create_station(sqlite_db, "31000001", region="310000")
    settings = Settings(
        database_url=sqlite_db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
        audit_mode="sync",
    )
    with secure_client(settings, sqlite_db) as test_client:
        yield test_client


def test_an_operator_publishes_levels_and_sees_the_call_up(client: Any, sqlite_db: Database) -> None:
    olga = create_staff(sqlite_db, "olga", "station_operator", "33010001")
    as_staff(client, staff_session(sqlite_db, olga))
    path = "/console/stations/33010001/supply"
    form = {"_csrf_token": csrf_token(client, path), "O+": "critical", "A-": "adequate", "B+": ""}
    done = client.post(path, data=form, follow_redirects=True)
    assert done.status_code == 200 and "库存已发布。" in done.text
    assert re.search(r'<th scope="row">O\+</th>\s*<td data-level="critical">', done.text)
    assert 'data-reached="0"' in done.text and 'data-booked="0"' in done.text
    assert client.get("/api/v1/supply").json()["provinces"][0]["stations"][0]["levels"] == {
        "O+": "critical",
        "A-": "adequate",
    }
    assert any(
        e["action"] == "supply:publish" and e["object"] == "33010001" for e in audit_entries(sqlite_db)
    )


def test_another_station_s_operator_cannot_publish_for_it(client: Any, sqlite_db: Database) -> None:
    other = create_staff(sqlite_db, "sam", "station_operator", "31000001")
    as_staff(client, staff_session(sqlite_db, other))
    token = csrf_token(client, "/console/stations/31000001/supply")
    refused = client.post("/console/stations/33010001/supply", data={"_csrf_token": token, "O+": "low"})
    assert refused.status_code == 403
    assert client.get("/api/v1/supply").json() == {"provinces": []}
