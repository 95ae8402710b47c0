"""The QR pipeline: CWT (RFC 8392) → COSE_Sign1 (RFC 9052) → zlib → Base45 (RFC 9285) → `BC1:`.

COSE_Sign1 is built and checked here with cbor2 and `cryptography` rather than a COSE library: no maintained
Python COSE library supports SM2, and the in-process verification target (≥ 8,000/s) leaves no room for one's
object model. The structure is small and fixed; tests cross-check our output against pycose.
"""

from __future__ import annotations

import io
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


# Character → digit value, 255 for a character outside the alphabet (for bytes.translate).
_TO_DIGIT = bytes(_ALPHABET.index(chr(c)) if chr(c) in _ALPHABET else 255 for c in range(256))


def _lanes(digits: bytes, count: int) -> int:
    """The digits as one integer of `count` 32-bit big-endian lanes, each digit in its lane's low byte."""
    lanes = bytearray(4 * count)
    lanes[3 : 4 * len(digits) : 4] = digits  # a missing last digit (a 2-character group) stays 0
    return int.from_bytes(lanes, "big")


def b45decode(text: str) -> bytes:
    """RFC 9285 Base45 decoding, as strict as the `base45` package: a character outside the alphabet, a
    group worth more than its bytes can hold, or a dangling single character raises ValueError.

    Each group's value c + 45·d + 2025·e is computed for all groups at once: the digits of each position
    are laid into 32-bit lanes of one big integer, so two multiplications and two additions of big integers
    do every group's arithmetic in C, and no lane can carry into the next (a group is worth at most
    91,124). The package decodes digit by digit in Python, and a table of all 65,536 groups was no faster
    on real input (its entries miss the CPU cache). Tests check it against the package.
    """
    if len(text) % 3 == 1:
        raise ValueError("not Base45: a dangling character")
    try:
        digits = text.encode("ascii").translate(_TO_DIGIT)
    except UnicodeEncodeError:
        raise ValueError("not Base45: a character outside the alphabet") from None
    if 255 in digits:
        raise ValueError("not Base45: a character outside the alphabet")
    groups = -(-len(digits) // 3)  # a final 2-character group is one more lane, with e = 0
    c, d, e = digits[0::3], digits[1::3], digits[2::3]
    total = _lanes(c, groups) + 45 * _lanes(d, groups) + 2025 * _lanes(e, groups)
    values = total.to_bytes(4 * groups, "big")
    if any(values[0::4]) or any(values[1::4]):
        raise ValueError("not Base45: a group is worth more than two bytes")
    out = bytearray(2 * groups)
    out[0::2], out[1::2] = values[2::4], values[3::4]
    if len(digits) % 3 == 2:  # the last group stands for one byte
        if out[-2]:
            raise ValueError("not Base45: the last group is worth more than a byte")
        del out[-2]
    return bytes(out)


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
