"""Requests in the console: a provincial administrator sees the province's (and its escalations) and nothing
outside it; an operator answers their station's from the console."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.domain.identity import IdType
from bloodcert.domain.keyed import identity_hash_of, name_hash_of
from bloodcert.domain.staff import Role, StaffPrincipal, reaches_station
from bloodcert.services import corrections
from bloodcert.services.certificates import Signing
from bloodcert.services.sessions import resolve_donor
from bloodcert.storage.uow import Database
from tests.api.console_helpers import as_staff, secure_client
from tests.api.test_console import signed_in
from tests.api.test_donor_api import seed
from tests.conftest import INDEX_KEY
from tests.factories import LI_LEI, WANG_FANG, create_staff, create_station, donor_session, make_record

ZJ, SH = "33000001", "31000001"


@pytest.fixture
def client(settings: Settings, db: Database, signing: Signing) -> Iterator[Any]:
    create_station(db, ZJ, region="330000")
    create_station(db, SH, region="310000")
    seed(db, signing, [make_record(donation_no="W1")], ZJ)
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI)], SH)
    with secure_client(settings, db) as test_client:
        yield test_client


def _file(db: Database, donor: dict[str, Any], donation_no: str) -> int:
    identity = identity_hash_of(INDEX_KEY, IdType(donor["id_type"]), donor["id_number"])
    with db.transaction() as uow:
        grant = donor_session(uow, identity, name_hash_of(INDEX_KEY, donor["name"]))
    with db.donor_reads() as reads:
        principal, _ = resolve_donor(reads, grant.token, datetime.now(UTC))
    actor = corrections.Actor("donor", principal.actor, None, b"")
    body = {"kind": "wrong_record", "donation_no": donation_no, "field": "kind", "message": "不是全血"}
    with db.transaction() as uow:
        row = corrections.file_request(uow, principal, body, actor=actor, now=datetime.now(UTC), due_days=15)
    return row.id


def test_a_provincial_administrator_sees_the_province_s_requests_and_their_escalation(
    client: Any, db: Database
) -> None:
    zj = _file(db, WANG_FANG, "W1")
    sh = _file(db, LI_LEI, "L1")
    with db.transaction() as uow:
        assert corrections.escalate_overdue(uow, datetime.now(UTC) + timedelta(days=16), b"") == 2
    petra = create_staff(db, "petra", "provincial_admin", province="31")
    signed_in(client, db, petra)
    page = client.get("/console/corrections?status=escalated")
    assert page.status_code == 200
    assert f"request-{sh}" in page.text and f"request-{zj}" not in page.text
    assert "110***********0043" in page.text and "110105198503150043" not in page.text
    csrf = signed_in(client, db, petra)
    outside = client.post(
        f"/console/corrections/{zj}", data={"_csrf_token": csrf, "action": "rejected", "message": "x"}
    )
    assert outside.status_code == 404


def test_an_operator_answers_their_station_s_request_from_the_console(client: Any, db: Database) -> None:
    zj = _file(db, WANG_FANG, "W1")
    olga = create_staff(db, "olga", "station_operator", ZJ)
    csrf = signed_in(client, db, olga)
    ask = {"_csrf_token": csrf, "action": "need_info", "message": "请上传献血证照片"}
    assert client.post(f"/console/corrections/{zj}", data=ask, follow_redirects=False).status_code == 303
    with db.reading() as uow:
        row = uow.corrections.get(zj)
        assert row is not None and row.status == "need_info"
    # Resolving needs the donation number; the form comes back with the reason.
    missing = client.post(
        f"/console/corrections/{zj}", data={"_csrf_token": csrf, "action": "rejected", "message": " "}
    )
    assert missing.status_code == 400
    as_staff(client, None)
    assert client.get("/console/corrections").status_code == 401


def test_a_station_is_reached_by_its_province_s_administrator_only() -> None:
    petra = StaffPrincipal(1, "petra", Role.PROVINCIAL_ADMIN, None, None, 1, "31")
    assert reaches_station(petra, 5, "310104") and not reaches_station(petra, 5, "330104")
    unbound = StaffPrincipal(1, "paul", Role.PROVINCIAL_ADMIN, None, None, 1, None)
    assert not reaches_station(unbound, 5, "310104")
