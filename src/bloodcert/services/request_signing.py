"""Signing requests the way the station and hospital APIs verify them (RFC 9421 with an RFC 9530 digest).

The client side of services/station_auth.py: `bloodcert push` signs with it, and so do the tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver

from bloodcert.certs.algorithms import algorithm
from bloodcert.errors import ValidationFailed
from bloodcert.services.station_auth import BODY_COMPONENTS, BODYLESS_COMPONENTS, signature_algorithms


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class RequestSigner:
    """A tenant's private key and the id the platform registered for it."""

    key_id: str
    alg: str
    private_key: Any

    @classmethod
    def from_pem(cls, key_id: str, alg: str, pem: bytes) -> RequestSigner:
        """Load a PKCS#8 PEM private key; ValidationFailed unless it is a key of `alg`."""
        if alg not in signature_algorithms():
            raise ValidationFailed(
                f"unsupported algorithm {alg!r}; use one of {', '.join(signature_algorithms())}"
            )
        try:
            key: Any = (
                algorithm("SM2-SM3").load_private(pem)
                if alg == "sm2-sm3"
                else load_pem_private_key(pem, password=None)
            )
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ValidationFailed(f"the file is not an unencrypted PEM private key for {alg}") from exc
        if alg == "ed25519" and not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValidationFailed("the private key is not an ed25519 key")
        if alg == "ecdsa-p256-sha256" and not (
            isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
        ):
            raise ValidationFailed("ecdsa-p256-sha256 needs a P-256 private key")
        return cls(key_id, alg, key)

    def headers(
        self,
        method: str,
        url: str,
        body: bytes | None,
        *,
        created: datetime | None = None,
        nonce: str | None = None,
        expires: datetime | None = None,
    ) -> dict[str, str]:
        """The headers of a signed request: Content-Type and Content-Digest with a body, and the signature.

        Each call takes a fresh nonce unless one is given: a retried request must be signed again.
        """
        headers: dict[str, str] = {}
        covered: tuple[str, ...] = BODYLESS_COMPONENTS
        if body is not None:
            headers["Content-Type"] = "application/json"
            covered = BODY_COMPONENTS
        message = _Message(method, url, headers)
        signer = HTTPMessageSigner(
            signature_algorithm=signature_algorithms()[self.alg],
            key_resolver=MappingKeyResolver(public_keys={}, private_keys={self.key_id: self.private_key}),
        )
        signer.sign(
            message,
            key_id=self.key_id,
            created=created or datetime.now(UTC),
            nonce=nonce or uuid.uuid4().hex,
            expires=expires,
            label="sig1",
            covered_component_ids=covered,
            body=body,
        )
        return message.headers
