"""The QR pipeline (SPEC §4): CWT (RFC 8392) → COSE_Sign1 (RFC 9052) → zlib → Base45 (RFC 9285) → `BC1:`.

COSE_Sign1 is built and checked here with cbor2 and `cryptography` rather than a COSE library: no maintained
Python COSE library supports SM2, and the in-process verification target (≥ 8,000/s) leaves no room for one's
object model. The structure is small and fixed; tests cross-check our output against pycose.
"""

from __future__ import annotations

import io
import re
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cbor2

from bloodcert.certs.algorithms import Algorithm

PREFIX = "BC1:"
COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
CLAIM_ISS = 1
CLAIM_IAT = 6
CLAIM_CERTIFICATE = -70001
MAX_QR_TEXT = 4096
MAX_INFLATED = 16384


class MalformedQR(Exception):
    """The text is not a well-formed `BC1:` payload."""


@dataclass(frozen=True, slots=True)
class Stages:
    """Every stage of encoding one payload (what test vectors record)."""

    claims: dict[Any, Any]
    cbor: bytes
    protected: bytes
    cose: bytes
    compressed: bytes
    base45: str
    qr_text: str


@dataclass(frozen=True, slots=True)
class Decoded:
    """A parsed payload whose signature has not been checked yet."""

    alg: int
    kid: bytes
    protected: bytes
    payload: bytes
    signature: bytes
    claims: dict[Any, Any]

    def signed_bytes(self) -> bytes:
        """The Sig_structure the signature covers (RFC 9052 §4.4)."""
        return sig_structure(self.protected, self.payload)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """CBOR of ["Signature1", protected, external_aad = b"", payload]."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@lru_cache(maxsize=1)
def _pairs() -> tuple[str, ...]:
    """Base45 of every 2-byte value n: digits c = n % 45, d = n // 45 % 45, e = n // 2025 (RFC 9285 §4)."""
    a = _ALPHABET
    return tuple(a[n % 45] + a[n // 45 % 45] + a[n // 2025] for n in range(65536))


def b45encode(data: bytes) -> str:
    """RFC 9285 Base45, as the `base45` package encodes it, through a table of all 65,536 byte pairs.

    The package's encoder works digit by digit in Python and took a third of the time of issuing a
    certificate; this one maps a table lookup over the pairs, read in C as big-endian 16-bit numbers.
    Tests check it against the package byte for byte.
    """
    even = len(data) - len(data) % 2
    words = array("H", data[:even])  # the byte pairs as 16-bit numbers, read in C
    if sys.byteorder == "little":
        words.byteswap()  # RFC 9285 reads each pair big-endian
    text = "".join(map(_pairs().__getitem__, words))
    if even < len(data):
        last = data[-1]
        text += _ALPHABET[last % 45] + _ALPHABET[last // 45]
    return text


@lru_cache(maxsize=1)
def _triples() -> dict[str, int]:
    """Every valid 3-character Base45 group → its 16-bit value (the encoder's own strings as keys)."""
    return dict(zip(_pairs(), range(65536), strict=True))


@lru_cache(maxsize=1)
def _tail() -> dict[str, int]:
    """Every valid final 2-character group → its byte."""
    return {_ALPHABET[n % 45] + _ALPHABET[n // 45]: n for n in range(256)}


_GROUPS = re.compile(r"...", re.DOTALL)


def b45decode(text: str) -> bytes:
    """RFC 9285 Base45 decoding, as strict as the `base45` package: a character outside the alphabet, a
    group worth more than its bytes can hold, or a dangling single character raises ValueError.

    Lookups of whole 3-character groups in a table, mapped in C: the package's decoder was a third of the
    cost of verifying a certificate. Tests check both against each other.
    """
    whole = len(text) - len(text) % 3
    try:
        words = list(map(_triples().__getitem__, _GROUPS.findall(text, 0, whole)))
        tail = bytes((_tail()[text[whole:]],)) if len(text) % 3 == 2 else b""
    except KeyError:
        raise ValueError("not Base45") from None
    if len(text) % 3 == 1:
        raise ValueError("not Base45: a dangling character")
    return struct.pack(f">{len(words)}H", *words) + tail


def encode(claims: dict[Any, Any], *, alg: Algorithm, private_key: Any, kid: bytes) -> Stages:
    """Sign claims as a CWT in a COSE_Sign1 and wrap it for a QR code."""
    payload = cbor2.dumps(claims)
    protected = cbor2.dumps({HEADER_ALG: alg.cose_alg, HEADER_KID: kid})
    signature = alg.sign(private_key, sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    compressed = zlib.compress(cose, 9)
    text = b45encode(compressed)
    return Stages(claims, payload, protected, cose, compressed, text, PREFIX + text)


def decode(text: str) -> Decoded:
    """Parse a `BC1:` string down to its claims; raise MalformedQR for anything not well formed."""
    if not isinstance(text, str) or not text.startswith(PREFIX) or len(text) > MAX_QR_TEXT:
        raise MalformedQR("not a BC1: payload")
    try:
        compressed = b45decode(text[len(PREFIX) :])
        inflater = zlib.decompressobj()
        cose = inflater.decompress(compressed, MAX_INFLATED)
        if inflater.unconsumed_tail or inflater.unused_data or not inflater.eof:
            raise MalformedQR("compressed data is truncated, too large or followed by other bytes")
        return _parse_cose(cose)
    except MalformedQR:
        raise
    except Exception as exc:  # base45, zlib and cbor2 each raise their own types on hostile input
        raise MalformedQR(type(exc).__name__) from exc


def _one_item(data: bytes) -> Any:
    """Decode exactly one CBOR item: bytes after it make the payload malformed, not silently ignored."""
    stream = io.BytesIO(data)
    item = cbor2.CBORDecoder(stream).decode()
    if stream.tell() != len(data):
        raise MalformedQR("bytes follow the CBOR item")
    return item


def _parse_cose(cose: bytes) -> Decoded:
    message = _one_item(cose)
    if isinstance(message, cbor2.CBORTag):
        if message.tag != COSE_SIGN1_TAG:
            raise MalformedQR("not a COSE_Sign1")
        message = message.value
    if not isinstance(message, (list, tuple)) or len(message) != 4:
        raise MalformedQR("a COSE_Sign1 has four elements")
    protected, _unprotected, payload, signature = message
    if not all(isinstance(x, bytes) for x in (protected, payload, signature)):
        raise MalformedQR("COSE_Sign1 fields have the wrong types")
    header = _one_item(protected) if protected else {}
    if not isinstance(header, dict):
        raise MalformedQR("the protected header is not a map")
    alg, kid = header.get(HEADER_ALG), header.get(HEADER_KID)
    if not isinstance(alg, int) or not isinstance(kid, bytes):
        raise MalformedQR("the protected header needs alg and kid")
    claims = _one_item(payload)
    if not isinstance(claims, dict) or not isinstance(claims.get(CLAIM_CERTIFICATE), dict):
        raise MalformedQR("the payload is not a bloodcert CWT")
    return Decoded(alg, kid, protected, payload, signature, claims)
