"""WeChat (微信) real-name login: OAuth gives the openid, then WeChat checks the ID number and name claimed.

Protocol:

- Web (website app on open.weixin.qq.com): the browser goes to `open.weixin.qq.com/connect/qrconnect?appid
  &redirect_uri&response_type=code&scope=snsapi_login&state#wechat_redirect`; WeChat sends it back with
  `code` and `state`; the server calls `GET api.weixin.qq.com/sns/oauth2/access_token?appid&secret&code
  &grant_type=authorization_code` → `{access_token, openid, unionid?}` or `{errcode, errmsg}`.
- Mini-program: `wx.login()` gives a `js_code`; the server calls `GET /sns/jscode2session?appid&secret
  &js_code&grant_type=authorization_code` → `{openid, session_key, unionid?}` or `{errcode, errmsg}`.

WeChat never discloses ID numbers; it only answers whether a claimed ID number and name match the real
name on the WeChat Pay account. This module speaks the published `checkrealnameinfo` call
(城市服务实名信息校验): `POST /intp/realname/checkrealnameinfo?access_token=…` with JSON `{openid,
real_name, cred_id, cred_type: "1", code}`, answered `{errcode, errmsg, verify_openid, verify_real_name}`.
The claim matched only when verify_openid lists `V_OP_NM_MA` (account ↔ name) and verify_real_name is
`V_NM_ID_MA` (name ↔ ID number).
The access token is the app's own, from `POST /cgi-bin/stable_token` (which keeps the secret out of URLs).

Assumptions, since WeChat publishes the check only for mini-programs:
- `code` there is the consent code the user's approval on WeChat's city-service page hands back to a
  mini-program; the mini-program flow passes it, the web flow has none and sends the request without it.
  The endpoint is configurable (BLOODCERT_WECHAT_REALNAME_URL) so that an operator can point the web flow at
  a check service that accepts an openid alone; WeChat's own endpoint refuses such a request, and the login
  then fails closed with ProviderError.
- Only resident ID cards (cred_type "1") can be checked; any other claimed document is refused.
- Each openid is checked with the access token of the app it belongs to (web or mini-program).
WeChat has no PKCE; `state` binds the web callback to the browser. The subject is the unionid when WeChat
gives one (the same person across the web and mini-program apps), else the openid.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import msgspec

from bloodcert.domain.identity import IdType, normalize_id_number
from bloodcert.identity.providers.base import (
    AuthorizationRequest,
    ClaimedIdentity,
    ProviderError,
    VerifiedIdentity,
)

DEFAULT_OPEN_BASE = "https://open.weixin.qq.com"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_REALNAME_URL = "https://api.weixin.qq.com/intp/realname/checkrealnameinfo"
NAME_MATCHED = "V_OP_NM_MA"
ID_MATCHED = "V_NM_ID_MA"
RESIDENT_ID_CRED = "1"
STALE_TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# Refresh a little before WeChat's expiry so that a token never dies between cache and use.
TOKEN_MARGIN = timedelta(minutes=5)

_Reply = TypeVar("_Reply", bound="_WeChatReply")


@dataclass(frozen=True, slots=True)
class WeChatConfig:
    """A WeChat website app (web QR login) and, optionally, the mini-program of the same open account."""

    app_id: str
    app_secret: str = field(repr=False)
    mini_app_id: str | None = None
    mini_app_secret: str | None = field(default=None, repr=False)
    open_base: str = DEFAULT_OPEN_BASE
    api_base: str = DEFAULT_API_BASE
    realname_url: str = DEFAULT_REALNAME_URL


class _WeChatReply(msgspec.Struct):
    errcode: int = 0
    errmsg: str = ""


class _Session(_WeChatReply):
    openid: str = ""
    unionid: str = ""


class _StableToken(_WeChatReply):
    access_token: str = ""
    expires_in: int = 0


class _RealNameCheck(_WeChatReply):
    verify_openid: str = ""
    verify_real_name: str = ""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WeChatProvider:
    """WeChat web QR login plus the mini-program's jscode2session, each followed by the real-name check."""

    def __init__(
        self, config: WeChatConfig, http: httpx.Client, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._tokens: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The provider's id in URLs and session records."""
        return "wechat"

    @property
    def label(self) -> str:
        """The login button's text."""
        return "微信"

    @property
    def has_mini_program(self) -> bool:
        """True when a mini-program app is configured, so that `mini_program_identity` can work."""
        return bool(self._config.mini_app_id and self._config.mini_app_secret)

    def authorization(self, redirect_uri: str) -> AuthorizationRequest:
        """WeChat's QR-code login page (scope snsapi_login), with a fresh `state` (WeChat has no PKCE)."""
        state = secrets.token_urlsafe(32)
        query = urlencode(
            {
                "appid": self._config.app_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_login",
                "state": state,
            }
        )
        return AuthorizationRequest(
            f"{self._config.open_base}/connect/qrconnect?{query}#wechat_redirect", state, None
        )

    def identity(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str | None,
        claimed: ClaimedIdentity | None = None,
    ) -> VerifiedIdentity:
        """Exchange the web login code; with a claim, the ID fields are set only if WeChat confirms it."""
        app = (self._config.app_id, self._config.app_secret)
        session = self._get(
            "/sns/oauth2/access_token",
            {"appid": app[0], "secret": app[1], "code": code, "grant_type": "authorization_code"},
            _Session,
        )
        return self._verified(session, app, claimed, None)

    def mini_program_identity(
        self, js_code: str, *, claimed: ClaimedIdentity | None = None, consent_code: str | None = None
    ) -> VerifiedIdentity:
        """The mini-program login: wx.login's js_code → jscode2session, then the check of `claimed`."""
        if not (self._config.mini_app_id and self._config.mini_app_secret):
            raise ProviderError("no WeChat mini-program is configured")
        app = (self._config.mini_app_id, self._config.mini_app_secret)
        session = self._get(
            "/sns/jscode2session",
            {"appid": app[0], "secret": app[1], "js_code": js_code, "grant_type": "authorization_code"},
            _Session,
        )
        return self._verified(session, app, claimed, consent_code)

    def _verified(
        self,
        session: _Session,
        app: tuple[str, str],
        claimed: ClaimedIdentity | None,
        consent_code: str | None,
    ) -> VerifiedIdentity:
        if not session.openid:
            raise ProviderError("WeChat named no user")
        subject = session.unionid or session.openid
        if claimed is None:
            return VerifiedIdentity("wechat", subject)
        number, name = normalize_id_number(claimed.id_number), claimed.name.strip()
        if claimed.id_type != IdType.RESIDENT_ID or not number or not name:
            raise ProviderError("WeChat can check only a resident ID card (居民身份证) number and name")
        body = {"openid": session.openid, "real_name": name, "cred_id": number, "cred_type": RESIDENT_ID_CRED}
        if consent_code:
            body["code"] = consent_code
        self._check_real_name(app, body)
        return VerifiedIdentity("wechat", subject, IdType.RESIDENT_ID.value, number, name)

    def _check_real_name(self, app: tuple[str, str], body: Mapping[str, str]) -> None:
        token = self._access_token(app)
        try:
            reply = self._post(self._config.realname_url, {"access_token": token}, body, _RealNameCheck)
        except _Refused as refused:
            if refused.errcode in STALE_TOKEN_ERRORS:
                with self._lock:
                    self._tokens.pop(app[0], None)
            raise
        if NAME_MATCHED not in reply.verify_openid.split(";") or reply.verify_real_name != ID_MATCHED:
            raise ProviderError("WeChat's real-name record does not match the ID number and name given")

    def _access_token(self, app: tuple[str, str]) -> str:
        now = self._clock()
        with self._lock:
            cached = self._tokens.get(app[0])
        if cached is not None and cached[1] > now:
            return cached[0]
        reply = self._post(
            self._config.api_base + "/cgi-bin/stable_token",
            {},
            {"grant_type": "client_credential", "appid": app[0], "secret": app[1]},
            _StableToken,
        )
        if not reply.access_token:
            raise ProviderError("WeChat issued no access token")
        with self._lock:
            self._tokens[app[0]] = (
                reply.access_token,
                now + timedelta(seconds=reply.expires_in) - TOKEN_MARGIN,
            )
        return reply.access_token

    def _get(self, path: str, params: Mapping[str, str], reply_type: type[_Reply]) -> _Reply:
        try:
            response = self._http.get(self._config.api_base + path, params=params)
        except httpx.HTTPError:
            # `from None`: WeChat's protocol puts the app secret in this URL, and tracebacks end up in logs.
            raise ProviderError(f"WeChat could not be reached for {path}") from None
        return _reply(response, path, reply_type)

    def _post(
        self, url: str, params: Mapping[str, str], body: Mapping[str, Any], reply_type: type[_Reply]
    ) -> _Reply:
        path = httpx.URL(url).path
        try:
            response = self._http.post(
                url,
                params=params,
                content=msgspec.json.encode(body),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.HTTPError:
            raise ProviderError(f"WeChat could not be reached for {path}") from None
        return _reply(response, path, reply_type)


class _Refused(ProviderError):
    def __init__(self, path: str, errcode: int) -> None:
        super().__init__(f"WeChat refused {path} (errcode {errcode})")
        self.errcode = errcode


def _reply(response: httpx.Response, path: str, reply_type: type[_Reply]) -> _Reply:
    if response.status_code != 200:
        raise ProviderError(f"WeChat answered {path} with HTTP {response.status_code}")
    try:
        reply = msgspec.json.decode(response.content, type=reply_type)
    except msgspec.DecodeError:
        raise ProviderError(f"WeChat answered {path} with malformed data") from None
    if reply.errcode != 0:
        raise _Refused(path, reply.errcode)
    return reply
