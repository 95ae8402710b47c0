"""Authenticating signed requests: RFC 9421 HTTP Message Signatures with an RFC 9530 Content-Digest.

Stations and hospitals sign the same way; each kind of tenant has its own key table, so a key registered for
one kind is simply unknown on the other's routes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

import http_sf
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from http_message_signatures import HTTPSignatureAlgorithm, HTTPSignatureComponentResolver, algorithms
from http_message_signatures.digests import ContentDigest
from http_message_signatures.structures import normalize_header_value
from http_sf.compat import Item

from bloodcert.certs.algorithms import algorithm
from bloodcert.errors import Unauthorized, ValidationFailed
from bloodcert.storage.rows import StationKeyRow
from bloodcert.storage.uow import UnitOfWork

BODY_COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type")
BODYLESS_COMPONENTS = ("@method", "@target-uri")
SIGNATURE_PARAMETERS = frozenset({"alg", "created", "expires", "keyid", "nonce", "tag"})  # RFC 9421 2.3


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
    """Read-only header view that keeps repeated field lines (the library's resolver reads `items`)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._lines: dict[str, list[str]] = {}
        for name, value in items:
            self._lines.setdefault(name.lower(), []).append(value)

    def items(self) -> Iterable[tuple[str, str]]:
        return iter(self._items)

    def get(self, name: str) -> str | None:
        """The first line of a field, as it came."""
        lines = self._lines.get(name.lower())
        return lines[0] if lines else None

    def count(self, name: str) -> int:
        """How many lines the field has."""
        return len(self._lines.get(name.lower(), ()))

    def field(self, name: str) -> str | None:
        """A field's value as RFC 9421 covers it: its lines trimmed and joined with ", " (section 2.1)."""
        lines = self._lines.get(name.lower())
        return None if lines is None else ", ".join(normalize_header_value(v) for v in lines)


@dataclass(frozen=True, slots=True)
class _Message:
    """A request as the library's component resolver reads it."""

    method: str
    url: str
    headers: _Headers


@dataclass(frozen=True, slots=True)
class _Signature:
    """The request's one signature as Signature-Input describes it: the covered components (name and
    parameters, as parsed) and the signature's parameters, in order."""

    label: str
    components: Any
    params: dict[str, Any]


def authenticate_station(
    uow: UnitOfWork, request: SignedRequest, *, now: datetime, window_s: int
) -> StationKeyRow:
    """Verify the request's signature and digest; return the signing key (and so the station) or raise 401.

    Nonces are remembered in the database, in the request's own transaction, with or without Redis: losing
    Redis can never weaken replay protection."""
    return authenticate_signed(uow, request, keys=uow.stations.get_key, now=now, window_s=window_s)


def authenticate_signed(
    uow: UnitOfWork,
    request: SignedRequest,
    *,
    keys: Callable[[str], KeyT | None],
    now: datetime,
    window_s: int,
) -> KeyT:
    """Verify a signed request against one kind of tenant's keys (`keys` looks a key id up) or raise 401."""
    verified = verify_signed(request, keys=keys, now=now, window_s=window_s)
    remember_nonce(uow.nonces, verified, now=now)
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
    signature = _signature_input(headers)
    params = signature.params
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
    # RFC 9421 `expires`: the signer's own end of validity, honoured to the second (a verifier that allowed
    # clock skew past it would here allow the whole signature window).
    if expires is not None and (not isinstance(expires, int) or expires <= now.timestamp()):
        raise Unauthorized("the signature's expires time has passed", slug="signature_expired")
    if request.body or headers.get("content-digest") is not None:
        _check_digest(headers.get("content-digest"), request.body)
    if key.alg not in signature_algorithms():
        raise Unauthorized("the key's algorithm is not available on this server", slug="unknown_key")
    try:
        _verify(key, request, headers, signature)
    except Exception as exc:  # a malformed component, an unusable key or a bad signature: all the same 401
        raise Unauthorized("the signature does not verify", slug="signature_invalid") from exc
    nonce = params.get("nonce")
    if not isinstance(nonce, str) or not nonce or len(nonce) > 128:
        raise Unauthorized("the signature needs a nonce of at most 128 characters", slug="signature_invalid")
    return Verified(key, nonce)


def remember_nonce(store: NonceStore, verified: Verified[Any], *, now: datetime) -> None:
    """Record the request's nonce for its key, or raise 401 when it was seen before (a replay)."""
    if not store.remember(verified.key.key_id, verified.nonce, now.replace(tzinfo=None)):
        raise Unauthorized("this nonce was already used", slug="replayed_nonce")


def _reject_duplicate(name: str, context: str) -> None:
    if context == "dictionary":
        raise ValueError(f"{name!r} appears twice")


def _signature_input(headers: _Headers) -> _Signature:
    raw_input = headers.field("signature-input")
    if raw_input is None or headers.field("signature") is None:
        raise Unauthorized(
            "the request is not signed (Signature and Signature-Input)", slug="signature_missing"
        )
    try:
        parsed: Any = http_sf.parse(
            raw_input.encode(), tltype="dictionary", on_duplicate_key=_reject_duplicate
        )
    except Exception as exc:
        raise Unauthorized("Signature-Input is malformed", slug="signature_invalid") from exc
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise Unauthorized("exactly one signature is expected", slug="signature_invalid")
    ((label, (members, params)),) = parsed.items()
    if not isinstance(params, dict) or not isinstance(params.get("keyid"), str):
        raise Unauthorized("the signature has no keyid", slug="signature_invalid")
    return _Signature(label, members, dict(params))


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


class _Invalid(Exception):
    """The signature does not verify (verify_signed answers 401 for this and any other failure)."""


def _verify(key: SigningKey, request: SignedRequest, headers: _Headers, signature: _Signature) -> None:
    """RFC 9421 verification of the request's one signature; raises on any failure.

    The signature base is built here, from the parsed Signature-Input: the components every signer covers
    (`@method`, `@target-uri`, plain fields) directly, any other derived component or field parameter by
    the http-message-signatures library's resolver. The key's algorithm object is kept per key.
    """
    algorithm = signature_algorithms()[key.alg]
    params = signature.params
    for name, value in params.items():
        if name not in SIGNATURE_PARAMETERS:
            raise _Invalid(f"unexpected signature parameter {name!r}")
        if name in {"created", "expires"} and type(value) is not int:
            raise _Invalid(f"{name} must be an integer")
        if name in {"alg", "keyid", "nonce", "tag"} and not isinstance(value, str):
            raise _Invalid(f"{name} must be a string")
    if "expires" in params:
        datetime.fromtimestamp(params["expires"], UTC)  # a time at all (the window was checked already)
    if params.get("alg", algorithm.algorithm_id) != algorithm.algorithm_id:
        raise _Invalid("unexpected algorithm")
    value = _signature_value(headers, signature.label)
    base, covered = _signature_base(request, headers, signature)
    _public_key(key.alg, key.public_key_pem).verify(signature=value, message=base)
    plain = {name for name, component_params, _ in covered if not component_params}
    required = BODY_COMPONENTS if request.body else BODYLESS_COMPONENTS
    if not plain.issuperset(required):
        raise _Invalid(f"the signature must cover {', '.join(required)}")
    if request.body:
        # Every covered digest (the field, or a member of it) must match the body (RFC 9530).
        digests = [
            (text, component_params.get("key"))
            for name, component_params, text in covered
            if name == "content-digest" and not set(component_params) - {"sf", "key"}
        ]
        if not digests:
            raise _Invalid("the body's digest is not covered")
        for text, member in digests:
            ContentDigest.verify(text, request.body, key=member)


def _signature_value(headers: _Headers, label: str) -> bytes:
    raw = headers.field("signature") or ""
    parsed: Any = http_sf.parse(raw.encode(), tltype="dictionary", on_duplicate_key=_reject_duplicate)
    if not isinstance(parsed, dict) or list(parsed) != [label]:
        raise _Invalid("Signature and Signature-Input name different signatures")
    value = parsed[label][0]
    if not isinstance(value, bytes):
        raise _Invalid("the signature is not a byte sequence")
    return value


def _signature_base(
    request: SignedRequest, headers: _Headers, signature: _Signature
) -> tuple[bytes, list[tuple[str, dict[str, Any], str]]]:
    """The signature base (RFC 9421 section 2.5) and each covered component's name, parameters and value."""
    if not isinstance(signature.components, list):
        raise _Invalid("Signature-Input's member must be an inner list")
    lines: list[str] = []
    ids: list[str] = []
    covered: list[tuple[str, dict[str, Any], str]] = []
    seen: set[tuple[str, frozenset[tuple[str, Any]]]] = set()
    for name, component_params in signature.components:
        if not isinstance(name, str):
            raise _Invalid("component names are strings")
        identity = (name, frozenset(component_params.items()))
        if identity in seen:
            raise _Invalid(f"{name} is covered twice")
        seen.add(identity)
        component_id = _quoted(name) if not component_params else str(_item(name, component_params))
        text = _component_value(request, headers, name, component_params, component_id)
        _check_component(name, component_id, text)
        lines.append(f"{component_id}: {text}")
        ids.append(component_id)
        covered.append((name, component_params, text))
    params = "".join(
        f";{name}={value}" if type(value) is int else f";{name}={_quoted(value)}"
        for name, value in signature.params.items()
    )
    lines.append(f'"@signature-params": ({" ".join(ids)}){params}')
    base = "\n".join(lines)
    if not base.isascii():
        raise _Invalid("the signature base is not ASCII")
    return base.encode(), covered


def _component_value(
    request: SignedRequest, headers: _Headers, name: str, params: dict[str, Any], component_id: str
) -> Any:
    if name.startswith("@"):
        return _derived(request.method, request.url, component_id)
    if not params:
        found = headers.field(name)
        if found is None:
            raise _Invalid(f"the covered field {name} is missing")
        if name == "set-cookie" and headers.count(name) > 1:
            raise _Invalid("several Set-Cookie lines are covered only with the bs parameter")
        return found
    # A field with parameters (sf, key, bs): as rare as it is intricate, left to the library's resolver.
    resolver = HTTPSignatureComponentResolver(_Message(request.method, request.url, headers))  # type: ignore[no-untyped-call]
    return resolver.resolve(_item(name, params))


def _check_component(name: str, component_id: str, text: Any) -> None:
    """What RFC 9421 allows in a signature base's line (section 2.5)."""
    if not isinstance(text, str) or name.lower() != name or "\n" in component_id:
        raise _Invalid(f"component {name} is not usable")
    if "\r" in text or "\n" in text:
        raise _Invalid(f"the value of {name} holds a line break")
    derived = name.startswith("@")
    if text and not derived and not text.replace("\t", " ").isprintable():
        raise _Invalid(f"the value of {name} holds control characters")
    if text and derived and (not text.isprintable() or text[0] == " " or text[-1] == " "):
        raise _Invalid(f"the value of {name} is not printable or has surrounding whitespace")


def _quoted(text: str) -> str:
    """A Structured Field String (RFC 8941), for text that came out of one (printable ASCII)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _item(name: str, params: dict[str, Any]) -> Item:
    item = Item(name)
    item.params.update(params)
    return item


@lru_cache(maxsize=1024)
def _derived(method: str, url: str, component_id: str) -> str:
    """A derived component (`@method`, `@target-uri`, `@authority`, …) of a request: a function of its
    method and URL alone, so worked out once for each, by the library's resolver."""
    item = Item()
    item.parse(component_id.encode())
    resolver = HTTPSignatureComponentResolver(_Message(method, url, _Headers([])))  # type: ignore[no-untyped-call]
    value = resolver.resolve(item)
    if not isinstance(value, str):
        raise _Invalid(f"{component_id} has no value")
    return value


@lru_cache(maxsize=256)
def _public_key(alg: str, public_key_pem: str) -> HTTPSignatureAlgorithm:
    """A registered key, loaded once: by its PEM text, so that a changed or revoked key is never mistaken
    for it (revocation is read with the key on every request)."""
    return signature_algorithms()[alg](public_key=public_key_pem.encode())
