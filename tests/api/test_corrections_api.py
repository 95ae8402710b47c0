"""Correction and back-fill requests over HTTP: filed by the donor, answered by their station only, resolved
with a donation the station reported, escalated past the due time, followed by the donor."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import TestClient

from bloodcert.services import corrections
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.test_donor_api import bearer, log_in, seed
from tests.factories import LI_LEI, StationKey, create_station, make_record, signed_headers

ZJ, SH = "33000001", "31000001"


def signed(client: TestClient, key: StationKey, method: str, path: str, payload: Any = None) -> Any:  # type: ignore[type-arg]
    url = BASE + path
    body = json.dumps(payload).encode() if payload is not None else None
    return client.request(method, url, content=body, headers=signed_headers(key, method, url, body))


def two_stations(db: Database, signing: Signing) -> tuple[StationKey, StationKey]:
    zj, sh = create_station(db, ZJ, region="330000"), create_station(db, SH, region="310000")
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-03-01T09:00:00+08:00")], ZJ)
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI)], SH)
    return zj, sh


def file(client: TestClient, auth: dict[str, str], **body: Any) -> Any:  # type: ignore[type-arg]
    return client.post(BASE + "/api/v1/me/corrections", json=body, headers=auth)


def test_a_missing_donation_goes_to_the_named_station_which_alone_sees_and_resolves_it(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    zj, sh = two_stations(db, signing)
    auth = bearer(log_in(client))
    filed = file(
        client,
        auth,
        kind="missing_donation",
        station_code=SH,
        donated_on="2019-06-01",
        site="人民广场献血屋",
        volume_ml=400,
        message="2019 年在上海献的血没有记录",
    )
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["status"] == "open" and request["station_code"] == SH
    due = datetime.fromisoformat(request["due_at"])
    assert timedelta(days=14, hours=23) < due - datetime.now(UTC) <= timedelta(days=15)
    # Only the named station sees it, with the donor's ID number masked.
    assert signed(client, zj, "GET", "/api/v1/station/corrections?status=open").json()["corrections"] == []
    [seen] = signed(client, sh, "GET", "/api/v1/station/corrections?status=open").json()["corrections"]
    assert seen["id"] == request["id"] and seen["donor"]["id_number_masked"] == "330***********1221"
    # Another station cannot answer it, and cannot resolve it with a donation that is not its own.
    answer = {"action": "resolved", "message": "已补录", "donation_no": "W1"}
    assert (
        signed(client, zj, "POST", f"/api/v1/station/corrections/{request['id']}", answer).status_code == 404
    )
    refused = signed(client, sh, "POST", f"/api/v1/station/corrections/{request['id']}", answer)
    assert refused.status_code == 400 and refused.json()["type"].endswith("resolution_refused")
    # Someone else's donation at the station is refused as well.
    answer["donation_no"] = "L1"
    assert (
        signed(client, sh, "POST", f"/api/v1/station/corrections/{request['id']}", answer).status_code == 400
    )
    # The station back-fills the record through the reporting API, then names it.
    backfill = make_record(donation_no="SH2019", donated_at="2019-06-01T10:00:00+08:00")
    batch = signed(client, sh, "POST", "/api/v1/station/donations", {"records": [backfill]})
    assert batch.json()["results"][0]["outcome"] == "created"
    answer["donation_no"] = "SH2019"
    done = signed(client, sh, "POST", f"/api/v1/station/corrections/{request['id']}", answer)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved" and done.json()["resolved_donation_no"] == "SH2019"
    [mine] = client.get(BASE + "/api/v1/me/corrections", headers=auth).json()["corrections"]
    assert mine["status"] == "resolved"
    assert [(m["author"], m["action"]) for m in mine["messages"]] == [
        ("donor", "filed"),
        ("station", "resolved"),
    ]
    history = client.get(BASE + "/api/v1/me/donations", headers=auth).json()
    assert "SH2019" in [d["donation_no"] for d in history["donations"]]
    # A closed request takes no more answers.
    again = signed(client, sh, "POST", f"/api/v1/station/corrections/{request['id']}", answer)
    assert again.status_code == 400


def test_a_wrong_record_goes_to_its_station_and_a_question_is_answered_by_the_donor(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    zj, _sh = two_stations(db, signing)
    auth = bearer(log_in(client))
    filed = file(
        client,
        auth,
        kind="wrong_record",
        donation_no="W1",
        field="volume_ml",
        proposed="300",
        message="献的是 300 毫升",
    )
    assert filed.status_code == 201 and filed.json()["station_code"] == ZJ
    cid = filed.json()["id"]
    ask = {"action": "need_info", "message": "请提供纸质献血证照片"}
    assert (
        signed(client, zj, "POST", f"/api/v1/station/corrections/{cid}", ask).json()["status"] == "need_info"
    )
    reply = client.post(
        BASE + f"/api/v1/me/corrections/{cid}/reply", json={"message": "已上传"}, headers=auth
    )
    assert reply.status_code == 200 and reply.json()["status"] == "open"
    fix = make_record(donation_no="W1", version=2, volume_ml=300, donated_at="2024-03-01T09:00:00+08:00")
    assert (
        signed(client, zj, "POST", "/api/v1/station/donations", {"records": [fix]}).json()["results"][0][
            "outcome"
        ]
        == "updated"
    )
    done = {"action": "resolved", "message": "已更正为 300 毫升", "donation_no": "W1"}
    assert (
        signed(client, zj, "POST", f"/api/v1/station/corrections/{cid}", done).json()["status"] == "resolved"
    )
    inbox = client.get(BASE + "/api/v1/me/notifications", headers=auth).json()["notifications"]
    answered = [m for m in inbox if m["topic"] == "answer"]
    assert len(answered) == 2  # the question, then the resolution
    assert all(m["link"] == "/me/corrections" for m in answered)


def test_a_request_is_checked_before_it_is_filed(client: TestClient, db: Database, signing: Signing) -> None:  # type: ignore[type-arg]
    two_stations(db, signing)
    auth = bearer(log_in(client))
    cases = [
        ({"kind": "wrong_record", "message": "x", "field": "volume_ml"}, "donation_no"),
        ({"kind": "wrong_record", "message": "x", "donation_no": "L1", "field": "kind"}, "donation_no"),
        ({"kind": "wrong_record", "message": "x", "donation_no": "W1", "field": "colour"}, "field"),
        ({"kind": "missing_donation", "message": "x", "station_code": SH}, "donated_on"),
        (
            {"kind": "missing_donation", "message": "x", "donated_on": "2099-01-01", "station_code": SH},
            "donated_on",
        ),
        ({"kind": "missing_donation", "message": "x", "donated_on": "2019-01-01"}, "station_code"),
        (
            {"kind": "missing_donation", "message": " ", "donated_on": "2019-01-01", "station_code": SH},
            "message",
        ),
    ]
    for body, field in cases:
        response = file(client, auth, **body)
        assert response.status_code == 400, body
        assert field in [e["field"] for e in response.json()["errors"]], (body, response.json())
    # Without a station, the province's blood centre gets it.
    routed = file(client, auth, kind="missing_donation", message="x", donated_on="2019-01-01", region="31")
    assert routed.status_code == 201 and routed.json()["station_code"] == SH


def test_another_donor_sees_nothing_of_my_requests(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    two_stations(db, signing)
    mine = bearer(log_in(client))
    cid = file(client, mine, kind="wrong_record", donation_no="W1", field="kind", message="x").json()["id"]
    theirs = bearer(log_in(client, donor=LI_LEI, donation_no="L1"))
    assert client.get(BASE + "/api/v1/me/corrections", headers=theirs).json()["corrections"] == []
    reply = client.post(BASE + f"/api/v1/me/corrections/{cid}/reply", json={"message": "x"}, headers=theirs)
    assert reply.status_code == 404


def test_past_its_due_time_a_request_is_escalated_and_the_station_can_still_answer(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    _zj, sh = two_stations(db, signing)
    auth = bearer(log_in(client))
    cid = file(
        client, auth, kind="missing_donation", station_code=SH, donated_on="2019-06-01", message="x"
    ).json()["id"]
    with db.transaction() as uow:
        assert corrections.escalate_overdue(uow, datetime.now(UTC) + timedelta(days=14), b"") == 0
    with db.transaction() as uow:
        assert corrections.escalate_overdue(uow, datetime.now(UTC) + timedelta(days=15, minutes=1), b"") == 1
    [mine] = client.get(BASE + "/api/v1/me/corrections", headers=auth).json()["corrections"]
    assert mine["status"] == "escalated" and mine["escalated_at"]
    assert [m["action"] for m in mine["messages"]] == ["filed", "escalated"]
    listed = signed(client, sh, "GET", "/api/v1/station/corrections?status=escalated").json()["corrections"]
    assert [c["id"] for c in listed] == [cid]
    no = {"action": "rejected", "message": "查无此次献血记录"}
    assert signed(client, sh, "POST", f"/api/v1/station/corrections/{cid}", no).json()["status"] == "rejected"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_photo_of_the_paper_certificate_reaches_the_station_and_no_other(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    zj, sh = two_stations(db, signing)
    auth = bearer(log_in(client))
    body = {"kind": "missing_donation", "station_code": SH, "donated_on": "2019-06-01", "message": "x"}
    bad = file(client, auth, **body, photo=base64.b64encode(b"GIF89a" + b"\x00" * 10).decode())
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "photo"
    filed = file(client, auth, **body, photo=base64.b64encode(PNG).decode())
    assert filed.status_code == 201, filed.text
    cid = filed.json()["id"]
    [mine] = client.get(BASE + "/api/v1/me/corrections", headers=auth).json()["corrections"]
    assert mine["has_photo"] is True
    photo = signed(client, sh, "GET", f"/api/v1/station/corrections/{cid}/photo")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert photo.content == PNG
    assert signed(client, zj, "GET", f"/api/v1/station/corrections/{cid}/photo").status_code == 404
    with db.reading() as uow:  # encrypted at rest
        stored = uow.conn.exec_driver_sql("SELECT photo FROM corrections").scalar_one()
    assert base64.b64encode(PNG) not in bytes(stored)


def test_the_station_s_quality_issues_say_what_they_mean_and_what_to_do(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    zj, _sh = two_stations(db, signing)
    seed(
        db,
        signing,
        [make_record(donation_no="V1", volume_ml=350, donated_at="2024-09-01T09:00:00+08:00")],
        ZJ,
    )
    [issue] = signed(client, zj, "GET", "/api/v1/station/quality").json()["issues"]
    assert issue["code"] == "nonstandard_volume"
    assert issue["label_zh"] == "全血量非标准" and "400 ml" in issue["action_en"]
