"""SM2-with-SM3, the optional national algorithm: station request signatures and certificate signing."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing, rotate_keys
from bloodcert.services.stations import add_station_key, register_station
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.factories import make_record

tongsuopy = pytest.importorskip("tongsuopy", reason="SM2 needs the `sm` extra")

from http_message_signatures import HTTPMessageSigner, MappingKeyResolver  # noqa: E402

from bloodcert.certs.sm2 import SM2Algorithm, SM2SM3Signature  # noqa: E402

URL = BASE + "/api/v1/station/donations"


@dataclass
class _Msg:
    method: str
    url: str
    headers: dict[str, str]


def test_a_station_signing_with_sm2_sm3_is_accepted_and_a_forgery_is_not(
    client: TestClient, db: Database
) -> None:  # type: ignore[type-arg]
    alg = SM2Algorithm()
    private = alg.generate()
    now = datetime.now(UTC)
    with db.transaction() as uow:
        register_station(uow, code="65000001", name="新疆维吾尔自治区血液中心", region="650000", now=now)
        key_id = add_station_key(
            uow, code="65000001", public_key_pem=alg.public_pem(private.public_key()), alg="sm2-sm3", now=now
        )
    body = json.dumps({"records": [make_record()]}).encode()
    message = _Msg("POST", URL, {"Content-Type": "application/json"})
    signer = HTTPMessageSigner(
        signature_algorithm=SM2SM3Signature,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private}),
    )
    signer.sign(
        message,
        key_id=key_id,
        nonce=uuid.uuid4().hex,
        label="sig1",
        body=body,
        covered_component_ids=("@method", "@target-uri", "content-digest", "content-type"),
    )
    assert client.post(URL, content=body, headers=message.headers).status_code == 200
    other = alg.generate()
    forged = _Msg("POST", URL, {"Content-Type": "application/json"})
    HTTPMessageSigner(
        signature_algorithm=SM2SM3Signature,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: other}),
    ).sign(
        forged,
        key_id=key_id,
        nonce=uuid.uuid4().hex,
        label="sig1",
        body=body,
        covered_component_ids=("@method", "@target-uri", "content-digest", "content-type"),
    )
    assert client.post(URL, content=body, headers=forged.headers).status_code == 401


def test_certificates_signed_with_sm2_verify_through_the_api(
    settings: Settings, db: Database, signing: Signing
) -> None:
    sm2 = replace(signing, alg_name="SM2-SM3")
    with db.transaction() as uow:
        key = rotate_keys(uow, sm2, datetime.now(UTC))
    assert key.alg == "SM2-SM3"
    from bloodcert.services.reporting import report_donations
    from tests.conftest import INDEX_KEY
    from tests.factories import create_station

    create_station(db)
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        [result] = report_donations(
            uow,
            station=station,
            records=[make_record()],
            index_key=INDEX_KEY,
            signing=sm2,
            now=datetime.now(UTC),
        )
        cert = uow.certificates.get_by_no(result.certificate_no or "")
    assert cert is not None
    with TestClient(create_app(replace(settings, cert_alg="SM2-SM3"), db=db), base_url=BASE) as client:
        verdict = client.post(BASE + "/api/v1/verify", json={"qr": cert.qr}).json()
    assert (verdict["valid"], verdict["reason"]) == (True, "ok")
