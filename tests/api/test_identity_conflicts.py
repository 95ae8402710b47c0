"""Identity conflicts resolved by an administrator: a merge moves the donations, re-issues their certificates
in the kept name and recomputes totals; a separation clears the flag; both are undone exactly and audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.console_helpers import as_staff, secure_client
from tests.api.test_console import audit_entries, signed_in
from tests.api.test_donor_api import bearer, login_body, seed
from tests.factories import WANG_FANG, create_staff, create_station, make_record

ZJ, SH = "33000001", "31000001"
RENAMED = {**WANG_FANG, "name": "王芳芳"}


@pytest.fixture
def client(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    create_station(db, ZJ, region="330000")
    create_station(db, SH, region="310000")
    # 王芳 gave twice in 浙江, then, under her new name 王芳芳, once in 上海.
    seed(db, signing, [make_record(donation_no="W1", donated_at="2022-03-01T09:00:00+08:00")], ZJ)
    seed(db, signing, [make_record(donation_no="W2", donated_at="2023-03-01T09:00:00+08:00")], ZJ)
    seed(
        db,
        signing,
        [make_record(donation_no="S1", donor=RENAMED, donated_at="2024-03-01T09:00:00+08:00", volume_ml=300)],
        SH,
    )
    with secure_client(settings, db) as test_client:
        yield test_client


def persons(db: Database) -> dict[str, tuple[int, int, int]]:
    """name → (person id, donation count, whole blood ml)."""
    with db.reading() as uow:
        rows = uow.conn.exec_driver_sql("SELECT id FROM persons").all()
        people = [uow.persons.get(int(r[0])) for r in rows]
    return {p.name: (p.id, p.donation_count, p.whole_blood_ml) for p in people if p is not None}


def me(client: Any, donor: dict[str, Any], donation_no: str) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json=login_body(donor, donation_no))
    if response.status_code != 200:
        return {"status": response.status_code}
    auth = bearer(response.json()["access_token"])
    body = client.get("/api/v1/me", headers=auth).json()
    history = client.get("/api/v1/me/donations", headers=auth).json()
    body["certificates"] = {d["donation_no"]: d["certificate_no"] for d in history["donations"]}
    body["auth"] = auth
    return body


def verify(client: Any, auth: dict[str, str], certificate_no: str) -> tuple[bool, str, str]:
    cert = client.get(f"/api/v1/me/certificates/{certificate_no}", headers=auth).json()
    result = client.post("/api/v1/verify", json={"qr": cert["qr"]}).json()
    return result["valid"], result["reason"], cert["holder_name"]


def decide(client: Any, csrf: str, keep: int, other: int, decision: str) -> Any:
    form = {"_csrf_token": csrf, "pair": f"{other}-{keep}", "keep": str(keep), "decision": decision}
    return client.post(
        "/console/conflicts/decide", data={**form, "evidence": "户口本改名记录"}, follow_redirects=False
    )


def test_a_merge_moves_donations_reissues_certificates_recomputes_totals_and_is_undone(
    client: Any, db: Database, signing: Signing
) -> None:
    before = persons(db)
    old_id, new_id = before["王芳"][0], before["王芳芳"][0]
    assert before == {"王芳": (old_id, 2, 800), "王芳芳": (new_id, 1, 300)}
    old_me = me(client, WANG_FANG, "W1")
    assert old_me["under_review"] is True and old_me["summary"]["count"] == 2
    old_cert = old_me["certificates"]["W1"]
    assert verify(client, old_me["auth"], old_cert) == (True, "ok", "王芳")

    ada = create_staff(db, "ada", "national_admin")
    csrf = signed_in(client, db, ada)
    page = client.get("/console/conflicts")
    assert page.status_code == 200 and "王芳芳" in page.text and "330***********1221" in page.text
    assert "330106199001011221" not in page.text
    assert decide(client, csrf, new_id, old_id, "merge").status_code == 303

    assert persons(db)[("王芳芳")] == (new_id, 3, 1100)
    assert persons(db)["王芳"] == (old_id, 0, 0)
    merged = me(client, RENAMED, "W1")  # her new name with an old donation number
    assert merged["under_review"] is False and merged["summary"]["count"] == 3
    new_cert = merged["certificates"]["W1"]
    assert new_cert != old_cert
    assert verify(client, merged["auth"], new_cert) == (True, "ok", "王芳芳")
    assert client.post("/api/v1/verify", json={"qr": _qr(db, old_cert)}).json()["reason"] == "revoked"
    assert me(client, WANG_FANG, "W1")["status"] == 401  # the old name no longer holds the donation
    # A session opened before the merge now reaches the kept person.
    earlier = client.get("/api/v1/me", headers=old_me["auth"]).json()
    assert (earlier["name"], earlier["summary"]["count"], earlier["under_review"]) == ("王芳芳", 3, False)
    assert "没有待处理的身份冲突" in client.get("/console/conflicts").text
    entry = [e for e in audit_entries(db) if e["action"].startswith("identity.")][-1]
    assert (entry["actor"], entry["action"]) == ("staff:ada", "identity.merge")

    # A later report under the old name lands on the kept person.
    seed(db, signing, [make_record(donation_no="W3", donated_at="2025-03-01T09:00:00+08:00")], ZJ)
    assert persons(db)["王芳芳"][1] == 4

    decision = int(
        re.findall(r"/console/conflicts/decisions/(\d+)/undo", client.get("/console/conflicts").text)[0]
    )
    undo = client.post(f"/console/conflicts/decisions/{decision}/undo", data={"_csrf_token": csrf})
    assert undo.status_code in (200, 303)
    assert persons(db) == {"王芳": (old_id, 3, 1200), "王芳芳": (new_id, 1, 300)}
    back = me(client, WANG_FANG, "W1")
    assert back["under_review"] is True and back["summary"]["count"] == 3
    assert verify(client, back["auth"], back["certificates"]["W1"]) == (True, "ok", "王芳")
    assert client.post("/api/v1/verify", json={"qr": _qr(db, new_cert)}).json()["reason"] == "revoked"
    again = client.post(f"/console/conflicts/decisions/{decision}/undo", data={"_csrf_token": csrf})
    assert again.status_code == 400


def test_different_people_are_kept_apart_the_flag_cleared_and_put_back_on_undo(
    client: Any, db: Database
) -> None:
    before = persons(db)
    old_id, new_id = before["王芳"][0], before["王芳芳"][0]
    ada = create_staff(db, "ada", "national_admin")
    csrf = signed_in(client, db, ada)
    assert decide(client, csrf, old_id, new_id, "separate").status_code == 303
    assert persons(db) == before
    assert me(client, WANG_FANG, "W1")["under_review"] is False
    assert me(client, RENAMED, "S1")["under_review"] is False
    decision = int(
        re.findall(r"/console/conflicts/decisions/(\d+)/undo", client.get("/console/conflicts").text)[0]
    )
    client.post(f"/console/conflicts/decisions/{decision}/undo", data={"_csrf_token": csrf})
    assert me(client, WANG_FANG, "W1")["under_review"] is True


def test_a_provincial_administrator_decides_only_conflicts_reported_in_the_province(
    client: Any, db: Database
) -> None:
    before = persons(db)
    old_id, new_id = before["王芳"][0], before["王芳芳"][0]
    gao = create_staff(db, "gao", "provincial_admin", province="44")  # 广东: neither station's
    csrf = signed_in(client, db, gao)
    assert "王芳芳" not in client.get("/console/conflicts").text
    assert decide(client, csrf, new_id, old_id, "merge").status_code == 403
    petra = create_staff(db, "petra", "provincial_admin", province="31")
    csrf = signed_in(client, db, petra)
    assert "王芳芳" in client.get("/console/conflicts").text
    assert decide(client, csrf, new_id, old_id, "merge").status_code == 303
    olga = create_staff(db, "olga", "station_operator", ZJ)
    signed_in(client, db, olga)
    assert client.get("/console/conflicts").status_code == 403
    as_staff(client, None)


def _qr(db: Database, certificate_no: str) -> str:
    with db.reading() as uow:
        row = uow.certificates.get_by_no(certificate_no)
        assert row is not None
        return row.qr
