"""Field encryption at rest: ID numbers, names, birth dates and raw records are AES-256-GCM ciphertext.

A stolen database file alone must not reveal who donated. Lookups never need these columns: they go
through the keyed blind index (persons.merge_hash, identity_hash, name_hash). A stored value is

    format byte (1: AES-256-GCM, key derived from BLOODCERT_DATA_KEY) || 12-byte nonce || ciphertext+tag

and the column's name (e.g. b"persons.name") is the associated data, so that a ciphertext moved into
another column, or another table, fails to decrypt instead of being shown as something else.

The key is not a module global: `attach_cipher` hangs a `FieldCipher` on the engine's dialect, and the
column types below find it through the `dialect` argument SQLAlchemy hands them.
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

AES_256_GCM = 1
NONCE_SIZE = 12
TAG_SIZE = 16
MIN_KEY_SIZE = 32
_DIALECT_ATTRIBUTE = "bloodcert_cipher"


class DataKeyError(Exception):
    """Encrypted data cannot be read or written: no key, the wrong key, or an altered value."""


class WrongDataKey(DataKeyError):
    """A value in bloodcert's format does not open with the configured key: the wrong key, or altered data."""


class FieldCipher:
    """AES-256-GCM over single column values, bound to the column's identity."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_SIZE:
            raise DataKeyError(f"the data key must hold at least {MIN_KEY_SIZE} bytes (BLOODCERT_DATA_KEY)")
        # A key of its own for this one use, so the configured secret is never used raw by two algorithms.
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"bloodcert field encryption v1"
        ).derive(key)
        self._aead = AESGCM(derived)

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        """Seal `plaintext` for the column named by `context`."""
        nonce = os.urandom(NONCE_SIZE)
        return bytes((AES_256_GCM,)) + nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, stored: bytes, context: bytes) -> bytes:
        """Open a value sealed for the column named by `context`; DataKeyError when that is impossible."""
        where = context.decode()
        if len(stored) < 1 + NONCE_SIZE + TAG_SIZE or stored[0] != AES_256_GCM:
            raise DataKeyError(f"{where} does not hold a value bloodcert encrypted (format {stored[:1]!r})")
        try:
            return self._aead.decrypt(stored[1 : 1 + NONCE_SIZE], stored[1 + NONCE_SIZE :], context)
        except InvalidTag:
            raise WrongDataKey(
                f"{where} cannot be decrypted: BLOODCERT_DATA_KEY is not the key it was written with, "
                "or the stored value was altered or copied from another column"
            ) from None


def attach_cipher(engine: Engine, key: bytes) -> None:
    """Give the engine's connections the cipher that the encrypted column types use."""
    setattr(engine.dialect, _DIALECT_ATTRIBUTE, FieldCipher(key))


def cipher_of(dialect: Dialect) -> FieldCipher:
    """The cipher attached to a dialect; DataKeyError when the engine was made without a data key."""
    cipher = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if not isinstance(cipher, FieldCipher):
        raise DataKeyError(
            "personal data is encrypted and this database connection has no data key: "
            "build Database(url, data_key=settings.data_key)"
        )
    return cipher


def encode_json(value: Any) -> bytes:
    """How a JSON value is serialised before encryption (UTF-8, compact, key order as received)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


# Comparing ciphertexts is never meaningful (every value has its own nonce): refuse it when the query is
# built, rather than let `persons.c.name == x` silently match nothing. IS NULL stays allowed.
_ALLOWED_OPERATORS = {operators.is_, operators.is_not}


class _Encrypted(TypeDecorator[Any]):
    """Encrypts on the way in and decrypts on the way out; NULL stays NULL."""

    impl = LargeBinary
    cache_ok = True

    class Comparator(TypeDecorator.Comparator[Any]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op not in _ALLOWED_OPERATORS:
                raise TypeError("encrypted columns cannot be compared or sorted; query the blind index")
            return super().operate(op, *other, **kwargs)

    comparator_factory = Comparator

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context
        self._aad = context.encode()

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, plaintext: bytes) -> Any:
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return cipher_of(dialect).encrypt(self.encode(value), self._aad)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.decode(cipher_of(dialect).decrypt(bytes(value), self._aad))


class EncryptedText(_Encrypted):
    """A string column stored encrypted."""

    cache_ok = True

    def encode(self, value: Any) -> bytes:
        return str(value).encode()

    def decode(self, plaintext: bytes) -> str:
        return plaintext.decode()


class EncryptedDate(_Encrypted):
    """A date column stored encrypted (ISO 8601 inside)."""

    cache_ok = True

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, date):
            raise TypeError(f"{self.context} takes a date, not {type(value).__name__}")
        # Like SQLAlchemy's Date: a datetime keeps only its calendar date.
        return date(value.year, value.month, value.day).isoformat().encode()

    def decode(self, plaintext: bytes) -> date:
        return date.fromisoformat(plaintext.decode())


class EncryptedJSON(_Encrypted):
    """A JSON document stored encrypted; Python None is SQL NULL."""

    cache_ok = True

    def encode(self, value: Any) -> bytes:
        return encode_json(value)

    def decode(self, plaintext: bytes) -> Any:
        return json.loads(plaintext)


class EncryptedBytes(_Encrypted):
    """A binary column (an uploaded document) stored encrypted."""

    cache_ok = True

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"{self.context} takes bytes, not {type(value).__name__}")
        return bytes(value)

    def decode(self, plaintext: bytes) -> bytes:
        return plaintext
