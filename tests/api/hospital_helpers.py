"""Hospitals with keys, signed hospital requests, and donors with donations to waive against."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bloodcert.services.hospitals import add_hospital_key, register_hospital
from bloodcert.services.request_signing import RequestSigner
from bloodcert.storage.repositories.waivers import HospitalRow
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.factories import LI_LEI, WANG_FANG, StationKey, make_record

QUOTE = BASE + "/api/v1/hospital/waivers/quote"
CLAIM = BASE + "/api/v1/hospital/waivers"


@dataclass(frozen=True)
class HospitalKey:
    """A registered hospital and the private key it signs with."""

    hospital: HospitalRow
    key_id: str
    alg: str
    private_key: Any


def _new_private(alg: str) -> tuple[Any, bytes]:
    if alg == "sm2-sm3":
        from bloodcert.certs.sm2 import SM2Algorithm

        sm2 = SM2Algorithm()
        private = sm2.generate()
        return private, sm2.public_pem(private.public_key())
    private: Any = (
        ed25519.Ed25519PrivateKey.generate() if alg == "ed25519" else ec.generate_private_key(ec.SECP256R1())
    )
    return private, private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def create_hospital(
    db: Database, code: str = "H3301001", *, region: str = "330106", alg: str = "ed25519"
) -> HospitalKey:
    """Register a hospital with one fresh key of `alg`."""
    private, public_pem = _new_private(alg)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        hospital = uow.hospitals.get_by_code(code) or register_hospital(
            uow, code=code, name=f"测试医院{code}", region=region, now=now
        )
        key_id = add_hospital_key(uow, code=code, public_key_pem=public_pem, alg=alg, now=now)
    return HospitalKey(hospital, key_id, alg, private)


def sign(key: HospitalKey | StationKey, method: str, url: str, body: bytes | None) -> dict[str, str]:
    """RFC 9421 headers, for any of the three algorithms."""
    return RequestSigner(key.key_id, key.alg, key.private_key).headers(method, url, body)


def post(client: Any, key: HospitalKey | StationKey, url: str, payload: Any) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return client.post(url, content=body, headers=sign(key, "POST", url, body))


def get(client: Any, key: HospitalKey | StationKey, url: str) -> Any:
    return client.get(url, headers=sign(key, "GET", url, None))


def party(donor: dict[str, Any]) -> dict[str, str]:
    return {"id_type": donor["id_type"], "id_number": donor["id_number"], "name": donor["name"]}


def waiver_body(
    invoice_no: str = "INV-1",
    *,
    donor: dict[str, Any] | None = None,
    patient: dict[str, Any] | None = None,
    relationship: str = "self",
    proof: str = "none",
    transfused_at: str = "2025-06-01",
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A claim for 王芳's own transfusion of 400 ml of red cells costing 520 元, unless told otherwise."""
    donor = donor or WANG_FANG
    return {
        "invoice_no": invoice_no,
        "patient": party(patient or donor),
        "donor": party(donor),
        "relationship": relationship,
        "proof": proof,
        "transfused_at": transfused_at,
        "items": items or [{"component": "red_cells", "volume_ml": 400, "units": None, "amount_fen": 52000}],
    }


def report(db: Database, signing: Any, station: StationKey, *records: dict[str, Any]) -> None:
    """Record donations as the station API would."""
    from bloodcert.services.reporting import report_donations
    from tests.conftest import INDEX_KEY

    with db.transaction() as uow:
        results = report_donations(
            uow,
            station=station.station,
            records=list(records),
            index_key=INDEX_KEY,
            signing=signing,
            now=datetime.now(UTC),
        )
    assert all(r.outcome == "created" for r in results), results


def donation(no: str, *, donor: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A 200 ml whole-blood donation in 2024 (Zhejiang rules: 5x for five years)."""
    fields: dict[str, Any] = {"volume_ml": 200, "donated_at": "2024-05-01T09:30:00+08:00", **overrides}
    return make_record(donation_no=no, donor=donor or {}, **fields)


__all__ = ["LI_LEI", "WANG_FANG"]
