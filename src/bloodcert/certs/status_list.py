"""W3C Bitstring Status List v1.0: revocation bits, random index allocation, gzip + base64url encoding."""

from __future__ import annotations

import base64
import gzip
import secrets
from datetime import datetime, timedelta
from typing import Any

LIST_SIZE = 131_072  # the W3C minimum, for group privacy
# A list is closed for new certificates at half full, so that a random free index is found in ~2 tries.
FILL_LIMIT = LIST_SIZE // 2
# Offline verifiers should refresh a list daily; past validUntil they keep working and say so.
STATUS_LIST_LIFETIME = timedelta(days=1)


def empty_bits() -> bytearray:
    """A list of LIST_SIZE zero bits."""
    return bytearray(LIST_SIZE // 8)


def get_bit(bits: bytes | bytearray, index: int) -> bool:
    """Bit `index`, counted from the most significant bit of the first byte (as the W3C spec does)."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytearray, index: int) -> None:
    """Set bit `index`."""
    bits[index // 8] |= 0x80 >> (index % 8)


def allocate(allocated: bytearray) -> int:
    """Pick an unused index at random and mark it used (random, not sequential: indexes reveal nothing)."""
    while True:
        index = secrets.randbelow(LIST_SIZE)
        if not get_bit(allocated, index):
            set_bit(allocated, index)
            return index


def encode_list(bits: bytes | bytearray) -> str:
    """Multibase base64url (prefix 'u', no padding) of the GZIP-compressed bitstring."""
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_list(encoded: str) -> bytes:
    """The bitstring of an `encodedList`; raises ValueError when it is not one."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url ('u' prefix)")
    data = encoded[1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    if len(raw) * 8 < LIST_SIZE:
        raise ValueError("a status list holds at least 131,072 entries")
    return raw


def credential(
    *, base_url: str, list_id: str, issuer: str, bits: bytes | bytearray, updated: datetime
) -> dict[str, Any]:
    """The BitstringStatusListCredential document for one list (unsigned; the caller signs it)."""
    url = f"{base_url}/.well-known/bloodcert/status/{list_id}"
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": updated.isoformat(),
        "validUntil": (updated + STATUS_LIST_LIFETIME).isoformat(),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_list(bits),
        },
    }
