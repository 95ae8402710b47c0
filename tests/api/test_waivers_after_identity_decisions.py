"""Blood-fee waivers after an identity conflict is decided: a merge carries the merged person's draws along
(no pool is drawn twice), a separation lets each person claim again, and an undone merge gives them back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bloodcert.domain.staff import Role, StaffPrincipal
from bloodcert.services import identity_review
from bloodcert.services.certificates import Signing
from bloodcert.services.console import Caller
from bloodcert.storage.uow import Database
from tests.api.hospital_helpers import (
    CLAIM,
    QUOTE,
    HospitalKey,
    create_hospital,
    donation,
    post,
    report,
    waiver_body,
)
from tests.factories import create_station

ADA = StaffPrincipal(1, "ada", Role.NATIONAL_ADMIN, None, None, 1)


@pytest.fixture
def hospital(db: Database, signing: Signing) -> HospitalKey:
    """王芳 (A) gave 200 ml in Zhejiang; a second station later reported her as type B."""
    station = create_station(db, "33000001", region="330000")
    report(db, signing, station, donation("D1"))
    return create_hospital(db)


def _persons(db: Database) -> dict[str, int]:
    with db.reading() as uow:
        rows = uow.conn.exec_driver_sql("SELECT id, abo FROM persons WHERE merged_into IS NULL").all()
    return {str(abo): int(pid) for pid, abo in rows}


def _drawn(db: Database, person_id: int) -> int:
    with db.reading() as uow:
        return sum(d.ml for d in uow.waivers.drawn(person_id))


def _remaining(client: Any, hospital: HospitalKey) -> int:
    quote = post(client, hospital, QUOTE, waiver_body(invoice_no="Q"))
    assert quote.status_code == 200, quote.text
    return int(quote.json()["basis"][0]["remaining_before_ml"])


def test_a_merge_carries_the_draws_and_an_undo_gives_them_back(
    client: Any, db: Database, signing: Signing, hospital: HospitalKey
) -> None:
    assert post(client, hospital, CLAIM, waiver_body()).status_code == 201  # 400 ml drawn by the A person
    report(db, signing, create_station(db, "33000002", region="330100"), donation("D2", donor={"abo": "B"}))
    refused = post(client, hospital, QUOTE, waiver_body(invoice_no="Q"))
    assert refused.json()["reasons"][0]["code"] == "identity_under_review"
    people = _persons(db)
    caller = Caller(ADA, "testclient", b"", datetime.now(UTC))
    with db.transaction() as uow:
        decision = identity_review.merge(
            uow, caller, signing, keep_id=people["B"], other_id=people["A"], evidence="血型复检为 B"
        )
    # The kept person may claim now, and the 400 ml the A person drew counts against it.
    assert post(client, hospital, QUOTE, waiver_body(invoice_no="Q")).json()["eligible"] is True
    assert _drawn(db, people["B"]) == 400
    with db.transaction() as uow:
        identity_review.undo(uow, caller, signing, decision)
    assert (_drawn(db, people["B"]), _drawn(db, people["A"])) == (0, 400)
    assert post(client, hospital, QUOTE, waiver_body(invoice_no="Q")).json()["reasons"][0]["code"] == (
        "identity_under_review"
    )


def test_persons_kept_apart_may_each_claim_again(
    client: Any, db: Database, signing: Signing, hospital: HospitalKey
) -> None:
    report(db, signing, create_station(db, "33000002", region="330100"), donation("D2", donor={"abo": "B"}))
    people = _persons(db)
    with db.transaction() as uow:
        identity_review.separate(
            uow,
            Caller(ADA, "testclient", b"", datetime.now(UTC)),
            keep_id=people["A"],
            other_id=people["B"],
            evidence="两人证件号码相同系录入错误以外的原因，已核实为不同的人",
        )
    assert _remaining(client, hospital) == 1000
