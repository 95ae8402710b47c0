"""The station API over HTTP with real RFC 9421 signatures: every auth failure and every outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import TestClient

from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.factories import StationKey, create_station, make_record, signed_headers

URL = BASE + "/api/v1/station/donations"


def post(client: TestClient, key: StationKey, payload: Any, **sign: Any) -> Any:  # type: ignore[type-arg]
    body = json.dumps(payload).encode()
    headers = signed_headers(key, "POST", URL, body, **sign)
    return client.post(URL, content=body, headers=headers)


def test_a_signed_batch_is_accepted_and_answers_per_record(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    response = post(client, key, {"records": [make_record(donation_no="A1")]})
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["outcome"] == "created"
    assert result["certificate_no"]
    assert result["errors"] == []
    assert result["warnings"] == []


def test_every_outcome_is_reported(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    post(client, key, {"records": [make_record(donation_no="A1")]})
    records = [
        make_record(donation_no="A1"),
        make_record(donation_no="A1", version=2, volume_ml=350),
        make_record(donation_no="A2", donated_at="2025-06-01T09:00:00+08:00"),
        make_record(donation_no="A3", kind="platelets", volume_ml=None, units=None),
    ]
    results = post(client, key, {"records": records}).json()["results"]
    assert [r["outcome"] for r in results] == ["unchanged", "updated", "created", "rejected"]
    assert results[3]["errors"] == [
        {"field": "units", "code": "missing_field", "message": "units is required"}
    ]
    assert results[1]["warnings"][0]["code"] == "nonstandard_volume"


def test_an_ecdsa_p256_key_is_accepted(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db, alg="ecdsa-p256-sha256")
    assert post(client, key, {"records": [make_record()]}).status_code == 200


def test_an_unsigned_request_is_401_problem_json(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    create_station(db)
    response = client.post(URL, json={"records": []})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "signature_missing"


def test_a_bad_signature_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    body = json.dumps({"records": [make_record()]}).encode()
    headers = signed_headers(key, "POST", URL, body)
    headers["Signature"] = "sig1=:" + "A" * 86 + "==:"
    response = client.post(URL, content=body, headers=headers)
    assert (response.status_code, response.json()["type"]) == (401, "signature_invalid")


def test_a_signature_over_another_url_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    body = json.dumps({"records": []}).encode()
    headers = signed_headers(key, "POST", BASE + "/api/v1/station/other", body)
    assert client.post(URL, content=body, headers=headers).json()["type"] == "signature_invalid"


def test_a_stale_created_time_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    response = post(client, key, {"records": []}, created=datetime.now(UTC) - timedelta(seconds=301))
    assert (response.status_code, response.json()["type"]) == (401, "signature_expired")


def test_a_signature_past_its_expires_time_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    # Well inside the created window, but the signer said it stops being valid a second ago.
    past = post(client, key, {"records": []}, expires=datetime.now(UTC) - timedelta(seconds=1))
    assert (past.status_code, past.json()["type"]) == (401, "signature_expired")
    future = post(client, key, {"records": []}, expires=datetime.now(UTC) + timedelta(seconds=60))
    assert future.status_code == 200


def test_a_created_time_in_the_future_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    response = post(client, key, {"records": []}, created=datetime.now(UTC) + timedelta(seconds=301))
    assert response.status_code == 401


def test_a_replayed_nonce_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    body = json.dumps({"records": [make_record()]}).encode()
    headers = signed_headers(key, "POST", URL, body, nonce="n-1")
    assert client.post(URL, content=body, headers=headers).status_code == 200
    replay = client.post(URL, content=body, headers=headers)
    assert (replay.status_code, replay.json()["type"]) == (401, "replayed_nonce")


def test_a_body_that_does_not_match_its_digest_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    body = json.dumps({"records": [make_record(volume_ml=400)]}).encode()
    headers = signed_headers(key, "POST", URL, body)
    tampered = body.replace(b"400", b"200")
    response = client.post(URL, content=tampered, headers=headers)
    assert (response.status_code, response.json()["type"]) == (401, "digest_mismatch")


def test_an_unknown_key_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    response = post(client, key, {"records": []}, key_id="stk_unknown")
    assert (response.status_code, response.json()["type"]) == (401, "unknown_key")


def test_a_revoked_key_is_refused(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    from bloodcert.services.stations import revoke_station_key

    key = create_station(db)
    with db.transaction() as uow:
        revoke_station_key(uow, key_id=key.key_id, now=datetime.now(UTC))
    assert post(client, key, {"records": []}).json()["type"] == "unknown_key"


def test_a_key_only_acts_for_its_own_station(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    own = create_station(db, "33000001")
    other = create_station(db, "11000001", region="110000")
    post(client, own, {"records": [make_record(donation_no="A1")]})
    # The other station's key reports the same donation number: it lands in its own station.
    result = post(client, other, {"records": [make_record(donation_no="A1", volume_ml=300)]}).json()[
        "results"
    ][0]
    assert result["outcome"] == "created"
    quality = client.get(
        BASE + "/api/v1/station/quality",
        headers=signed_headers(own, "GET", BASE + "/api/v1/station/quality", None),
    )
    assert quality.json()["station"] == "33000001"


def test_another_stations_signature_cannot_be_passed_off_with_a_borrowed_key_id(
    client: TestClient,
    db: Database,  # type: ignore[type-arg]
) -> None:
    own = create_station(db, "33000001")
    other = create_station(db, "11000001", region="110000")
    body = json.dumps({"records": []}).encode()
    headers = signed_headers(other, "POST", URL, body, key_id=own.key_id)
    assert client.post(URL, content=body, headers=headers).json()["type"] == "signature_invalid"


def test_an_oversize_body_is_413(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    body = b'{"records": ["' + b"x" * (2 * 1024 * 1024) + b'"]}'
    headers = signed_headers(key, "POST", URL, body)
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


def test_more_than_1000_records_is_413(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    response = post(client, key, {"records": [{}] * 1001})
    assert (response.status_code, response.json()["type"]) == (413, "payload_too_large")


def test_a_body_that_is_not_a_batch_is_400(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    response = post(client, key, [1, 2])
    assert (response.status_code, response.json()["type"]) == (400, "validation_failed")


def test_a_deeply_nested_body_is_a_400_problem(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    body = b'{"records": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post(URL, content=body, headers=signed_headers(key, "POST", URL, body))
    assert (response.status_code, response.json()["type"]) == (400, "validation_failed")


def test_the_quality_endpoint_lists_the_stations_own_open_issues(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    create_station(db, "11000001", region="110000")
    post(
        client,
        key,
        {
            "records": [
                make_record(volume_ml=350),
                make_record(site={"name": "x", "type": "fixed", "region": "999999"}),
            ]
        },
    )
    url = BASE + "/api/v1/station/quality"
    body = client.get(url, headers=signed_headers(key, "GET", url, None)).json()
    assert body["open"] == 2
    assert body["counts"] == {"nonstandard_volume": 1, "unknown_region": 1}


def test_problems_never_leak_internals(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get(BASE + "/api/v1/nowhere")
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"
    assert "Traceback" not in response.text


def test_healthz_and_openapi(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get(BASE + "/healthz").status_code == 200
    assert client.get(BASE + "/readyz").json()["ready"] is True
    doc = client.get(BASE + "/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/v1/station/donations" in doc["paths"]
