"""`verify_qr` on hostile input: always a Verification with one of the documented reasons, never an exception or a forgery.

Hypothesis feeds it random text, random Base45 behind the prefix, single-character mutations and truncations
of a valid vector, well-formed COSE around random CBOR, validly signed but mistyped claims, and decompression
bombs.
"""

from __future__ import annotations

import json
import time
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bloodcert.certs import qr
from bloodcert.certs.algorithms import algorithm
from bloodcert.certs.documents import parse_trust_list
from bloodcert.certs.verify import Verification, verify_qr

VECTOR = json.loads(
    (Path(__file__).resolve().parent.parent / "vectors" / "valid.json").read_text(encoding="utf-8")
)
TRUST = parse_trust_list(VECTOR["trust_list"])
NOW = datetime.fromisoformat(VECTOR["verify_at"])
ORIGINAL = VECTOR["qr_text"]
ORIGINAL_CLAIMS = cbor2.loads(bytes.fromhex(VECTOR["cbor_hex"]))
KID = bytes.fromhex(VECTOR["key"]["kid"])
ES256 = algorithm("ES256")
PRIVATE = ES256.load_private(VECTOR["key"]["private_key_pem"].encode())
REASONS = {"ok", "malformed", "unknown_key", "bad_signature", "revoked", "key_expired"}
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def never_revoked(_list_id: str, _index: int) -> bool | None:
    return False


def check(text: Any) -> Verification:
    """Verify, and check what must hold for any input."""
    result = verify_qr(text, TRUST, never_revoked, NOW)
    assert isinstance(result, Verification)
    assert result.reason in REASONS
    assert result.valid is (result.reason == "ok")
    if result.valid:
        assert result.content is not None
    return result


def wrap(cose: bytes) -> str:
    return qr.PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def test_the_original_is_valid() -> None:
    assert check(ORIGINAL).reason == "ok"


@FUZZ
@given(st.text(max_size=600))
def test_random_text_is_never_valid(text: str) -> None:
    assert not check(text).valid


@FUZZ
@given(st.text(alphabet=BASE45_ALPHABET, max_size=700))
def test_random_base45_behind_the_prefix_is_never_valid(body: str) -> None:
    assert not check(qr.PREFIX + body).valid


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_through_zlib_and_base45_are_never_valid(data: bytes) -> None:
    result = check(wrap(data))
    assert not result.valid
    assert result.reason in {"malformed", "unknown_key", "bad_signature"}


def _mutate(data: st.DataObject, alphabet: st.SearchStrategy[str]) -> str:
    text = ORIGINAL
    kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
    if kind == "truncate":
        return text[: data.draw(st.integers(0, len(text) - 1))]
    at = data.draw(st.integers(0, len(text) - (0 if kind == "insert" else 1)))
    if kind == "delete":
        return text[:at] + text[at + 1 :]
    char = data.draw(alphabet.filter(lambda c: kind == "insert" or c != text[at]))
    return text[:at] + char + text[at + (1 if kind == "flip" else 0) :]


def _assert_not_forged(mutated: str) -> None:
    result = check(mutated)
    if result.valid:
        # Bytes outside the signature (after the zlib stream, say) may change, but never what is signed.
        decoded = qr.decode(mutated)
        assert decoded.claims == ORIGINAL_CLAIMS
        assert decoded.kid == KID


@FUZZ
@given(st.data())
def test_base45_mutations_of_a_valid_qr_are_never_forged(data: st.DataObject) -> None:
    _assert_not_forged(_mutate(data, st.sampled_from(BASE45_ALPHABET)))


@FUZZ
@given(st.data())
def test_arbitrary_mutations_of_a_valid_qr_are_never_forged(data: st.DataObject) -> None:
    _assert_not_forged(_mutate(data, st.characters()))


def test_every_single_character_flip_of_the_signed_part_is_refused() -> None:
    # Exhaustive over positions, with one replacement character each: the whole text is covered, not a sample.
    for at in range(len(qr.PREFIX), len(ORIGINAL)):
        char = "0" if ORIGINAL[at] != "0" else "1"
        _assert_not_forged(ORIGINAL[:at] + char + ORIGINAL[at + 1 :])


CBOR_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(protected=CBOR_VALUES, unprotected=CBOR_VALUES, payload=CBOR_VALUES, signature=CBOR_VALUES)
def test_a_cose_sign1_of_random_cbor_is_never_valid(
    protected: Any, unprotected: Any, payload: Any, signature: Any
) -> None:
    message = [cbor2.dumps(protected), unprotected, cbor2.dumps(payload), signature]
    assert not check(wrap(cbor2.dumps(cbor2.CBORTag(18, message)))).valid
    assert not check(wrap(cbor2.dumps(message))).valid


FIELDS = ["v", "no", "dn", "st", "sn", "d", "k", "ml", "u", "n", "id", "abo", "rh", "sl"]


@FUZZ
@given(
    iss=st.sampled_from([VECTOR["payload"]["1"], "someone else"]) | CBOR_VALUES,
    iat=st.sampled_from([VECTOR["payload"]["6"], 2**70, -(2**70), True]) | CBOR_VALUES,
    replacements=st.dictionaries(st.sampled_from(FIELDS), CBOR_VALUES, max_size=4),
    dropped=st.sets(st.sampled_from(FIELDS), max_size=2),
)
def test_validly_signed_but_mistyped_claims_are_malformed_not_a_crash(
    iss: Any, iat: Any, replacements: dict[str, Any], dropped: set[str]
) -> None:
    body = {k: v for k, v in {**ORIGINAL_CLAIMS[-70001], **replacements}.items() if k not in dropped}
    claims = {1: iss, 6: iat, -70001: body}
    text = qr.encode(claims, alg=ES256, private_key=PRIVATE, kid=KID).qr_text
    result = check(text)
    assert result.reason in {"ok", "malformed", "unknown_key", "key_expired"}


@pytest.mark.parametrize(
    ("size", "fill"),
    [(10 * 1024 * 1024, b"\0"), (2 * 1024 * 1024, b"\0"), (qr.MAX_INFLATED + 1, b"A")],
)
def test_a_decompression_bomb_is_malformed_quickly(size: int, fill: bytes) -> None:
    text = qr.PREFIX + base45.b45encode(zlib.compress(fill * size, 9)).decode("ascii")
    started = time.perf_counter()
    result = check(text)
    assert time.perf_counter() - started < 0.5
    assert result.reason == "malformed"


@settings(max_examples=20, deadline=None)
@given(size=st.integers(qr.MAX_INFLATED + 1, 3 * 1024 * 1024), fill=st.binary(min_size=1, max_size=3))
def test_any_bomb_that_fits_in_a_qr_is_malformed_quickly(size: int, fill: bytes) -> None:
    compressed = zlib.compress((fill * (size // len(fill) + 1))[:size], 9)
    text = qr.PREFIX + base45.b45encode(compressed).decode("ascii")
    started = time.perf_counter()
    assert check(text).reason == "malformed"
    assert time.perf_counter() - started < 0.5


def test_a_valid_cose_padded_past_the_inflate_limit_is_malformed() -> None:
    cose = bytes.fromhex(VECTOR["cose_hex"])
    padded = cbor2.dumps(cbor2.CBORTag(18, [*cbor2.loads(cose).value[:3], b"\0" * qr.MAX_INFLATED]))
    assert check(wrap(padded)).reason == "malformed"


# Malleability: bytes nobody signed must not make a second valid text for the same certificate.


def test_bytes_after_the_zlib_stream_are_malformed() -> None:
    compressed = bytes.fromhex(VECTOR["compressed_hex"]) + b"junk"
    assert check(qr.PREFIX + base45.b45encode(compressed).decode("ascii")).reason == "malformed"


def test_bytes_after_the_cose_item_are_malformed() -> None:
    assert check(wrap(bytes.fromhex(VECTOR["cose_hex"]) + b"junk")).reason == "malformed"


def test_bytes_after_the_signed_claims_are_malformed_even_when_signed() -> None:
    payload = bytes.fromhex(VECTOR["cbor_hex"]) + b"\x00"
    protected = bytes.fromhex(VECTOR["protected_hex"])
    signature = ES256.sign(PRIVATE, qr.sig_structure(protected, payload))
    assert (
        check(wrap(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))).reason == "malformed"
    )
