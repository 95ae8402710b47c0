"""Signed JSON documents (trust list, status lists): canonical JSON signed by the issuer's root key.

An offline verifier can refresh them from any mirror: the signature, not the transport, earns the trust.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bloodcert.certs.algorithms import Algorithm, UnsupportedAlgorithm, algorithm

TRUST_LIST_LIFETIME = timedelta(days=1)


class InvalidDocument(Exception):
    """A trust list or status list is malformed or its signature does not verify."""


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no whitespace, UTF-8, without the `signature` member."""
    body = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(data: bytes) -> str:
    """Standard base64 (how kids appear in the trust list)."""
    return base64.b64encode(data).decode("ascii")


def sign_document(
    document: dict[str, Any], *, alg: Algorithm, private_key: Any, kid: bytes
) -> dict[str, Any]:
    """Return the document with a `signature` member over its canonical form."""
    value = alg.sign(private_key, canonical(document))
    signature = {"alg": alg.name, "kid": b64(kid), "value": base64.urlsafe_b64encode(value).decode("ascii")}
    return {**document, "signature": signature}


def verify_document(document: dict[str, Any], *, public_key_pem: str, alg_name: str) -> None:
    """Raise InvalidDocument unless `document` carries a valid signature by the given key."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("alg") != alg_name:
        raise InvalidDocument("missing or unexpected signature")
    try:
        alg = algorithm(alg_name)
        public_key = alg.load_public(public_key_pem.encode())
        value = base64.urlsafe_b64decode(str(signature.get("value", "")))
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise InvalidDocument("the signature cannot be checked") from exc
    if not alg.verify(public_key, value, canonical(document)):
        raise InvalidDocument("the signature does not verify")


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A document-signing key as the trust list publishes it."""

    kid: bytes
    alg: str
    public_key_pem: str
    not_before: datetime
    not_after: datetime
    status: str  # active | retired | revoked


@dataclass(frozen=True, slots=True)
class TrustList:
    """A verified trust list."""

    issuer: str
    issued_at: datetime
    next_update: datetime
    root_public_key_pem: str
    root_alg: str
    keys: dict[bytes, TrustedKey]

    def is_stale(self, now: datetime) -> bool:
        """True once the list is past its next update (verifiers keep working and say so)."""
        return now > self.next_update


def root_fingerprint(public_key_pem: str) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, lower-case hex: what operators pin and compare.

    The PEM body is decoded by hand rather than through `cryptography`, which cannot load every
    algorithm the trust list may carry (SM2).
    """
    body = "".join(line for line in public_key_pem.strip().splitlines() if not line.startswith("-----"))
    try:
        der = base64.b64decode(body, validate=True)
    except ValueError as exc:
        raise InvalidDocument("the root key is not a PEM public key") from exc
    return hashlib.sha256(der).hexdigest()


def normal_fingerprint(text: str) -> str:
    """A fingerprint as operators type it (any case, with or without colons) in canonical form."""
    value = text.strip().lower().replace(":", "")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidDocument("a root key fingerprint is 64 hex digits (SHA-256)")
    return value


def parse_trust_list(
    document: dict[str, Any],
    *,
    pinned_root_pem: str | None = None,
    pinned_root_sha256: str | None = None,
) -> TrustList:
    """Check the trust list's signature (against the pinned root when given) and read its keys."""
    try:
        root = document["root"]
        root_pem, root_alg = str(root["public_key_pem"]), str(root["alg"])
        if pinned_root_pem is not None and _normal(pinned_root_pem) != _normal(root_pem):
            raise InvalidDocument("the trust list is signed by another root key than the pinned one")
        if pinned_root_sha256 is not None and normal_fingerprint(pinned_root_sha256) != root_fingerprint(
            root_pem
        ):
            raise InvalidDocument("the trust list is signed by another root key than the pinned one")
        verify_document(document, public_key_pem=root_pem, alg_name=root_alg)
        keys: dict[bytes, TrustedKey] = {}
        for entry in document["keys"]:
            kid = base64.b64decode(entry["kid"])
            keys[kid] = TrustedKey(
                kid=kid,
                alg=str(entry["alg"]),
                public_key_pem=str(entry["public_key_pem"]),
                not_before=_aware(entry["not_before"]),
                not_after=_aware(entry["not_after"]),
                status=str(entry["status"]),
            )
        return TrustList(
            issuer=str(document["issuer"]),
            issued_at=_aware(document["issued_at"]),
            next_update=_aware(document["next_update"]),
            root_public_key_pem=root_pem,
            root_alg=root_alg,
            keys=keys,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidDocument("the trust list is malformed") from exc


def _aware(text: str) -> datetime:
    """A timestamp with its UTC offset; one without is malformed, never silently local time."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError("timestamps need a UTC offset")
    return when


def _normal(pem: str) -> str:
    return "".join(pem.split())
