"""The committed test vectors (tests/vectors/*.json, made by tools/make_vectors.py), replayed stage by stage.

Each stage is checked on its own, from the previous stage's stored output, with plain libraries (base45, zlib,
cbor2, cryptography) rather than the product's pipeline; then the whole text goes through `verify_qr`. The
valid vectors are also decoded and verified by pycose, an independent COSE implementation, and their QR
images are rendered with segno and read back with zxing-cpp.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
import segno
from cryptography.hazmat.primitives import serialization

from bloodcert.certs import qr
from bloodcert.certs.algorithms import UnsupportedAlgorithm, algorithm
from bloodcert.certs.documents import InvalidDocument, parse_trust_list
from bloodcert.certs.payload import from_claims
from bloodcert.certs.verify import StatusLookup, verify_qr

VECTOR_DIR = Path(__file__).resolve().parent.parent / "vectors"
VECTOR_FILES = sorted(VECTOR_DIR.glob("*.json"))
REQUIRED = {
    "valid",
    "valid_platelets",
    "tampered",
    "wrong_key",
    "unknown_kid",
    "bad_prefix",
    "truncated",
    "revoked",
    "non_cbor",
    "key_expired",
}
COSE_ALGS = {"ES256": -7, "SM2-SM3": -70010}


def _sm2_available() -> bool:
    try:
        algorithm("SM2-SM3")
    except UnsupportedAlgorithm:
        return False
    return True


def load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if vector["key"]["alg"] == "SM2-SM3" and not _sm2_available():
        pytest.skip("SM2-SM3 needs the `sm` extra (tongsuopy)")
    return vector


def status_lookup(status: dict[str, list[int]]) -> StatusLookup:
    def lookup(list_id: str, index: int) -> bool | None:
        return None if list_id not in status else index in status[list_id]

    return lookup


def json_claims(value: Any) -> Any:
    """What the vectors store: integer map keys as strings."""
    if isinstance(value, dict):
        return {str(k): json_claims(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_claims(v) for v in value]
    return value


def raw_hex(vector: dict[str, Any], name: str) -> bytes | None:
    value = vector[name]
    return None if value is None else bytes.fromhex(value)


VECTORS = pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])


def test_every_required_case_has_a_vector() -> None:
    names = {p.stem for p in VECTOR_FILES}
    assert names >= REQUIRED
    assert ("valid_sm2" in names) or not _sm2_available()
    for path in VECTOR_FILES:
        vector = json.loads(path.read_text(encoding="utf-8"))
        assert vector["name"] == path.stem
        assert "TEST KEY" in vector["key"]["warning"]
        assert set(vector["expected"]) == {
            "prefix",
            "base45_decode",
            "decompress",
            "cose_parse",
            "signature",
            "result",
            "qr_version",
        }


@VECTORS
def test_prefix_stage(path: Path) -> None:
    vector = load(path)
    assert vector["qr_text"].startswith("BC1:") is vector["expected"]["prefix"]
    assert vector["base45"] == vector["qr_text"][4:]


@VECTORS
def test_base45_stage(path: Path) -> None:
    vector = load(path)
    compressed = raw_hex(vector, "compressed_hex")
    if not vector["expected"]["base45_decode"]:
        assert compressed is None
        with pytest.raises(ValueError, match=r"."):
            base45.b45decode(vector["base45"])
        return
    assert compressed is not None
    assert base45.b45decode(vector["base45"]) == compressed
    assert base45.b45encode(compressed).decode("ascii") == vector["base45"]


@VECTORS
def test_decompress_stage(path: Path) -> None:
    vector = load(path)
    compressed, cose = raw_hex(vector, "compressed_hex"), raw_hex(vector, "cose_hex")
    if not vector["expected"]["decompress"]:
        assert cose is None
        if compressed is not None:
            with pytest.raises(zlib.error):
                zlib.decompress(compressed)
        return
    assert compressed is not None
    inflater = zlib.decompressobj()
    assert inflater.decompress(compressed) == cose
    assert inflater.eof
    assert inflater.unused_data == b""


def _parse_independently(cose: bytes) -> tuple[bytes, dict[Any, Any], bytes, bytes]:
    """COSE_Sign1 read with cbor2 alone: tag 18 around [protected, unprotected, payload, signature]."""
    message = cbor2.loads(cose)
    assert isinstance(message, cbor2.CBORTag)
    assert message.tag == 18
    protected, unprotected, payload, signature = message.value
    return protected, dict(unprotected), payload, signature


@VECTORS
def test_cose_stage(path: Path) -> None:
    vector = load(path)
    cose = raw_hex(vector, "cose_hex")
    if not vector["expected"]["cose_parse"]:
        assert vector["protected_hex"] is None
        assert vector["cbor_hex"] is None
        assert vector["payload"] is None
        if cose is not None:
            with pytest.raises(Exception):  # noqa: B017, PT011 - cbor2 raises several types
                _parse_independently(cose)
        return
    assert cose is not None
    protected, unprotected, payload, signature = _parse_independently(cose)
    assert protected.hex() == vector["protected_hex"]
    assert payload.hex() == vector["cbor_hex"]
    assert unprotected == {}
    assert len(signature) == 64
    header = cbor2.loads(protected)
    signer = vector.get("signer_key", vector["key"])
    assert header == {1: COSE_ALGS[signer["alg"]], 4: bytes.fromhex(signer["kid"])}
    claims = cbor2.loads(payload)
    assert json_claims(claims) == vector["payload"]
    assert set(claims) == {1, 6, -70001}
    assert "id_number" not in json.dumps(vector["payload"])
    # The product's parser agrees with the independent one.
    decoded = qr._parse_cose(cose)
    assert (decoded.protected, decoded.payload, decoded.signature) == (protected, payload, signature)


def _verify_raw(alg_name: str, public_pem: str, signature: bytes, data: bytes) -> bool:
    if alg_name == "ES256":
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        key = serialization.load_pem_public_key(public_pem.encode())
        assert isinstance(key, ec.EllipticCurvePublicKey)
        der = encode_dss_signature(int.from_bytes(signature[:32]), int.from_bytes(signature[32:]))
        try:
            key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True
    alg = algorithm(alg_name)
    return alg.verify(alg.load_public(public_pem.encode()), signature, data)


@VECTORS
def test_signature_stage(path: Path) -> None:
    vector = load(path)
    if not vector["expected"]["cose_parse"]:
        assert vector["expected"]["signature"] is False
        return
    protected, _, payload, signature = _parse_independently(bytes.fromhex(vector["cose_hex"]))
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])  # RFC 9052 §4.4
    key = vector["key"]
    assert (
        _verify_raw(key["alg"], key["public_key_pem"], signature, sig_structure)
        is vector["expected"]["signature"]
    )
    if "signer_key" in vector:  # wrong_key: the signature is genuine, by a key that is not the kid's
        signer = vector["signer_key"]
        assert _verify_raw(signer["alg"], signer["public_key_pem"], signature, sig_structure)


@VECTORS
def test_the_test_keys_pair_up(path: Path) -> None:
    vector = load(path)
    for key in [vector["key"], *([vector["signer_key"]] if "signer_key" in vector else [])]:
        alg = algorithm(key["alg"])
        private = alg.load_private(key["private_key_pem"].encode())
        assert alg.public_pem(private.public_key()).decode() == key["public_key_pem"]


@VECTORS
def test_the_trust_list_is_signed_by_its_root(path: Path) -> None:
    vector = load(path)
    document = vector["trust_list"]
    trust = parse_trust_list(document, pinned_root_pem=document["root"]["public_key_pem"])
    if vector["payload"] is not None:
        assert trust.issuer == vector["payload"]["1"]
    kid = bytes.fromhex(vector["key"]["kid"])
    assert (kid in trust.keys) is (vector["name"] != "unknown_kid")
    forged = {**document, "keys": [{**document["keys"][0], "not_after": "2099-01-01T00:00:00+00:00"}]}
    with pytest.raises(InvalidDocument):
        parse_trust_list(forged)


@VECTORS
def test_verification_gives_the_expected_result(path: Path) -> None:
    vector = load(path)
    trust = parse_trust_list(vector["trust_list"])
    now = datetime.fromisoformat(vector["verify_at"])
    result = verify_qr(vector["qr_text"], trust, status_lookup(vector["status"]), now)
    expected = vector["expected"]["result"]
    assert result.valid is expected["valid"]
    assert result.reason == expected["reason"]
    assert list(result.notes) == expected["notes"]
    if result.valid:
        assert result.content is not None
        content, issuer, issued_at = from_claims(cbor2.loads(bytes.fromhex(vector["cbor_hex"])))
        assert result.content == content
        assert (issuer, int(issued_at.timestamp())) == (vector["payload"]["1"], vector["payload"]["6"])
        assert result.content.id_number_masked == vector["payload"]["-70001"]["id"]
        # Past the trust list's next update the answer is the same, marked stale.
        stale = verify_qr(
            vector["qr_text"], trust, status_lookup(vector["status"]), trust.next_update.replace(year=2030)
        )
        assert (stale.valid, stale.notes) == (True, ("trust_list_stale",))
        # An unknown status list is not a revocation, but the verifier says it could not check.
        unknown = verify_qr(vector["qr_text"], trust, lambda _list, _index: None, now)
        assert (unknown.valid, unknown.notes) == (True, ("status_unknown",))


ISSUABLE = [
    p for p in VECTOR_FILES if p.stem in {"valid", "valid_platelets", "valid_sm2", "revoked", "key_expired"}
]


@pytest.mark.parametrize("path", ISSUABLE, ids=[p.stem for p in ISSUABLE])
def test_the_product_encoder_reproduces_the_stages(path: Path) -> None:
    vector = load(path)
    key = vector["key"]
    alg = algorithm(key["alg"])
    claims = cbor2.loads(bytes.fromhex(vector["cbor_hex"]))
    stages = qr.encode(
        claims,
        alg=alg,
        private_key=alg.load_private(key["private_key_pem"].encode()),
        kid=bytes.fromhex(key["kid"]),
    )
    assert stages.cbor.hex() == vector["cbor_hex"]
    assert stages.protected.hex() == vector["protected_hex"]
    if key["alg"] == "ES256":
        # The vectors' ES256 signatures are deterministic (RFC 6979), the product's randomised: with the
        # stored signature swapped in, the stored COSE and compressed bytes come back exactly.
        _, _, _, signature = _parse_independently(bytes.fromhex(vector["cose_hex"]))
        cose = cbor2.dumps(cbor2.CBORTag(18, [stages.protected, {}, stages.cbor, signature]))
        assert cose.hex() == vector["cose_hex"]
        assert zlib.compress(cose, 9).hex() == vector["compressed_hex"]
    decoded = qr.decode(stages.qr_text)
    assert decoded.claims == claims


# pycose: an independent COSE implementation.


def _pycose_key(public_pem: str, private_pem: str | None = None) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    from pycose.keys import EC2Key
    from pycose.keys.curves import P256
    from pycose.keys.keyparam import EC2KpCurve, EC2KpD, EC2KpX, EC2KpY, KpKty
    from pycose.keys.keytype import KtyEC2

    public = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    numbers = public.public_numbers()
    fields: dict[Any, Any] = {
        KpKty: KtyEC2,
        EC2KpCurve: P256,
        EC2KpX: numbers.x.to_bytes(32, "big"),
        EC2KpY: numbers.y.to_bytes(32, "big"),
    }
    if private_pem is not None:
        private = serialization.load_pem_private_key(private_pem.encode(), password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        fields[EC2KpD] = private.private_numbers().private_value.to_bytes(32, "big")
    return EC2Key.from_dict(fields)


def _pycose_decode(cose: bytes) -> Any:
    """A Sign1Message decoded by pycose.

    pycose 1.1.0's `CoseMessage.decode` expects cbor2 to return a tag's array as a list and its maps as dicts;
    cbor2 6 returns a tuple and a frozendict inside tags, so decode() refuses every tagged message. The outer
    CBOR is therefore read here and handed to pycose's own `from_cose_obj`, which does the COSE work.
    """
    from pycose.messages import Sign1Message

    tag = cbor2.loads(cose)
    assert tag.tag == Sign1Message.cbor_tag
    protected, unprotected, payload, signature = tag.value
    return Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature], True)


ES256_PARSED = [p for p in VECTOR_FILES if p.stem not in {"truncated", "non_cbor", "valid_sm2"}]


@pytest.mark.parametrize("path", ES256_PARSED, ids=[p.stem for p in ES256_PARSED])
def test_pycose_agrees_on_every_es256_signature(path: Path) -> None:
    from pycose.algorithms import Es256
    from pycose.headers import KID, Algorithm

    vector = load(path)
    message = _pycose_decode(bytes.fromhex(vector["cose_hex"]))
    assert message.phdr[Algorithm] is Es256
    assert message.phdr[KID] == bytes.fromhex(vector.get("signer_key", vector["key"])["kid"])
    assert message.payload.hex() == vector["cbor_hex"]
    message.key = _pycose_key(vector["key"]["public_key_pem"])
    assert message.verify_signature() is vector["expected"]["signature"]


def test_a_message_signed_by_pycose_verifies_with_bloodcert() -> None:
    from pycose.algorithms import Es256
    from pycose.headers import KID, Algorithm
    from pycose.messages import Sign1Message

    vector = load(VECTOR_DIR / "valid.json")
    key = vector["key"]
    message = Sign1Message(
        phdr={Algorithm: Es256, KID: bytes.fromhex(key["kid"])}, payload=bytes.fromhex(vector["cbor_hex"])
    )
    message.key = _pycose_key(key["public_key_pem"], key["private_key_pem"])
    text = "BC1:" + base45.b45encode(zlib.compress(message.encode(), 9)).decode("ascii")
    trust = parse_trust_list(vector["trust_list"])
    result = verify_qr(
        text, trust, status_lookup(vector["status"]), datetime.fromisoformat(vector["verify_at"])
    )
    assert (result.valid, result.reason) == (True, "ok")
    assert result.content is not None
    assert result.content.certificate_no == vector["payload"]["-70001"]["no"]


# The QR image: rendered by segno, read back by zxing-cpp (a real decoder).


@VECTORS
def test_the_qr_image_reads_back_exactly(path: Path) -> None:
    import zxingcpp
    from PIL import Image

    vector = load(path)
    code = segno.make(vector["qr_text"], error="q", mode="alphanumeric")
    assert code.version == vector["expected"]["qr_version"]
    assert code.mode == "alphanumeric"
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=4, border=4)
    buffer.seek(0)
    results = zxingcpp.read_barcodes(Image.open(buffer))
    assert [r.text for r in results] == [vector["qr_text"]]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode


# SM2: checked against the GB/T 32918.2 verification equation, written out here (no second SM2 library is at
# hand), with the default user ID — so a national-standard verifier (GmSSL, BouncyCastle) accepts it too.

SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = SM2_P - 3
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_G = (
    0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)
SM2_DEFAULT_ID = b"1234567812345678"

Point = tuple[int, int] | None


def _add(p: Point, q: Point) -> Point:
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % SM2_P == 0:
        return None
    if p == q:
        slope = (3 * p[0] * p[0] + SM2_A) * pow(2 * p[1], -1, SM2_P) % SM2_P
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, SM2_P) % SM2_P
    x = (slope * slope - p[0] - q[0]) % SM2_P
    return x, (slope * (p[0] - x) - p[1]) % SM2_P


def _mul(k: int, p: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(result, p)
        p = _add(p, p)
        k >>= 1
    return result


def test_the_sm2_vector_is_standard_gbt32918_sm2() -> None:
    path = VECTOR_DIR / "valid_sm2.json"
    if not path.exists():
        pytest.skip("no SM2 vector (it is written only when the `sm` extra is installed)")
    try:
        hashlib.new("sm3")
    except ValueError:
        pytest.skip("this OpenSSL has no SM3")

    def sm3(data: bytes) -> bytes:
        return hashlib.new("sm3", data).digest()

    vector = json.loads(path.read_text(encoding="utf-8"))
    # The SubjectPublicKeyInfo ends with the uncompressed point 04 || x || y.
    body = "".join(
        line for line in vector["key"]["public_key_pem"].splitlines() if not line.startswith("-----")
    )
    point = base64.b64decode(body)[-65:]
    assert point[0] == 4
    public = (int.from_bytes(point[1:33]), int.from_bytes(point[33:]))
    protected, _, payload, signature = _parse_independently(bytes.fromhex(vector["cose_hex"]))
    data = cbor2.dumps(["Signature1", protected, b"", payload])
    r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
    assert 0 < r < SM2_N and 0 < s < SM2_N

    def as32(value: int) -> bytes:
        return value.to_bytes(32, "big")

    za = sm3(
        (len(SM2_DEFAULT_ID) * 8).to_bytes(2, "big")
        + SM2_DEFAULT_ID
        + b"".join(as32(v) for v in (SM2_A, SM2_B, *SM2_G, *public))
    )
    e = int.from_bytes(sm3(za + data))
    point_sum = _add(_mul(s, SM2_G), _mul((r + s) % SM2_N, public))
    assert point_sum is not None
    assert (e + point_sum[0]) % SM2_N == r
    # And a changed payload fails the same equation.
    e_bad = int.from_bytes(sm3(za + data + b"x"))
    assert (e_bad + point_sum[0]) % SM2_N != r
