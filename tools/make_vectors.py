"""Generate tests/vectors/*.json: EU-DCC-style test vectors (as dgc-testdata keeps them) for `BC1:` payloads.

Run from the repository root: ``.venv/bin/python tools/make_vectors.py``. The output is committed; the tests
never regenerate it.

Every key here is a TEST KEY, derived from a public label, so anyone can recompute it: never trust it.
ES256 signatures are deterministic (RFC 6979), so regenerating gives byte-identical ES256 vectors;
SM2 signatures are randomised, so `valid_sm2.json` changes on every run (both outputs are equally valid).

Each file records every stage of one case and what each stage is expected to give:

- `qr_text` → `prefix`: it starts with `BC1:`;
- `base45` (`qr_text` without its 4-character prefix) → `base45_decode`: decodes to `compressed_hex`;
- `compressed_hex` → `decompress`: inflates completely (within the verifier's limit) to `cose_hex`;
- `cose_hex` → `cose_parse`: a COSE_Sign1 with `protected_hex`, `cbor_hex` (the CWT) and claims = `payload`;
- `signature`: the COSE signature verifies with `key` (the key `kid` names, or the signer when it is unknown);
- `result`: what `bloodcert.certs.verify.verify_qr` answers with `trust_list`, `status` and `verify_at`.

A stage whose input could not be produced is expected to fail, and the outputs it would give are null.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import base45
import cbor2
import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bloodcert.certs import qr
from bloodcert.certs.algorithms import Algorithm, UnsupportedAlgorithm, algorithm
from bloodcert.certs.documents import b64, parse_trust_list, sign_document
from bloodcert.certs.payload import CertificateContent, to_claims
from bloodcert.certs.verify import verify_qr
from bloodcert.domain.certno import make_certificate_no
from bloodcert.services.certificates import kid_of

OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "vectors"
WARNING = "TEST KEY derived from a public label: never trust it outside tests"
ISSUER = "CN-NHC-TEST"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SM2_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

KEY_NOT_BEFORE = datetime(2024, 1, 1, tzinfo=UTC)
KEY_NOT_AFTER = datetime(2025, 1, 1, tzinfo=UTC)
ISSUED_AT = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
AFTER_KEY_EXPIRY = datetime(2025, 2, 1, 2, 0, tzinfo=UTC)
TRUST_ISSUED = datetime(2024, 5, 1, tzinfo=UTC)
TRUST_NEXT_UPDATE = datetime(2024, 5, 2, tzinfo=UTC)
VERIFY_AT = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
LIST_ID = "1"
VALID_INDEX = 4242
REVOKED_INDEX = 77777
# 0xFF is CBOR's "break" code, which cannot begin a data item: no CBOR decoder reads anything here.
NOT_CBOR = b"\xffnot CBOR at all"


class _DeterministicES256:
    """ES256 with RFC 6979 nonces, so regenerated vectors are identical; verifies like the product's."""

    def __init__(self) -> None:
        self._inner = algorithm("ES256")

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def cose_alg(self) -> int:
        return self._inner.cose_alg

    def sign(self, private_key: Any, data: bytes) -> bytes:
        der = private_key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass(frozen=True)
class TestKey:
    """A key derived from a public label (so it is reproducible, and obviously not secret)."""

    label: str
    alg: Algorithm
    private: Any

    @property
    def public(self) -> Any:
        return self.private.public_key()

    @property
    def kid(self) -> bytes:
        return kid_of(self.alg, self.public)

    def describe(self, kid: bytes | None = None) -> dict[str, Any]:
        return {
            "label": self.label,
            "warning": WARNING,
            "kid": (kid or self.kid).hex(),
            "alg": self.alg.name,
            "public_key_pem": self.alg.public_pem(self.public).decode(),
            "private_key_pem": self.alg.private_pem(self.private).decode(),
        }


def _scalar(label: str, order: int) -> int:
    return int.from_bytes(hashlib.sha256(f"bloodcert TEST vector key: {label}".encode()).digest()) % order


def es256_key(label: str) -> TestKey:
    return TestKey(
        label, _DeterministicES256(), ec.derive_private_key(_scalar(label, P256_ORDER), ec.SECP256R1())
    )


def sm2_key(label: str) -> TestKey | None:
    try:
        alg = algorithm("SM2-SM3")
        from tongsuopy.crypto.asymciphers import ec as sm_ec

        return TestKey(label, alg, sm_ec.derive_private_key(_scalar(label, SM2_ORDER), sm_ec.SM2()))
    except (UnsupportedAlgorithm, ImportError):
        return None


def content(**overrides: Any) -> CertificateContent:
    fields: dict[str, Any] = {
        "certificate_no": make_certificate_no(2024, 42),
        "donation_no": "D20240501001",
        "station_code": "33000001",
        "station_name": "浙江省血液中心",
        "donated_on": date(2024, 5, 1),
        "kind": "whole_blood",
        "volume_ml": 400,
        "units": None,
        "holder_name": "王芳",
        "id_number_masked": "330***********1221",
        "abo": "A",
        "rhd": "positive",
        "status_list": (LIST_ID, VALID_INDEX),
    }
    fields.update(overrides)
    return CertificateContent(**fields)


def trust_list(root: TestKey, keys: list[TestKey]) -> dict[str, Any]:
    """The trust list shape of services.certificates.trust_list_document, signed by the test root."""
    document = {
        "issuer": ISSUER,
        "version": 1,
        "issued_at": TRUST_ISSUED.isoformat(),
        "next_update": TRUST_NEXT_UPDATE.isoformat(),
        "root": {
            "kid": b64(root.kid),
            "alg": root.alg.name,
            "public_key_pem": root.alg.public_pem(root.public).decode(),
        },
        "keys": [
            {
                "kid": b64(k.kid),
                "alg": k.alg.name,
                "public_key_pem": k.alg.public_pem(k.public).decode(),
                "not_before": KEY_NOT_BEFORE.isoformat(),
                "not_after": KEY_NOT_AFTER.isoformat(),
                "status": "active",
            }
            for k in keys
        ],
        "status_lists": [LIST_ID],
    }
    return sign_document(document, alg=root.alg, private_key=root.private, kid=root.kid)


def json_claims(value: Any) -> Any:
    """Claims as JSON: integer map keys become strings, bytes become hex."""
    if isinstance(value, dict):
        return {str(k): json_claims(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_claims(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def _hex(data: bytes | None) -> str | None:
    return None if data is None else data.hex()


def stages_of(qr_text: str) -> dict[str, Any]:
    """Replay the decoding stages one by one; each output is None once a stage fails."""
    out: dict[str, Any] = {"prefix": qr_text.startswith(qr.PREFIX), "base45": qr_text[len(qr.PREFIX) :]}
    compressed = cose = None
    with contextlib.suppress(ValueError):
        compressed = base45.b45decode(out["base45"])
    if compressed is not None:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(compressed, qr.MAX_INFLATED)
            if inflater.eof and not inflater.unconsumed_tail and not inflater.unused_data:
                cose = data
        except zlib.error:
            pass
    decoded = None
    if cose is not None:
        try:
            decoded = qr._parse_cose(cose)
        except Exception:  # cbor2 raises many types on hostile input
            decoded = None
    out.update(
        compressed_hex=_hex(compressed),
        cose_hex=_hex(cose),
        protected_hex=_hex(decoded.protected) if decoded else None,
        cbor_hex=_hex(decoded.payload) if decoded else None,
        payload=json_claims(decoded.claims) if decoded else None,
        decoded=decoded,
    )
    return out


def wrap(cose: bytes, prefix: str = qr.PREFIX) -> str:
    return prefix + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def cose_of(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(qr.COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def signed(claims: dict[Any, Any], signer: TestKey, kid: bytes | None = None) -> bytes:
    return qr.encode(claims, alg=signer.alg, private_key=signer.private, kid=kid or signer.kid).cose


def status_lookup(status: dict[str, list[int]]) -> Any:
    def lookup(list_id: str, index: int) -> bool | None:
        return None if list_id not in status else index in status[list_id]

    return lookup


def vector(
    name: str,
    description: str,
    qr_text: str,
    *,
    key: TestKey,
    trust: dict[str, Any],
    expected: dict[str, Any],
    status: dict[str, list[int]],
    key_kid: bytes | None = None,
    signer: TestKey | None = None,
) -> dict[str, Any]:
    """Assemble one vector and check that the product and the stage replay agree with `expected`."""
    stages = stages_of(qr_text)
    decoded = stages.pop("decoded")
    signature_ok = bool(
        decoded is not None and key.alg.verify(key.public, decoded.signature, decoded.signed_bytes())
    )
    actual = {
        "prefix": stages["prefix"],
        "base45_decode": stages["compressed_hex"] is not None,
        "decompress": stages["cose_hex"] is not None,
        "cose_parse": decoded is not None,
        "signature": signature_ok,
    }
    result = verify_qr(qr_text, parse_trust_list(trust), status_lookup(status), VERIFY_AT)
    version = segno.make(qr_text, error="q", mode="alphanumeric").version
    full = {
        **expected,
        "result": {"valid": result.valid, "reason": result.reason, "notes": list(result.notes)},
        "qr_version": version,
    }
    mismatch = {k: (v, full[k]) for k, v in actual.items() if full[k] != v}
    if mismatch or (result.valid, result.reason) != (
        expected["result"]["valid"],
        expected["result"]["reason"],
    ):
        raise SystemExit(f"{name}: stages {mismatch}, result {result.reason} vs {expected['result']}")
    doc: dict[str, Any] = {
        "name": name,
        "description": description,
        "warning": WARNING,
        "payload": stages["payload"],
        "cbor_hex": stages["cbor_hex"],
        "protected_hex": stages["protected_hex"],
        "cose_hex": stages["cose_hex"],
        "compressed_hex": stages["compressed_hex"],
        "base45": stages["base45"],
        "qr_text": qr_text,
        "key": key.describe(key_kid),
    }
    if signer is not None:
        doc["signer_key"] = signer.describe(key_kid)
    doc.update(trust_list=trust, status=status, verify_at=VERIFY_AT.isoformat(), expected=full)
    return doc


def ok_stages(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "prefix": True,
        "base45_decode": True,
        "decompress": True,
        "cose_parse": True,
        "signature": True,
        "result": result,
    }


def build() -> list[dict[str, Any]]:
    root = es256_key("root")
    signing = es256_key("signing ES256")
    other = es256_key("another ES256 key")
    stranger = es256_key("a key no trust list holds")
    sm2 = sm2_key("signing SM2-SM3")
    trusted = [signing] + ([sm2] if sm2 else [])
    trust = trust_list(root, trusted)
    status = {LIST_ID: [REVOKED_INDEX]}
    valid = {"valid": True, "reason": "ok"}

    def claims(issued_at: datetime = ISSUED_AT, **overrides: Any) -> dict[Any, Any]:
        return to_claims(content(**overrides), issuer=ISSUER, issued_at=issued_at)

    common = {"trust": trust, "status": status}
    base = signed(claims(), signing)
    vectors = [
        vector(
            "valid",
            "A whole-blood certificate signed with ES256.",
            wrap(base),
            key=signing,
            expected=ok_stages(valid),
            **common,
        ),
        vector(
            "valid_platelets",
            "An apheresis platelet certificate: units instead of a volume.",
            wrap(signed(claims(kind="platelets", volume_ml=None, units=2, rhd=None), signing)),
            key=signing,
            expected=ok_stages(valid),
            **common,
        ),
    ]
    # A payload byte changed after signing: the donation date 2024-05-01 becomes 2024-05-02.
    try:
        cbor2.loads(NOT_CBOR)
    except cbor2.CBORDecodeError:
        pass
    else:
        raise SystemExit("NOT_CBOR must not decode as CBOR")
    protected, _, payload, signature = cbor2.loads(base).value
    assert payload.count(b"2024-05-01") == 1
    tampered = payload.replace(b"2024-05-01", b"2024-05-02")
    vectors.append(
        vector(
            "tampered",
            "One payload byte changed after signing (the donation date).",
            wrap(cose_of(protected, tampered, signature)),
            key=signing,
            expected={**ok_stages({"valid": False, "reason": "bad_signature"}), "signature": False},
            **common,
        )
    )
    vectors.append(
        vector(
            "wrong_key",
            "Signed by another key that claims the trusted key's kid.",
            wrap(signed(claims(), other, kid=signing.kid)),
            key=signing,
            signer=other,
            key_kid=signing.kid,
            expected={**ok_stages({"valid": False, "reason": "bad_signature"}), "signature": False},
            **common,
        )
    )
    vectors.append(
        vector(
            "unknown_kid",
            "Signed by a key the trust list does not hold (`key` is that signer).",
            wrap(signed(claims(), stranger)),
            key=stranger,
            expected=ok_stages({"valid": False, "reason": "unknown_key"}),
            **common,
        )
    )
    vectors.append(
        vector(
            "bad_prefix",
            "The EU DCC prefix HC1: instead of BC1:; everything after it is fine.",
            wrap(base, prefix="HC1:"),
            key=signing,
            expected={**ok_stages({"valid": False, "reason": "malformed"}), "prefix": False},
            **common,
        )
    )
    text = wrap(base)
    body = text[len(qr.PREFIX) :]
    cut = len(body) // 2 // 3 * 3  # whole Base45 groups: it still decodes, but the zlib stream is cut
    vectors.append(
        vector(
            "truncated",
            "The QR text cut in half (at a Base45 group boundary).",
            qr.PREFIX + body[:cut],
            key=signing,
            expected={
                "prefix": True,
                "base45_decode": True,
                "decompress": False,
                "cose_parse": False,
                "signature": False,
                "result": {"valid": False, "reason": "malformed"},
            },
            **common,
        )
    )
    vectors.append(
        vector(
            "revoked",
            "A valid signature whose status list bit is set.",
            wrap(signed(claims(status_list=(LIST_ID, REVOKED_INDEX)), signing)),
            key=signing,
            expected=ok_stages({"valid": False, "reason": "revoked"}),
            **common,
        )
    )
    vectors.append(
        vector(
            "non_cbor",
            "Valid zlib and Base45 around bytes that are not CBOR.",
            wrap(NOT_CBOR),
            key=signing,
            expected={
                "prefix": True,
                "base45_decode": True,
                "decompress": True,
                "cose_parse": False,
                "signature": False,
                "result": {"valid": False, "reason": "malformed"},
            },
            **common,
        )
    )
    vectors.append(
        vector(
            "key_expired",
            f"Issued at {AFTER_KEY_EXPIRY.isoformat()}, after the key's not_after.",
            wrap(signed(claims(issued_at=AFTER_KEY_EXPIRY), signing)),
            key=signing,
            expected=ok_stages({"valid": False, "reason": "key_expired"}),
            **common,
        )
    )
    if sm2 is not None:
        vectors.append(
            vector(
                "valid_sm2",
                "A whole-blood certificate signed with SM2-with-SM3 (COSE alg -70010).",
                wrap(signed(claims(), sm2)),
                key=sm2,
                expected=ok_stages(valid),
                **common,
            )
        )
    else:
        print("SM2-SM3 is unavailable (pip install 'bloodcert[sm]'): valid_sm2 not written", file=sys.stderr)
    return vectors


STABLE = ("payload", "cbor_hex", "protected_hex", "key", "trust_list", "status", "verify_at", "expected")


def unchanged(path: Path, doc: dict[str, Any]) -> bool:
    """True when the file on disk differs only by a randomised signature (SM2) and still verifies the same."""
    if not path.is_file():
        return False
    old = json.loads(path.read_text(encoding="utf-8"))
    if any(old.get(k) != doc[k] for k in STABLE):
        return False
    result = verify_qr(
        old["qr_text"], parse_trust_list(old["trust_list"]), status_lookup(old["status"]), VERIFY_AT
    )
    return [result.valid, result.reason, list(result.notes)] == list(doc["expected"]["result"].values())


def main() -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for doc in build():
        path = OUTPUT / f"{doc['name']}.json"
        if unchanged(path, doc):
            print(f"unchanged {path.relative_to(OUTPUT.parent.parent)}")
            continue
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(OUTPUT.parent.parent)} (QR version {doc['expected']['qr_version']})")


if __name__ == "__main__":
    main()
