"""Online claims over HTTP: the split across provinces, each share reviewed by its station, one ledger with
the hospital path (both orders), files recognised by content, and deadlines with the clock moved."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bloodcert.services import claims as svc
from bloodcert.services.certificates import Signing
from bloodcert.storage.tables import audit_log, claim_files, claims, waiver_ledger
from bloodcert.storage.uow import Database
from tests.api.claims_helpers import (
    FATHER,
    ME_CLAIMS,
    PDF,
    STATION_CLAIMS,
    claim_part,
    file_claim,
    image,
    log_in,
    register_relative,
    two_provinces,
)
from tests.api.conftest import BASE
from tests.api.hospital_helpers import CLAIM, HospitalKey, create_hospital, get, post, waiver_body
from tests.factories import LI_LEI, StationKey, create_station

World = tuple[StationKey, StationKey]


@pytest.fixture
def world(db: Database, signing: Signing) -> World:
    return two_provinces(db, signing)


def decide(client: Any, station: StationKey, claim_id: str, body: dict[str, Any]) -> Any:
    return post(client, station, f"{STATION_CLAIMS}/{claim_id}/decision", body)


def count(db: Database, table: Any, *where: Any) -> int:
    with db.reading() as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_a_claim_on_two_provinces_is_split_and_each_station_reviews_its_own_share(
    client: Any, db: Database, world: World
) -> None:
    zhejiang, jiangsu = world
    me = log_in(client)
    filed = file_claim(client, me, claim_part())
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["status"] == "submitted"
    assert {(s["station_code"], s["province"]) for s in body["shares"]} == {
        ("32000001", "32"),
        ("33000001", "33"),
    }
    claim_id = body["id"]

    seen = get(client, zhejiang, STATION_CLAIMS).json()["shares"]
    assert [(s["claim_id"], s["share"]["station_code"]) for s in seen] == [(claim_id, "33000001")]
    assert (
        seen[0]["share"]["planned_ml"] == 600
    )  # Jiangsu's 600 ml pool is drawn first, Zhejiang pays the rest
    stranger = create_station(db, "31000001", region="310000")
    assert get(client, stranger, STATION_CLAIMS).json()["shares"] == []
    assert decide(client, stranger, claim_id, {"decision": "approve"}).status_code == 404

    approved = decide(client, zhejiang, claim_id, {"decision": "approve", "payout_reference": "TX-1"})
    assert approved.status_code == 200, approved.text
    share = approved.json()["share"]
    assert (share["status"], share["approved_ml"], share["approved_fen"]) == ("approved", 600, 60000)
    assert approved.json()["claim"]["status"] == "in_review"
    assert decide(client, zhejiang, claim_id, {"decision": "reject", "message": "x"}).status_code == 409

    refused = decide(client, jiangsu, claim_id, {"decision": "reject"})
    assert refused.status_code == 400  # a rejection needs its reason
    rejected = decide(client, jiangsu, claim_id, {"decision": "reject", "message": "发票与清单不符"})
    assert rejected.json()["claim"]["status"] == "partly_approved"

    [mine] = client.get(ME_CLAIMS, headers=me).json()["claims"]
    assert mine["status"] == "partly_approved"
    assert [m["kind"] for m in mine["messages"]] == ["submitted", "approved", "rejected"]
    assert mine["messages"][-1]["message"] == "发票与清单不符"
    assert count(db, waiver_ledger, waiver_ledger.c.claim_share_id.is_not(None)) == 1
    entitlements = client.get(BASE + "/api/v1/me/entitlements", headers=me).json()
    zj = next(p for p in entitlements["provinces"] if p["province"] == "33")
    assert zj["pools"][0]["drawn"] == 600  # the approved share drew on the same pools as the hospital path
    assert [(w["province"], w["hospital"], w["waived_ml"]) for w in entitlements["waivers"]] == [
        ("33", "上海市某民营医院", 600)
    ]


def test_a_donor_who_asked_for_more_answers_and_the_share_is_back_in_the_queue(
    client: Any, db: Database, world: World
) -> None:
    zhejiang, _ = world
    me = log_in(client)
    claim_id = file_claim(client, me, claim_part()).json()["id"]
    decide(client, zhejiang, claim_id, {"decision": "need_info", "message": "请补充输血记录"})
    assert client.get(ME_CLAIMS, headers=me).json()["claims"][0]["status"] == "need_info"
    answer = client.post(
        f"{ME_CLAIMS}/{claim_id}/answer",
        headers=me,
        files=[("message", (None, "已补充")), ("other", ("record.jpg", image("JPEG"), "image/jpeg"))],
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "submitted"
    assert len(answer.json()["documents"]) == 3
    queue = get(client, zhejiang, STATION_CLAIMS + "?status=submitted").json()["shares"]
    assert [q["claim_id"] for q in queue] == [claim_id]


def test_an_invoice_waived_at_the_hospital_cannot_be_claimed_online(
    client: Any, world: World, db: Database
) -> None:
    hospital = create_hospital(db)
    assert post(client, hospital, CLAIM, waiver_body("INV-1")).status_code == 201
    me = log_in(client)
    part = claim_part("INV-1", hospital_code=hospital.hospital.code)
    response = file_claim(client, me, part)
    assert response.status_code == 409
    assert response.json()["type"].endswith("invoice_conflict")
    assert "waived at the hospital counter" in response.json()["detail"]
    assert count(db, claims) == 0


def test_an_invoice_claimed_online_cannot_be_waived_at_the_hospital(
    client: Any, world: World, db: Database
) -> None:
    hospital: HospitalKey = create_hospital(db)
    me = log_in(client)
    filed = file_claim(client, me, claim_part("INV-2", hospital_code=hospital.hospital.code))
    assert filed.status_code == 201, filed.text
    response = post(client, hospital, CLAIM, waiver_body("INV-2"))
    assert response.status_code == 409
    assert "claimed online" in response.json()["detail"]
    assert count(db, waiver_ledger) == 0
    # The same invoice online a second time is refused as well, even with the hospital written out.
    again = file_claim(client, me, claim_part("INV-2", hospital_code=hospital.hospital.code))
    assert again.status_code == 409
    written = claim_part("INV-2", hospital_name=f" {hospital.hospital.name} ", hospital_region="330106")
    assert file_claim(client, me, written).status_code == 409


def test_a_file_with_a_lying_extension_is_refused_and_nothing_is_stored(
    client: Any, world: World, db: Database
) -> None:
    me = log_in(client)
    html = b"<html><script>alert(1)</script></html>"
    response = file_claim(
        client, me, claim_part(), [("invoice", "invoice.pdf", html), ("itemised_bill", "b.pdf", PDF)]
    )
    assert response.status_code == 415
    assert response.json()["type"].endswith("unsupported_file_type")
    truncated = file_claim(
        client, me, claim_part(), [("invoice", "i.pdf", PDF[:30]), ("itemised_bill", "b.pdf", PDF)]
    )
    assert truncated.status_code == 400
    assert (count(db, claims), count(db, claim_files)) == (0, 0)
    # Recognised by content, not by name: a PDF called .png is a PDF.
    ok = file_claim(
        client, me, claim_part(), [("invoice", "scan.png", PDF), ("itemised_bill", "b.jpg", image("PNG"))]
    )
    assert ok.status_code == 201, ok.text
    [claim] = client.get(ME_CLAIMS, headers=me).json()["claims"]
    assert sorted((d["kind"], d["media_type"]) for d in claim["documents"]) == [
        ("invoice", "application/pdf"),
        ("itemised_bill", "image/png"),
    ]


def test_an_oversized_file_is_413_and_too_many_files_are_refused(
    client: Any, world: World, db: Database
) -> None:
    me = log_in(client)
    big = PDF[:-6] + b"0" * (10 * 1024 * 1024) + b"%%EOF\n"
    response = file_claim(
        client, me, claim_part(), [("invoice", "i.pdf", big), ("itemised_bill", "b.pdf", PDF)]
    )
    assert response.status_code == 413
    six = [("invoice", "i.pdf", PDF), ("itemised_bill", "b.pdf", PDF)] + [("other", "o.pdf", PDF)] * 4
    assert file_claim(client, me, claim_part(), six).status_code == 413
    missing = file_claim(client, me, claim_part(), [("invoice", "i.pdf", PDF)])
    assert missing.status_code == 400
    not_multipart = client.post(ME_CLAIMS, headers=me, json=claim_part())
    assert not_multipart.status_code == 415
    assert (count(db, claims), count(db, claim_files)) == (0, 0)


def test_documents_are_served_only_to_the_donor_and_the_reviewing_stations_and_each_read_is_audited(
    client: Any, world: World, db: Database, signing: Signing
) -> None:
    from tests.api.hospital_helpers import donation, report

    zhejiang, _ = world
    me = log_in(client)
    file_claim(client, me, claim_part())
    [claim] = client.get(ME_CLAIMS, headers=me).json()["claims"]
    url = BASE + next(d["url"] for d in claim["documents"] if d["kind"] == "invoice")
    token = url.rsplit("/", 1)[1]
    mine = client.get(url, headers=me)
    assert (mine.status_code, mine.content, mine.headers["content-type"]) == (200, PDF, "application/pdf")
    assert mine.headers["cache-control"] == "no-store"
    station = get(client, zhejiang, f"{STATION_CLAIMS}/documents/{token}")
    assert station.content == PDF
    stranger = create_station(db, "31000001", region="310000")
    assert get(client, stranger, f"{STATION_CLAIMS}/documents/{token}").status_code == 404
    report(db, signing, zhejiang, donation("L1", donor=LI_LEI))
    assert client.get(url, headers=log_in(client, "L1", LI_LEI)).status_code == 404
    assert count(db, audit_log, audit_log.c.action == "read:document") == 2
    with db.reading() as uow:
        stored = uow.conn.exec_driver_sql("SELECT content FROM claim_files").scalars().all()
    assert all(PDF not in bytes(raw) for raw in stored)  # encrypted at rest


def test_an_open_claim_past_its_due_date_is_overdue_and_escalated_once(
    client: Any, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = log_in(client)
    filed = file_claim(client, me, claim_part()).json()
    assert client.get(ME_CLAIMS, headers=me).json()["claims"][0]["overdue"] is False
    later = svc.now() + timedelta(days=30)
    monkeypatch.setattr(svc, "now", lambda: later)
    [claim] = client.get(ME_CLAIMS, headers=me).json()["claims"]
    assert claim["overdue"] is True
    from bloodcert.services.relatives import Actor

    who = Actor("system", None, b"", b"", later)
    with db.transaction() as uow:
        assert svc.escalate_overdue(uow, who) == [filed["id"]]
    with db.transaction() as uow:
        assert svc.escalate_overdue(uow, who) == []
    [claim] = client.get(ME_CLAIMS, headers=me).json()["claims"]
    assert claim["escalated_at"] is not None
    assert claim["messages"][-1]["kind"] == "escalated"
    assert "32, 33" in claim["messages"][-1]["message"]
    overdue = get(client, world[0], STATION_CLAIMS + "?overdue=true").json()["shares"]
    assert [s["claim_id"] for s in overdue] == [filed["id"]]


def test_a_registered_relative_is_proof_at_the_hospital_once_approved(
    client: Any, world: World, db: Database
) -> None:
    from bloodcert.services import relatives as rel
    from bloodcert.services.relatives import Actor

    hospital = create_hospital(db)
    me = log_in(client)
    created = register_relative(client, me)
    assert created.status_code == 201, created.text
    relative_id = created.json()["id"]
    [listed] = client.get(BASE + "/api/v1/me/relatives", headers=me).json()["relatives"]
    assert (listed["status"], listed["id_number_masked"]) == ("pending", "330***********0015")
    assert listed["station_code"] == "32000001"  # one donation each: the station of the latest reviews
    father = {"id_type": FATHER["id_type"], "id_number": FATHER["id_number"], "name": FATHER["name"]}
    body = waiver_body("INV-R", patient=father, relationship="parent", proof="registered_relative")
    refused = post(client, hospital, CLAIM, body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "relative_not_registered"
    who = Actor("staff:olga", None, b"", b"", svc.now())
    with db.transaction() as uow:
        rel.decide(uow, who, None, relative_id, "approve", "")
    assert post(client, hospital, CLAIM, body).status_code == 201
    claim = file_claim(client, me, claim_part("INV-S", beneficiary=relative_id))
    assert claim.status_code == 201, claim.text
    removed = client.delete(f"{BASE}/api/v1/me/relatives/{relative_id}", headers=me)
    assert removed.status_code == 204
    assert client.get(BASE + "/api/v1/me/relatives", headers=me).json()["relatives"] == []
    assert (
        post(
            client,
            hospital,
            CLAIM,
            waiver_body("INV-T", patient=father, relationship="parent", proof="registered_relative"),
        ).status_code
        == 422
    )
    assert count(db, waiver_ledger) >= 1  # the waiver drawn while registered stays


def test_another_donor_sees_nothing_of_the_first_donors_claims(
    client: Any, world: World, db: Database, signing: Signing
) -> None:
    from tests.api.hospital_helpers import donation, report

    me = log_in(client)
    claim_id = file_claim(client, me, claim_part()).json()["id"]
    report(db, signing, world[0], donation("L1", donor=LI_LEI))
    other = log_in(client, "L1", LI_LEI)
    assert client.get(ME_CLAIMS, headers=other).json()["claims"] == []
    answer = client.post(f"{ME_CLAIMS}/{claim_id}/answer", headers=other, files=[("message", (None, "x"))])
    assert answer.status_code == 404
    assert json.loads(client.get(ME_CLAIMS).text)["type"].endswith("unauthorized")


def test_uploads_are_limited_per_donor_session(settings: Any, db: Database, world: World) -> None:
    from dataclasses import replace

    from litestar.testing import TestClient

    from bloodcert.web.app import create_app
    from tests.conftest import GENEROUS_LIMITS

    limited = replace(settings, rate_limits=(*GENEROUS_LIMITS, ("upload", "2/hour")))
    with TestClient(app=create_app(limited, db=db), base_url=BASE) as client:
        me = log_in(client)
        answers = [file_claim(client, me, claim_part(f"R-{i}")).status_code for i in range(3)]
        assert answers == [201, 201, 429]
        other = log_in(client)  # another session of the same donor has its own count
        assert file_claim(client, other, claim_part("R-9")).status_code != 429


def test_each_station_decision_is_a_message_in_the_donors_inbox(client: Any, world: World) -> None:
    zhejiang, jiangsu = world
    me = log_in(client)
    claim_id = file_claim(client, me, claim_part()).json()["id"]
    decide(client, zhejiang, claim_id, {"decision": "approve", "payout_reference": "TX-1"})
    decide(client, jiangsu, claim_id, {"decision": "need_info", "message": "请补充输血记录"})
    inbox = client.get(BASE + "/api/v1/me/notifications?lang=en", headers=me).json()["notifications"]
    answers = [m for m in inbox if m["topic"] == "answer"]
    assert len(answers) == 2
    assert all(m["link"] == "/me/claims" for m in answers)
