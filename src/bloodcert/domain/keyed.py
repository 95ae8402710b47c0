"""Keyed hashing: the blind indexes that stand in for ID numbers, names and secrets in lookups.

The database never holds a lookup key in the clear; it holds an HMAC under the index key, so the same
value always finds the same row and a stolen database reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac

from bloodcert.domain.identity import IdType, identity_key, normalize_name


def blind_index(key: bytes, text: str) -> bytes:
    """Keyed HMAC-SHA256 of a lookup key."""
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def name_hash_of(index_key: bytes, name: str) -> bytes:
    """Blind index of a normalised name (donor login matches ID type + number + name)."""
    return blind_index(index_key, "name|" + normalize_name(name))


def identity_hash_of(index_key: bytes, id_type: IdType, id_number: str) -> bytes:
    """Blind index of ID type + number."""
    return blind_index(index_key, identity_key(id_type, id_number))


def token_hash(token: str) -> bytes:
    """SHA-256 of a bearer secret (session tokens, OAuth states): 256 random bits need no salt or key."""
    return hashlib.sha256(token.encode()).digest()
