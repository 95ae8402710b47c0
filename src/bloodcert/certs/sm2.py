"""SM2 with SM3 (GB/T 32918, GB/T 32905) through Tongsuo (tongsuopy), a maintained native library.

Never a pure-Python SM2: a signature's nonce must come from a CSPRNG, which Tongsuo's implementation does.
Imported only when the `sm` extra is installed (certs.algorithms and services.station_auth try it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from http_message_signatures import HTTPSignatureAlgorithm
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InvalidSignature

from bloodcert.certs.cose_ids import SM2_SM3 as COSE_SM2_SM3


def _raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _der(raw: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def _verify(public_key: Any, raw: bytes, data: bytes) -> bool:
    if len(raw) != 64:
        return False
    try:
        public_key.verify(_der(raw), data, ec.ECDSA(hashes.SM3()))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SM2Algorithm:
    """Certificate signing with SM2-with-SM3."""

    name: str = "SM2-SM3"
    cose_alg: int = COSE_SM2_SM3

    def generate(self) -> Any:
        return ec.generate_private_key(ec.SM2())

    def sign(self, private_key: Any, data: bytes) -> bytes:
        return _raw(private_key.sign(data, ec.ECDSA(hashes.SM3())))

    def verify(self, public_key: Any, signature: bytes, data: bytes) -> bool:
        return _verify(public_key, signature, data)

    def load_private(self, pem: bytes) -> Any:
        return serialization.load_pem_private_key(pem, password=None)

    def load_public(self, pem: bytes) -> Any:
        return serialization.load_pem_public_key(pem)

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


class SM2SM3Signature(HTTPSignatureAlgorithm):
    """`sm2-sm3` for stations' RFC 9421 request signatures (raw r || s, like ecdsa-p256-sha256)."""

    algorithm_id = "sm2-sm3"

    def __init__(self, public_key: Any = None, private_key: Any = None) -> None:
        self.public_key = (
            serialization.load_pem_public_key(public_key) if isinstance(public_key, bytes) else public_key
        )
        self.private_key = (
            serialization.load_pem_private_key(private_key, password=None)
            if isinstance(private_key, bytes)
            else private_key
        )

    def sign(self, message: bytes) -> bytes:
        return _raw(self.private_key.sign(message, ec.ECDSA(hashes.SM3())))

    def verify(self, signature: bytes, message: bytes) -> None:
        if not _verify(self.public_key, signature, message):
            raise InvalidSignature("SM2 signature does not verify")
