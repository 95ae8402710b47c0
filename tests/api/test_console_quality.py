"""Quality issues a station can act on: labelled in both languages, closed as fixed or accepted, kept in
the history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.console_helpers import secure_client
from tests.api.test_console import audit_entries, signed_in
from tests.factories import create_staff, create_station, make_record, report_records


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[Any]:
    create_station(db, "33000001", region="330000")
    create_station(db, "31000001", region="310000")
    with secure_client(settings, db) as test_client:
        yield test_client


def _report(db: Database, signing: Signing, code: str, records: list[dict[str, Any]]) -> None:
    report_records(db, signing, records, code)


def _open_issue_ids(db: Database, code: str) -> list[int]:
    with db.reading() as uow:
        station = uow.stations.get_by_code(code)
        assert station is not None
        return [i.id for i in uow.quality.open_of_station(station.id, limit=50, offset=0)]


def test_an_operator_sees_each_issue_with_a_chinese_label_and_what_to_do(
    client: Any, db: Database, signing: Signing
) -> None:
    _report(db, signing, "33000001", [make_record(donation_no="V1", volume_ml=350)])
    olga = create_staff(db, "olga", "station_operator", "33000001")
    signed_in(client, db, olga)
    page = client.get("/console/stations/33000001/quality")
    assert page.status_code == 200
    assert "全血量非标准" in page.text and "200、300 或 400 毫升" in page.text
    english = client.get("/console/stations/33000001/quality?lang=en")
    assert "Non-standard whole-blood volume" in english.text


def test_an_issue_marked_fixed_names_its_station_s_corrected_donation_and_moves_to_the_history(
    client: Any, db: Database, signing: Signing
) -> None:
    _report(db, signing, "33000001", [make_record(donation_no="V1", volume_ml=350)])
    _report(db, signing, "31000001", [make_record(donation_no="OTHER", donor={"name": "李四"})])
    olga = create_staff(db, "olga", "station_operator", "33000001")
    csrf = signed_in(client, db, olga)
    [issue] = _open_issue_ids(db, "33000001")
    url = f"/console/stations/33000001/quality/{issue}"
    foreign = client.post(url, data={"_csrf_token": csrf, "action": "fixed", "donation_no": "OTHER"})
    assert foreign.status_code == 400 and "OTHER" in foreign.text
    assert _open_issue_ids(db, "33000001") == [issue]
    fixed = client.post(
        url, data={"_csrf_token": csrf, "action": "fixed", "donation_no": "V1"}, follow_redirects=False
    )
    assert fixed.status_code == 303
    assert _open_issue_ids(db, "33000001") == []
    page = client.get("/console/stations/33000001/quality")
    assert "已关闭的问题" in page.text and "staff:olga" in page.text and "已更正" in page.text
    entry = [e for e in audit_entries(db) if e["action"].startswith("quality.")][-1]
    assert (entry["actor"], entry["action"]) == ("staff:olga", "quality.fixed")
    again = client.post(url, data={"_csrf_token": csrf, "action": "accepted", "note": "ok"})
    assert again.status_code == 400  # already closed


def test_an_issue_accepted_needs_a_note_and_keeps_it(client: Any, db: Database, signing: Signing) -> None:
    _report(db, signing, "33000001", [make_record(donation_no="V1", volume_ml=350)])
    olga = create_staff(db, "olga", "station_operator", "33000001")
    csrf = signed_in(client, db, olga)
    [issue] = _open_issue_ids(db, "33000001")
    url = f"/console/stations/33000001/quality/{issue}"
    assert client.post(url, data={"_csrf_token": csrf, "action": "accepted"}).status_code == 400
    done = client.post(
        url,
        data={"_csrf_token": csrf, "action": "accepted", "note": "实际采集 350 毫升"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "实际采集 350 毫升" in client.get("/console/stations/33000001/quality").text


def test_an_operator_cannot_close_another_station_s_issue(
    client: Any, db: Database, signing: Signing
) -> None:
    _report(db, signing, "31000001", [make_record(donation_no="V1", volume_ml=350)])
    olga = create_staff(db, "olga", "station_operator", "33000001")
    csrf = signed_in(client, db, olga)
    [issue] = _open_issue_ids(db, "31000001")
    data = {"_csrf_token": csrf, "action": "accepted", "note": "x"}
    assert client.post(f"/console/stations/31000001/quality/{issue}", data=data).status_code == 403
    # Under her own station's code, another station's issue is not found.
    assert client.post(f"/console/stations/33000001/quality/{issue}", data=data).status_code == 404
    assert _open_issue_ids(db, "31000001") == [issue]
