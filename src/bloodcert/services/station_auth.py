"""Authenticating signed requests: RFC 9421 HTTP Message Signatures with an RFC 9530 Content-Digest.

Stations and hospitals sign the same way; each kind of tenant has its own key table, so a key registered for
one kind is simply unknown on the other's routes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

import http_sf
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from http_message_signatures import (
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from bloodcert.certs.algorithms import algorithm
from bloodcert.errors import Unauthorized, ValidationFailed
from bloodcert.storage.rows import StationKeyRow
from bloodcert.storage.uow import UnitOfWork

BODY_COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type")
BODYLESS_COMPONENTS = ("@method", "@target-uri")


@cache
def signature_algorithms() -> Mapping[str, type[HTTPSignatureAlgorithm]]:
    """The algorithms stations may sign with; SM2-with-SM3 when the `sm` extra is installed.

    Looked up on every signed request, so worked out once: without the extra, each failed import of the
    SM2 module would cost more than the lookup it serves.
    """
    table: dict[str, type[HTTPSignatureAlgorithm]] = {
        "ed25519": algorithms.ED25519,
        "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    }
    try:
        from bloodcert.certs.sm2 import SM2SM3Signature  # needs the optional `sm` extra (tongsuopy)
    except ImportError:
        return MappingProxyType(table)
    table["sm2-sm3"] = SM2SM3Signature
    return MappingProxyType(table)


def key_id_for(public_key_pem: bytes, alg: str = "ed25519", prefix: str = "stk_") -> str:
    """A stable key id: `prefix` ('stk_' for stations) + base32 of 15 bytes of SHA-256 over the DER key."""
    key = _load_public_key(public_key_pem, alg)
    if alg == "sm2-sm3":
        der = algorithm("SM2-SM3").public_der(key)
    else:
        der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return prefix + base64.b32encode(hashlib.sha256(der).digest()[:15]).decode().lower()


def _load_public_key(public_key_pem: bytes, alg: str) -> Any:
    if alg == "sm2-sm3":
        # `cryptography` has no SM2 curve; the `sm` extra's Tongsuo binding reads these keys.
        return algorithm("SM2-SM3").load_public(public_key_pem)
    return load_pem_public_key(public_key_pem)


def check_public_key(public_key_pem: bytes, alg: str) -> None:
    """Raise ValidationFailed unless the PEM holds a public key of the named algorithm."""
    if alg not in signature_algorithms():
        raise ValidationFailed(
            f"unsupported algorithm {alg!r}; use one of {', '.join(signature_algorithms())}"
        )
    try:
        key = _load_public_key(public_key_pem, alg)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValidationFailed(f"the file is not a PEM public key for {alg}") from exc
    expected: dict[str, Any] = {
        "ed25519": ed25519.Ed25519PublicKey,
        "ecdsa-p256-sha256": ec.EllipticCurvePublicKey,
    }
    if alg in expected and not isinstance(key, expected[alg]):
        raise ValidationFailed(f"the public key is not an {alg} key")
    if alg == "ecdsa-p256-sha256" and not isinstance(getattr(key, "curve", None), ec.SECP256R1):
        raise ValidationFailed("ecdsa-p256-sha256 needs a P-256 key")


class SigningKey(Protocol):
    """What verification needs of a tenant's registered key."""

    @property
    def key_id(self) -> str: ...
    @property
    def alg(self) -> str: ...
    @property
    def public_key_pem(self) -> str: ...
    @property
    def revoked_at(self) -> datetime | None: ...


KeyT = TypeVar("KeyT", bound=SigningKey)


class NonceStore(Protocol):
    """Remembers nonces across workers; `remember` is False for a nonce already seen."""

    def remember(self, key_id: str, nonce: str, now: datetime) -> bool: ...


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of an HTTP request that a signature covers."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


class _Headers:
    """Read-only header view that keeps repeated field lines, as the verifier requires."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> Iterable[tuple[str, str]]:
        return iter(self._items)

    def __iter__(self) -> Any:
        return iter(dict.fromkeys(k for k, _ in self._items))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self._items)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self._items if k.lower() == name.lower()), None)


@dataclass(frozen=True, slots=True)
class _Message:
    method: str
    url: str
    headers: _Headers


def authenticate_station(
    uow: UnitOfWork, request: SignedRequest, *, now: datetime, window_s: int, nonces: NonceStore | None = None
) -> StationKeyRow:
    """Verify the request's signature and digest; return the signing key (and so the station) or raise 401."""
    return authenticate_signed(
        uow, request, keys=uow.stations.get_key, now=now, window_s=window_s, nonces=nonces
    )


def authenticate_signed(
    uow: UnitOfWork,
    request: SignedRequest,
    *,
    keys: Callable[[str], KeyT | None],
    now: datetime,
    window_s: int,
    nonces: NonceStore | None = None,
) -> KeyT:
    """Verify a signed request against one kind of tenant's keys (`keys` looks a key id up) or raise 401."""
    verified = verify_signed(request, keys=keys, now=now, window_s=window_s)
    remember_nonce(nonces or uow.nonces, verified, now=now)
    return verified.key


@dataclass(frozen=True, slots=True)
class Verified(Generic[KeyT]):
    """A request whose signature verified; its nonce is not yet remembered (see `remember_nonce`)."""

    key: KeyT
    nonce: str


def verify_signed(
    request: SignedRequest, *, keys: Callable[[str], KeyT | None], now: datetime, window_s: int
) -> Verified[KeyT]:
    """Every check of a signed request but the replay check, which writes; raise 401 on any failure.

    Apart from `authenticate_signed` so that a use case whose writes take turns (the waiver claim) can
    verify, the costly part, before it takes its turn, and remember the nonce inside it.
    """
    headers = _Headers(request.headers)
    params = _signature_params(headers)
    key = keys(str(params["keyid"]))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("the signing key is unknown or revoked", slug="unknown_key")
    if params.get("alg", key.alg) != key.alg:
        raise Unauthorized("the signature's alg does not match the key", slug="signature_invalid")
    created = params.get("created")
    if not isinstance(created, int) or abs(now.timestamp() - created) > window_s:
        raise Unauthorized(
            f"the signature's created time is more than {window_s} s from server time",
            slug="signature_expired",
        )
    expires = params.get("expires")
    # RFC 9421 `expires`: the signer's own end of validity, honoured to the second (the library allows
    # its clock skew past it, which here would be the whole signature window).
    if expires is not None and (not isinstance(expires, int) or expires <= now.timestamp()):
        raise Unauthorized("the signature's expires time has passed", slug="signature_expired")
    if request.body or headers.get("content-digest") is not None:
        _check_digest(headers.get("content-digest"), request.body)
    _verify(key, _Message(request.method, request.url, headers), request.body, window_s)
    nonce = params.get("nonce")
    if not isinstance(nonce, str) or not nonce or len(nonce) > 128:
        raise Unauthorized("the signature needs a nonce of at most 128 characters", slug="signature_invalid")
    return Verified(key, nonce)


def remember_nonce(store: NonceStore, verified: Verified[Any], *, now: datetime) -> None:
    """Record the request's nonce for its key, or raise 401 when it was seen before (a replay)."""
    if not store.remember(verified.key.key_id, verified.nonce, now.replace(tzinfo=None)):
        raise Unauthorized("this nonce was already used", slug="replayed_nonce")


def _signature_params(headers: _Headers) -> dict[str, Any]:
    raw_input = headers.get("signature-input")
    if raw_input is None or headers.get("signature") is None:
        raise Unauthorized(
            "the request is not signed (Signature and Signature-Input)", slug="signature_missing"
        )
    try:
        parsed: Any = http_sf.parse(raw_input.encode(), tltype="dictionary")
    except Exception as exc:
        raise Unauthorized("Signature-Input is malformed", slug="signature_invalid") from exc
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise Unauthorized("exactly one signature is expected", slug="signature_invalid")
    ((_members, params),) = parsed.values()
    if not isinstance(params, dict) or not isinstance(params.get("keyid"), str):
        raise Unauthorized("the signature has no keyid", slug="signature_invalid")
    return dict(params)


def _check_digest(header: str | None, body: bytes) -> None:
    if header is None:
        raise Unauthorized("a request with a body needs a Content-Digest", slug="digest_mismatch")
    try:
        parsed: Any = http_sf.parse(header.encode(), tltype="dictionary")
        expected = parsed["sha-256"][0]
    except Exception as exc:
        raise Unauthorized("Content-Digest must carry a sha-256 member", slug="digest_mismatch") from exc
    if not isinstance(expected, bytes) or expected != hashlib.sha256(body).digest():
        raise Unauthorized("Content-Digest does not match the body", slug="digest_mismatch")


def _verify(key: SigningKey, message: _Message, body: bytes, window_s: int) -> None:
    algorithm = signature_algorithms().get(key.alg)
    if algorithm is None:
        raise Unauthorized("the key's algorithm is not available on this server", slug="unknown_key")
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(
            public_keys={key.key_id: key.public_key_pem.encode()}, private_keys={}
        ),
    )
    # Our own window check ran already; the library's clock check must agree with it, not its 5 s default.
    verifier.max_clock_skew = timedelta(seconds=window_s)
    required = BODY_COMPONENTS if body else BODYLESS_COMPONENTS
    try:
        verifier.verify(message, max_age=None, require_components=required, body=body if body else None)
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        raise Unauthorized("the signature does not verify", slug="signature_invalid") from exc
