"""Certificate signature algorithms: ES256 (default) and SM2-with-SM3 (the `sm` extra, through Tongsuo).

COSE_Sign1 signatures are raw r || s (RFC 9053 §2.1), 64 bytes for both curves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from bloodcert.certs.cose_ids import ES256, SM2_SM3

try:
    from bloodcert.certs import sm2
except ImportError:  # the optional `sm` extra (tongsuopy) is not installed
    sm2 = None  # type: ignore[assignment]

__all__ = ["ES256", "SM2_SM3", "Algorithm", "UnsupportedAlgorithm", "algorithm", "algorithm_for_cose"]


class UnsupportedAlgorithm(Exception):
    """The algorithm is unknown or its optional library is not installed."""


class Algorithm(Protocol):
    """What signing and verifying a certificate needs from an algorithm."""

    @property
    def name(self) -> str: ...
    @property
    def cose_alg(self) -> int: ...

    def generate(self) -> Any: ...
    def sign(self, private_key: Any, data: bytes) -> bytes: ...
    def verify(self, public_key: Any, signature: bytes, data: bytes) -> bool: ...
    def load_private(self, pem: bytes) -> Any: ...
    def load_public(self, pem: bytes) -> Any: ...
    def private_pem(self, private_key: Any) -> bytes: ...
    def public_pem(self, key: Any) -> bytes: ...
    def public_der(self, key: Any) -> bytes: ...


def _raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _der(raw: bytes) -> bytes | None:
    if len(raw) != 64:
        return None
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


@dataclass(frozen=True)
class _ES256:
    name: str = "ES256"
    cose_alg: int = ES256

    def generate(self) -> Any:
        return ec.generate_private_key(ec.SECP256R1())

    def sign(self, private_key: Any, data: bytes) -> bytes:
        return _raw(private_key.sign(data, ec.ECDSA(hashes.SHA256())))

    def verify(self, public_key: Any, signature: bytes, data: bytes) -> bool:
        der = _der(signature)
        if der is None:
            return False
        try:
            public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def load_private(self, pem: bytes) -> Any:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise UnsupportedAlgorithm("an ES256 key must be an EC P-256 private key")
        return key

    def load_public(self, pem: bytes) -> Any:
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise UnsupportedAlgorithm("an ES256 key must be an EC P-256 public key")
        return key

    def private_pem(self, private_key: Any) -> bytes:
        return bytes(
            private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    def public_pem(self, key: Any) -> bytes:
        return bytes(
            key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    def public_der(self, key: Any) -> bytes:
        return bytes(
            key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        )


def algorithm(name: str) -> Algorithm:
    """The algorithm named `ES256` or `SM2-SM3` (the latter needs `pip install bloodcert[sm]`)."""
    if name == "ES256":
        return _ES256()
    if name == "SM2-SM3":
        if sm2 is None:
            raise UnsupportedAlgorithm("SM2-SM3 needs the `sm` extra: pip install 'bloodcert[sm]'")
        return sm2.SM2Algorithm()
    raise UnsupportedAlgorithm(f"unknown certificate signature algorithm {name!r}; use ES256 or SM2-SM3")


def algorithm_for_cose(cose_alg: int) -> Algorithm | None:
    """The algorithm for a COSE `alg` value, or None when unknown or unavailable."""
    try:
        return algorithm({ES256: "ES256", SM2_SM3: "SM2-SM3"}.get(cose_alg, ""))
    except UnsupportedAlgorithm:
        return None
