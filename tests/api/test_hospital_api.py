"""The hospital waiver API over HTTP with real signatures: quote, claim, replay, reverse, list, and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bloodcert.services.certificates import Signing
from bloodcert.storage.tables import audit_log, waiver_ledger, waivers
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.hospital_helpers import (
    CLAIM,
    LI_LEI,
    QUOTE,
    WANG_FANG,
    HospitalKey,
    create_hospital,
    donation,
    get,
    party,
    post,
    report,
    waiver_body,
)
from tests.factories import create_station, make_record

STATION_DONATIONS = BASE + "/api/v1/station/donations"


@pytest.fixture
def hospital(db: Database, signing: Signing) -> HospitalKey:
    """A Hangzhou hospital, and 王芳 with one 200 ml donation in Zhejiang (self pool: 1000 ml)."""
    station = create_station(db, "33000001", region="330000")
    report(db, signing, station, donation("D1"))
    return create_hospital(db)


def test_a_quote_shows_the_pool_and_changes_nothing(client: Any, db: Database, hospital: HospitalKey) -> None:
    response = post(client, hospital, QUOTE, waiver_body())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["eligible"] is True
    assert (body["waivable_ml"], body["waivable_fen"], body["unlimited"]) == (400, 52000, False)
    assert body["basis"] == [
        {
            "province": "33",
            "pool": "self",
            "rule": "33@2020-01-01",
            "unlimited": False,
            "remaining_before_ml": 1000,
            "remaining_before_fen": None,
            "waived_ml": None,
            "waived_fen": None,
            "paying_station": None,
        }
    ]
    with db.reading() as uow:
        assert uow.conn.execute(select(func.count()).select_from(waivers)).scalar_one() == 0


def test_a_claim_draws_on_the_pool_and_a_repeat_replays_it(
    client: Any, db: Database, hospital: HospitalKey
) -> None:
    first = post(client, hospital, CLAIM, waiver_body())
    assert first.status_code == 201, first.text
    waiver = first.json()
    assert (waiver["waived_ml"], waiver["waived_fen"]) == (400, 52000)
    [basis] = waiver["basis"]
    assert (basis["paying_station"], basis["remaining_before_ml"], basis["waived_ml"]) == (
        "33000001",
        1000,
        400,
    )
    again = post(client, hospital, CLAIM, waiver_body())
    assert again.status_code == 200
    assert again.json() == waiver
    other = post(client, hospital, CLAIM, waiver_body(transfused_at="2025-06-02"))
    assert other.status_code == 409
    assert other.json()["type"] == "invoice_conflict"
    with db.reading() as uow:
        assert uow.conn.execute(select(func.count()).select_from(waiver_ledger)).scalar_one() == 1


def test_a_volume_pool_waives_in_proportion_to_what_is_left_then_refuses(
    client: Any, db: Database, hospital: HospitalKey
) -> None:
    big = [{"component": "red_cells", "volume_ml": 800, "amount_fen": 104000}]
    assert post(client, hospital, CLAIM, waiver_body("A", items=big)).json()["waived_ml"] == 800
    partial = post(
        client,
        hospital,
        CLAIM,
        waiver_body("B", items=[{"component": "plasma", "volume_ml": 300, "amount_fen": 10001}]),
    )
    assert partial.status_code == 201
    assert (partial.json()["waived_ml"], partial.json()["waived_fen"]) == (200, 10001 * 200 // 300)
    empty = post(client, hospital, CLAIM, waiver_body("C"))
    assert empty.status_code == 422
    assert empty.json()["type"] == "not_eligible"
    assert "pool_exhausted" in {e["code"] for e in empty.json()["errors"]}


def test_a_reversal_restores_the_pool_and_a_second_is_refused(
    client: Any, db: Database, hospital: HospitalKey
) -> None:
    waiver_id = post(
        client,
        hospital,
        CLAIM,
        waiver_body(items=[{"component": "red_cells", "volume_ml": 1000, "amount_fen": 130000}]),
    ).json()["waiver_id"]
    assert post(client, hospital, QUOTE, waiver_body("Q")).json()["eligible"] is False
    url = f"{CLAIM}/{waiver_id}/reverse"
    reversed_ = post(client, hospital, url, {})
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["reversed_at"] is not None
    assert post(client, hospital, QUOTE, waiver_body("Q")).json()["basis"][0]["remaining_before_ml"] == 1000
    second = post(client, hospital, url, {})
    assert (second.status_code, second.json()["type"]) == (409, "already_reversed")
    with db.reading() as uow:
        entries = uow.conn.execute(
            select(waiver_ledger.c.entry, waiver_ledger.c.ml).order_by(waiver_ledger.c.id)
        ).all()
    assert [tuple(e) for e in entries] == [("draw", 1000), ("reversal", -1000)]


def test_another_hospital_can_neither_reverse_nor_list_a_waiver(
    client: Any, db: Database, hospital: HospitalKey
) -> None:
    waiver_id = post(client, hospital, CLAIM, waiver_body()).json()["waiver_id"]
    other = create_hospital(db, "H3301002")
    assert post(client, other, f"{CLAIM}/{waiver_id}/reverse", {}).status_code == 404
    assert get(client, other, CLAIM).json() == {"waivers": []}
    mine = get(client, hospital, CLAIM + "?from=2020-01-01&to=2099-12-31").json()["waivers"]
    assert [w["waiver_id"] for w in mine] == [waiver_id]


def test_a_station_key_is_refused_on_hospital_routes_and_a_hospital_key_on_station_routes(
    client: Any, db: Database, hospital: HospitalKey
) -> None:
    station = create_station(db, "31000001", region="310000")
    for url in (QUOTE, CLAIM):
        refused = post(client, station, url, waiver_body())
        assert (refused.status_code, refused.json()["type"]) == (401, "unknown_key")
    assert get(client, station, CLAIM).status_code == 401
    assert post(client, hospital, STATION_DONATIONS, {"records": [make_record()]}).status_code == 401
    assert get(client, hospital, BASE + "/api/v1/station/quality").status_code == 401


@pytest.mark.parametrize("alg", ["ecdsa-p256-sha256", "sm2-sm3"])
def test_hospital_keys_of_every_algorithm_are_accepted(
    client: Any, db: Database, hospital: HospitalKey, alg: str
) -> None:
    if alg == "sm2-sm3":
        pytest.importorskip("tongsuopy", reason="SM2 needs the `sm` extra")
    key = create_hospital(db, alg=alg)
    assert post(client, key, QUOTE, waiver_body()).status_code == 200


def test_a_revoked_hospital_key_is_refused(client: Any, db: Database, hospital: HospitalKey) -> None:
    from datetime import UTC, datetime

    from bloodcert.services.hospitals import revoke_hospital_key

    with db.transaction() as uow:
        revoke_hospital_key(uow, key_id=hospital.key_id, now=datetime.now(UTC))
    assert post(client, hospital, QUOTE, waiver_body()).status_code == 401


def test_a_relative_needs_proof_and_the_proof_is_recorded(
    client: Any, db: Database, hospital: HospitalKey
) -> None:
    spouse = {**LI_LEI}
    body = waiver_body("R1", patient=spouse, relationship="spouse")
    refused = post(client, hospital, CLAIM, body)
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (422, "proof_required")
    body["proof"] = "marriage_certificate"
    accepted = post(client, hospital, CLAIM, body)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["basis"][0]["pool"] == "relatives"
    with db.reading() as uow:
        assert uow.conn.execute(select(waivers.c.proof, waivers.c.patient_name)).one() == (
            "marriage_certificate",
            "李雷",
        )
        raw = uow.conn.exec_driver_sql("SELECT patient_name FROM waivers").scalar_one()
    assert "李雷".encode() not in bytes(raw)  # encrypted at rest


def test_a_sibling_of_a_donor_without_a_gold_award_is_not_covered(client: Any, hospital: HospitalKey) -> None:
    refused = post(
        client,
        hospital,
        CLAIM,
        waiver_body(patient=LI_LEI, relationship="sibling", proof="household_register"),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "relationship_not_covered"


def test_an_unknown_donor_and_a_wrong_name_are_not_eligible(client: Any, hospital: HospitalKey) -> None:
    stranger = post(client, hospital, QUOTE, waiver_body(donor=LI_LEI))
    assert stranger.json()["reasons"][0]["code"] == "unknown_donor"
    wrong_name = {**WANG_FANG, "name": "王芬"}
    refused = post(client, hospital, CLAIM, waiver_body(donor=wrong_name))
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (422, "unknown_donor")


def test_an_identity_under_review_is_not_eligible(
    client: Any, db: Database, signing: Signing, hospital: HospitalKey
) -> None:
    station = create_station(db, "32000001", region="320000")
    report(db, signing, station, donation("X1", donor={"abo": "B"}))
    refused = post(client, hospital, CLAIM, waiver_body())
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (422, "identity_under_review")


def test_every_request_and_waiver_is_audited(client: Any, db: Database, hospital: HospitalKey) -> None:
    post(client, hospital, QUOTE, waiver_body())
    post(client, hospital, CLAIM, waiver_body())
    post(client, hospital, CLAIM, waiver_body(transfused_at="2025-06-02"))
    with db.reading() as uow:
        rows = uow.conn.execute(select(audit_log.c.actor, audit_log.c.action, audit_log.c.outcome)).all()
    mine = [tuple(r) for r in rows if r[0] == "hospital:H3301001"]
    assert mine == [
        ("hospital:H3301001", "waiver.quote", "ok"),
        ("hospital:H3301001", "waiver.claim", "ok"),
        ("hospital:H3301001", "waiver.claim", "invoice_conflict"),
    ]


PLATELETS = {"component": "platelets", "units": 1, "amount_fen": 150000}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [{"component": "serum", "volume_ml": 200, "amount_fen": 100}]}, "items[0].component"),
        ({"items": [{"component": "red_cells", "volume_ml": 200, "amount_fen": 0}]}, "items[0].amount_fen"),
        ({"items": [{"component": "red_cells", "volume_ml": -200, "amount_fen": 100}]}, "items[0].volume_ml"),
        ({"items": [{"component": "red_cells", "amount_fen": 100}]}, "items[0].volume_ml"),
        ({"items": [{"component": "platelets", "amount_fen": 100}]}, "items[0].units"),
        ({"transfused_at": "2099-01-01"}, "transfused_at"),
        ({"transfused_at": "2001-01-01"}, "transfused_at"),
        ({"transfused_at": "01/06/2025"}, "transfused_at"),
        ({"relationship": "cousin"}, "relationship"),
        ({"relationship": "spouse", "proof": "household_register"}, "relationship"),
        ({"patient": party(LI_LEI)}, "patient"),
        ({"invoice_no": "X" * 65}, "invoice_no"),
        ({"invoice_no": ""}, "invoice_no"),
        ({"proof": "affidavit"}, "proof"),
        ({"patient": {**party(LI_LEI), "id_number": "110105198503150044"}}, "patient.id_number"),
        ({"donor": {**party(WANG_FANG), "id_type": "library_card"}}, "donor.id_type"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_draws_nothing(
    client: Any, db: Database, hospital: HospitalKey, change: dict[str, Any], field: str
) -> None:
    response = post(client, hospital, CLAIM, {**waiver_body(), **change})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in response.json()["errors"]}
    with db.reading() as uow:
        assert uow.conn.execute(select(func.count()).select_from(waiver_ledger)).scalar_one() == 0


def test_platelets_are_counted_in_units(client: Any, hospital: HospitalKey) -> None:
    response = post(client, hospital, QUOTE, waiver_body(items=[PLATELETS]))
    assert response.json()["waivable_ml"] == 200
