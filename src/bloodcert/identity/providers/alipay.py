"""Alipay (支付宝) real-name login: user authorisation (scope auth_user) through the open-platform gateway.

Protocol (open.alipay.com, public-key mode):

1. The browser goes to `openauth.alipay.com/oauth2/publicAppAuthorize.htm?app_id&scope=auth_user&redirect_uri
   &state`; Alipay sends it back to redirect_uri with `auth_code` and `state`.
2. The server calls the gateway (`gateway.do`) with method `alipay.system.oauth.token` (grant_type=
   authorization_code, code) and then `alipay.user.info.share` (auth_token = the access token).

Every request carries the common parameters (app_id, method, format=JSON, charset=utf-8, sign_type=RSA2,
timestamp in Beijing time, version=1.0) and is signed RSA2 (SHA256withRSA, PKCS#1 v1.5) over the sorted
`k=v&…` string of its non-empty parameters except `sign`. Every answer is verified with Alipay's public key
over the exact raw text of its `*_response` member, never over a re-serialisation.

Assumptions: the app has been granted Alipay's sensitive-data permission (实名信息), so that
`alipay.user.info.share` returns `cert_type`, `cert_no` and `user_name` for certified users; an account that
is not certified (`is_certified` other than "T") cannot log in. Alipay's authorisation page has no PKCE, so
only `state` binds the callback to the browser. Certificate mode (alipay_cert_sn) and AES content
encryption are not used.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlencode

import httpx
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.identity import normalize_id_number
from bloodcert.identity.providers.base import (
    AuthorizationRequest,
    ClaimedIdentity,
    ProviderError,
    VerifiedIdentity,
)

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
DEFAULT_AUTHORIZE_URL = "https://openauth.alipay.com/oauth2/publicAppAuthorize.htm"
SUCCESS = "10000"
MIN_RSA_BITS = 2048

# Alipay 证件类型 codes: 0 身份证, 5 临时身份证 and 6 户口簿 all carry the resident ID number; 1 护照;
# 2 军官证, 3 士兵证; 4 回乡证 and 11 港澳居民来往内地通行证; 8 台胞证 and 12 台湾居民来往大陆通行证.
CERT_TYPES = {
    "0": "resident_id",
    "5": "resident_id",
    "6": "resident_id",
    "1": "passport",
    "2": "military",
    "3": "military",
    "4": "hk_macao_permit",
    "11": "hk_macao_permit",
    "8": "taiwan_permit",
    "12": "taiwan_permit",
}

_Reply = TypeVar("_Reply", bound="_GatewayReply")
_JSON = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class AlipayConfig:
    """An Alipay open-platform app: its id, its RSA2 private key and Alipay's public key (PEM or base64)."""

    app_id: str
    private_key: str = field(repr=False)
    alipay_public_key: str = field(repr=False)
    gateway: str = DEFAULT_GATEWAY
    authorize_url: str = DEFAULT_AUTHORIZE_URL


class _GatewayReply(msgspec.Struct):
    code: str = ""
    sub_code: str = ""


class _TokenReply(_GatewayReply):
    access_token: str = ""
    user_id: str = ""
    open_id: str = ""


class _UserReply(_GatewayReply):
    user_id: str = ""
    open_id: str = ""
    is_certified: str = ""
    cert_type: str = ""
    cert_no: str = ""
    user_name: str = ""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlipayProvider:
    """Alipay user authorisation: auth_code → access token → the certified holder's ID and name."""

    def __init__(
        self, config: AlipayConfig, http: httpx.Client, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._private_key = load_rsa_private_key(config.private_key)
        self._alipay_key = load_rsa_public_key(config.alipay_public_key)

    @property
    def name(self) -> str:
        """The provider's id in URLs and session records."""
        return "alipay"

    @property
    def label(self) -> str:
        """The login button's text."""
        return "支付宝"

    def authorization(self, redirect_uri: str) -> AuthorizationRequest:
        """Alipay's authorisation page for scope auth_user, with a fresh `state` (Alipay has no PKCE)."""
        state = secrets.token_urlsafe(32)
        query = urlencode(
            {
                "app_id": self._config.app_id,
                "scope": "auth_user",
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return AuthorizationRequest(f"{self._config.authorize_url}?{query}", state, None)

    def identity(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str | None,
        claimed: ClaimedIdentity | None = None,
    ) -> VerifiedIdentity:
        """Exchange the auth_code and read the user's certified identity; ProviderError unless certified."""
        token = self._call(
            "alipay.system.oauth.token", {"grant_type": "authorization_code", "code": code}, _TokenReply
        )
        if not token.access_token:
            raise ProviderError("Alipay issued no access token")
        user = self._call("alipay.user.info.share", {"auth_token": token.access_token}, _UserReply)
        subject = user.user_id or user.open_id or token.user_id or token.open_id
        if not subject:
            raise ProviderError("Alipay named no user")
        if user.is_certified != "T" or not (
            user.cert_type and user.cert_no.strip() and user.user_name.strip()
        ):
            raise ProviderError("the Alipay account is not real-name certified")
        id_type = CERT_TYPES.get(user.cert_type, "other")
        return VerifiedIdentity(
            "alipay", subject, id_type, normalize_id_number(user.cert_no), user.user_name.strip()
        )

    def _call(self, method: str, params: Mapping[str, str], reply_type: type[_Reply]) -> _Reply:
        """One signed gateway call; the reply's signature is verified before any of it is trusted."""
        form = self._signed_params(method, params)
        try:
            response = self._http.post(
                self._config.gateway, data=form, headers={"Accept": "application/json"}
            )
            body = response.content.decode("utf-8")
        except (httpx.HTTPError, UnicodeDecodeError):
            # `from None`: the request carried the auth code or token, and tracebacks end up in logs.
            raise ProviderError(f"Alipay could not be reached for {method}") from None
        if response.status_code != 200:
            raise ProviderError(f"Alipay answered {method} with HTTP {response.status_code}")
        return self._verified_reply(method, body, reply_type)

    def _signed_params(self, method: str, params: Mapping[str, str]) -> dict[str, str]:
        """The common parameters plus `params`, with the RSA2 `sign` added."""
        return signed_form(self._private_key, self._config.app_id, method, self._clock(), params)

    def _verified_reply(self, method: str, body: str, reply_type: type[_Reply]) -> _Reply:
        members = raw_members(body)
        raw = members.get(method.replace(".", "_") + "_response") or members.get("error_response")
        if raw is None:
            raise ProviderError(f"Alipay answered {method} without a response member")
        try:
            reply = msgspec.json.decode(raw, type=reply_type)
        except msgspec.DecodeError:
            raise ProviderError(f"Alipay answered {method} with malformed data") from None
        # A refusal is refused whether or not it is signed (Alipay leaves some errors unsigned).
        if (reply.code and reply.code != SUCCESS) or reply.sub_code:
            raise ProviderError(f"Alipay refused {method}: {reply.sub_code or reply.code}")
        self._verify(method, raw, members.get("sign"))
        return reply

    def _verify(self, method: str, raw: str, sign_member: str | None) -> None:
        if not signature_holds(self._alipay_key, raw, sign_member):
            raise ProviderError(f"Alipay's signature on {method} did not verify")


def signed_form(
    private_key: rsa.RSAPrivateKey, app_id: str, method: str, now: datetime, params: Mapping[str, str]
) -> dict[str, str]:
    """A gateway request: the common parameters plus `params`, with the RSA2 `sign` added."""
    form = {
        "app_id": app_id,
        "method": method,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        "version": "1.0",
        **params,
    }
    signature = private_key.sign(signing_string(form).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    form["sign"] = base64.b64encode(signature).decode("ascii")
    return form


def signature_holds(alipay_key: rsa.RSAPublicKey, raw: str, sign_member: str | None) -> bool:
    """Whether Alipay's `sign` member (a JSON string) signs the raw response member."""
    try:
        sign = json.loads(sign_member) if sign_member is not None else None
        if not isinstance(sign, str):
            return False
        alipay_key.verify(
            base64.b64decode(sign, validate=True), raw.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
        )
    except (ValueError, InvalidSignature):
        return False
    return True


def signing_string(params: Mapping[str, str]) -> str:
    """Alipay's string to sign: non-empty parameters but `sign`, sorted by name, as raw `k=v` joined by &."""
    return "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key != "sign" and value)


def raw_members(body: str) -> dict[str, str]:
    """The top-level members of a JSON object as their exact raw text; ProviderError if not one clean object.

    Alipay signs the bytes it sent, so the verifier must cut them out of the body; the stdlib parser
    reports where each value ends, which is all that takes.
    """
    try:
        members, end = _object_members(body, _skip_space(body, 0))
        if _skip_space(body, end) != len(body):
            raise ValueError("trailing data")
    except ValueError:
        raise ProviderError("Alipay answered with malformed JSON") from None
    return members


def _object_members(text: str, pos: int) -> tuple[dict[str, str], int]:
    members: dict[str, str] = {}
    pos = _skip_space(text, _expect(text, pos, "{"))
    if text.startswith("}", pos):
        return members, pos + 1
    while True:
        key, pos = _JSON.raw_decode(text, pos)
        start = _skip_space(text, _expect(text, _skip_space(text, pos), ":"))
        _, end = _JSON.raw_decode(text, start)
        if not isinstance(key, str) or key in members:
            raise ValueError("bad or repeated member name")
        members[key] = text[start:end]
        pos = _skip_space(text, end)
        if text.startswith("}", pos):
            return members, pos + 1
        pos = _skip_space(text, _expect(text, pos, ","))


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _expect(text: str, pos: int, char: str) -> int:
    if not text.startswith(char, pos):
        raise ValueError(f"expected {char!r}")
    return pos + 1


def load_rsa_private_key(text: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM, or the bare base64 DER (PKCS#8 or PKCS#1) Alipay's key tool writes."""
    data = text.strip()
    try:
        if data.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(data.encode("ascii"), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(data), password=None)
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not a readable unencrypted private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA2 needs an RSA key of at least {MIN_RSA_BITS} bits")
    return key


def load_rsa_public_key(text: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM, or the bare base64 DER (SubjectPublicKeyInfo) Alipay's console shows."""
    data = text.strip()
    try:
        if data.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(data.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(data))
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not a readable public key") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA2 needs an RSA key of at least {MIN_RSA_BITS} bits")
    return key
