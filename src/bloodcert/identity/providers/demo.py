"""Demo login (演示登录): a local page lets a visitor pick a demo donor; only the server can vouch for it.

Only for demo mode. The flow is OAuth-shaped so that it exercises the same callback as the real platforms:
`authorization()` sends the browser to the local page PAGE_PATH with redirect_uri, state, response_type=code,
code_challenge and code_challenge_method=S256; the page (in web/) calls `issue_code()` for the chosen
identity and redirects to redirect_uri with `code` and `state`; `identity()` checks the code.

A code is `base64url(payload).base64url(HMAC-SHA256(key, payload))`, the payload a JSON array of id_type,
id_number, name, redirect_uri, code_challenge and expiry; without the key nobody can forge one. Both ends
being ours, the flow uses PKCE S256 (RFC 7636). Codes live CODE_TTL and, holding no server state, are not
single-use, which is acceptable for demo data only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import msgspec

from bloodcert.domain.identity import IdType, normalize_id_number
from bloodcert.identity.providers.base import (
    AuthorizationRequest,
    ClaimedIdentity,
    ProviderError,
    VerifiedIdentity,
)

PAGE_PATH = "/auth/demo"
CODE_TTL = timedelta(minutes=5)
MIN_KEY_BYTES = 32
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_CONTEXT = b"bloodcert demo login v1\x00"  # keeps these MACs apart from any other use of the key


class _Claims(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    id_type: str
    id_number: str
    name: str
    redirect_uri: str
    code_challenge: str
    expires: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


def pkce_challenge(code_verifier: str) -> str:
    """The S256 code_challenge of a PKCE code_verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(code_verifier.encode("utf-8")).digest()
    return _b64(digest)


class DemoProvider:
    """Logs in as a demo identity chosen on a local page; codes are HMAC-signed by the server."""

    def __init__(
        self, key: bytes, *, page_path: str = PAGE_PATH, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the demo login key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self._page_path = page_path
        self._clock = clock

    @property
    def name(self) -> str:
        """The provider's id in URLs and session records."""
        return "demo"

    @property
    def label(self) -> str:
        """The login button's text."""
        return "演示登录 (demo)"

    def authorization(self, redirect_uri: str) -> AuthorizationRequest:
        """The local demo page, with `state` and a PKCE S256 challenge."""
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        query = urlencode(
            {
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return AuthorizationRequest(f"{self._page_path}?{query}", state, verifier)

    def issue_code(
        self, id_type: str, id_number: str, name: str, *, redirect_uri: str, code_challenge: str
    ) -> str:
        """A signed code for the chosen demo identity; ValueError for an unknown ID type or empty fields."""
        kind = IdType(id_type)
        number, holder = normalize_id_number(id_number), name.strip()
        if not number or not holder or not _S256_CHALLENGE.fullmatch(code_challenge):
            raise ValueError("a demo code needs an ID number, a name and an S256 code_challenge")
        expires = int((self._clock() + CODE_TTL).timestamp())
        payload = _b64(
            msgspec.json.encode(_Claims(kind.value, number, holder, redirect_uri, code_challenge, expires))
        )
        return f"{payload}.{self._mac(payload)}"

    def identity(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str | None,
        claimed: ClaimedIdentity | None = None,
    ) -> VerifiedIdentity:
        """The identity a code vouches for, once its MAC, expiry, redirect_uri and PKCE verifier all check."""
        payload, _, mac = code.partition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise ProviderError("the demo login code is not genuine")
        claims = self._claims(payload)
        if self._clock().timestamp() >= claims.expires:
            raise ProviderError("the demo login code has expired")
        if claims.redirect_uri != redirect_uri:
            raise ProviderError("the demo login code was issued for another redirect_uri")
        if code_verifier is None or not hmac.compare_digest(
            pkce_challenge(code_verifier).encode(), claims.code_challenge.encode()
        ):
            raise ProviderError("the PKCE code_verifier does not match the demo login code")
        id_type, number, name = claims.id_type, claims.id_number, claims.name
        subject = hmac.new(self._key, _CONTEXT + f"subject|{id_type}|{number}".encode(), "sha256").hexdigest()
        return VerifiedIdentity("demo", subject[:32], id_type, number, name)

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, _CONTEXT + payload.encode(), "sha256").digest())

    @staticmethod
    def _claims(payload: str) -> _Claims:
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            return msgspec.json.decode(raw, type=_Claims)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            # Only reachable with a genuine MAC, i.e. a bug on our side rather than a forgery.
            raise ProviderError("the demo login code is malformed") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
