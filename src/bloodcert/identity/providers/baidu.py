"""Baidu (百度) real-name login: account OAuth 2.0 gives the openid, Baidu AI face verification the ID.

Protocol:

- Account: the browser goes to `openapi.baidu.com/oauth/2.0/authorize?response_type=code&client_id
  &redirect_uri&scope=basic&state`; Baidu sends it back with `code` and `state`; the server posts
  `grant_type=authorization_code, code, client_id, client_secret, redirect_uri` to `/oauth/2.0/token`
  (`{access_token, …}` or `{error, error_description}`) and reads `/rest/2.0/passport/users/getInfo
  ?access_token` (`{openid, …}` or `{error_code, error_msg}`).
- Face (百度智能云 H5 人脸实名认证): the server takes a client-credentials token from `aip.baidubce.com/
  oauth/2.0/token` (30 days, cached), asks `POST /rpc/2.0/brain/solution/faceprint/verifyToken/generate
  ?access_token` `{plan_id, redirect_config: {success_url, failed_url}}` for a `verify_token`, and sends the
  browser to the H5 page `brain.baidu.com/face/print/?token&successUrl&failedUrl`. Afterwards it reads
  `POST /rpc/2.0/brain/solution/faceprint/result/detail?access_token` `{verify_token}` →
  `{success, result: {idcard_confirm: {idcard_number, name}, verify_result: {score, …}}}`.

One login chains both legs so that it fits the one-callback IdentityProvider interface: `authorization()`
creates the verify_token and sends the browser to the face page, whose success URL is Baidu's OAuth page;
the OAuth callback then carries the code. The verify_token travels in `AuthorizationRequest.code_verifier`
(Baidu has no PKCE, so that server-side slot is free), which binds the face result to the session that
started it; a verify_token seen in a browser URL is useless to anyone else.

Assumptions: the H5 plan is configured for ID-card OCR confirmation (so result/detail returns
`idcard_confirm`) with Baidu's own liveness check; the login passes only when `success` is true and
`verify_result.score` (face similarity to the authority photo, 0–100) reaches the configured threshold
(default 80, about 0.1 % false accepts in Baidu's guidance). Client secrets go in form bodies (OAuth 2.0
§2.3.1), not URLs; Baidu's APIs require the access tokens themselves in the query string. The failure
redirect comes back to the callback as `error=access_denied&state=…`, as an OAuth refusal would.
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

DEFAULT_OAUTH_BASE = "https://openapi.baidu.com"
DEFAULT_AIP_BASE = "https://aip.baidubce.com"
DEFAULT_FACE_PAGE_URL = "https://brain.baidu.com/face/print/"
DEFAULT_MIN_FACE_SCORE = 80.0
STALE_TOKEN_ERRORS = frozenset({"110", "111"})  # access token invalid / expired
TOKEN_MARGIN = timedelta(hours=1)

_Reply = TypeVar("_Reply", bound="_BaiduReply")
_AipResult = TypeVar("_AipResult", bound="_AipReply")


@dataclass(frozen=True, slots=True)
class BaiduConfig:
    """A Baidu open-platform app (account OAuth) and a Baidu AI app with an H5 face-verification plan."""

    client_id: str
    client_secret: str = field(repr=False)
    face_api_key: str = ""
    face_secret_key: str = field(default="", repr=False)
    face_plan_id: str = ""
    min_face_score: float = DEFAULT_MIN_FACE_SCORE
    oauth_base: str = DEFAULT_OAUTH_BASE
    aip_base: str = DEFAULT_AIP_BASE
    face_page_url: str = DEFAULT_FACE_PAGE_URL


class _BaiduReply(msgspec.Struct):
    error: str = ""  # OAuth 2.0 token endpoints
    error_code: int | str = 0  # REST and AI APIs


class _Token(_BaiduReply):
    access_token: str = ""
    expires_in: int = 0


class _PassportUser(_BaiduReply):
    openid: str = ""


class _VerifyToken(msgspec.Struct):
    verify_token: str = ""


class _IdCard(msgspec.Struct):
    idcard_number: str = ""
    name: str = ""


class _Scores(msgspec.Struct):
    score: float = 0.0


class _FaceDetail(msgspec.Struct):
    idcard_confirm: _IdCard | None = None
    verify_result: _Scores | None = None


class _AipReply(_BaiduReply):
    success: bool = False


class _Generated(_AipReply):
    result: _VerifyToken | None = None


class _FaceResult(_AipReply):
    result: _FaceDetail | None = None


class _Refused(ProviderError):
    def __init__(self, path: str, code: str) -> None:
        super().__init__(f"Baidu refused {path} ({code})")
        self.code = code


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BaiduProvider:
    """Baidu login: the face page, then Baidu's OAuth page; the callback's code plus the face result."""

    def __init__(
        self, config: BaiduConfig, http: httpx.Client, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._aip_token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The provider's id in URLs and session records."""
        return "baidu"

    @property
    def label(self) -> str:
        """The login button's text."""
        return "百度"

    def authorization(self, redirect_uri: str) -> AuthorizationRequest:
        """A new face verification that leads on to Baidu's OAuth page; code_verifier holds its token."""
        state = secrets.token_urlsafe(32)
        query = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": redirect_uri,
            "scope": "basic",
            "state": state,
        }
        login_url = f"{self._config.oauth_base}/oauth/2.0/authorize?{urlencode(query)}"
        failed_url = str(
            httpx.URL(redirect_uri).copy_merge_params({"error": "access_denied", "state": state})
        )
        verify_token = self._start_face_verification(login_url, failed_url)
        page = urlencode({"token": verify_token, "successUrl": login_url, "failedUrl": failed_url})
        return AuthorizationRequest(f"{self._config.face_page_url}?{page}", state, verify_token)

    def identity(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str | None,
        claimed: ClaimedIdentity | None = None,
    ) -> VerifiedIdentity:
        """The Baidu openid from the OAuth code, and the ID card that the face verification confirmed."""
        if not code_verifier:
            raise ProviderError("this Baidu login has no face verification to look up")
        openid = self._openid(code, redirect_uri)
        number, name = self._face_identity(code_verifier)
        return VerifiedIdentity("baidu", openid, IdType.RESIDENT_ID.value, number, name)

    def _openid(self, code: str, redirect_uri: str) -> str:
        token = self._send(
            "POST",
            self._config.oauth_base + "/oauth/2.0/token",
            _Token,
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self._config.client_id,
                "client_secret": self._config.client_secret,
                "redirect_uri": redirect_uri,
            },
        )
        if not token.access_token:
            raise ProviderError("Baidu issued no access token")
        user = self._send(
            "GET",
            self._config.oauth_base + "/rest/2.0/passport/users/getInfo",
            _PassportUser,
            params={"access_token": token.access_token},
        )
        if not user.openid:
            raise ProviderError("Baidu named no user")
        return user.openid

    def _start_face_verification(self, success_url: str, failed_url: str) -> str:
        body = {
            "plan_id": self._config.face_plan_id,
            "redirect_config": {"success_url": success_url, "failed_url": failed_url},
        }
        reply = self._aip("/rpc/2.0/brain/solution/faceprint/verifyToken/generate", body, _Generated)
        if reply.result is None or not reply.result.verify_token:
            raise ProviderError("Baidu issued no verify_token")
        return reply.result.verify_token

    def _face_identity(self, verify_token: str) -> tuple[str, str]:
        reply = self._aip(
            "/rpc/2.0/brain/solution/faceprint/result/detail", {"verify_token": verify_token}, _FaceResult
        )
        detail = reply.result
        if detail is None or detail.idcard_confirm is None or detail.verify_result is None:
            raise ProviderError("Baidu has no finished face verification for this login")
        if detail.verify_result.score < self._config.min_face_score:
            raise ProviderError("Baidu's face match score is below the required threshold")
        number = normalize_id_number(detail.idcard_confirm.idcard_number)
        name = detail.idcard_confirm.name.strip()
        if not number or not name:
            raise ProviderError("Baidu's face verification confirmed no ID card")
        return number, name

    def _aip(self, path: str, body: Mapping[str, Any], reply_type: type[_AipResult]) -> _AipResult:
        token = self._ai_access_token()
        try:
            reply = self._send(
                "POST", self._config.aip_base + path, reply_type, params={"access_token": token}, json=body
            )
        except _Refused as refused:
            if refused.code in STALE_TOKEN_ERRORS:
                with self._lock:
                    self._aip_token = None
            raise
        if not reply.success:
            raise ProviderError(f"Baidu refused {path}")
        return reply

    def _ai_access_token(self) -> str:
        now = self._clock()
        with self._lock:
            cached = self._aip_token
        if cached is not None and cached[1] > now:
            return cached[0]
        reply = self._send(
            "POST",
            self._config.aip_base + "/oauth/2.0/token",
            _Token,
            form={
                "grant_type": "client_credentials",
                "client_id": self._config.face_api_key,
                "client_secret": self._config.face_secret_key,
            },
        )
        if not reply.access_token:
            raise ProviderError("Baidu AI issued no access token")
        with self._lock:
            self._aip_token = (reply.access_token, now + timedelta(seconds=reply.expires_in) - TOKEN_MARGIN)
        return reply.access_token

    def _send(
        self,
        method: str,
        url: str,
        reply_type: type[_Reply],
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> _Reply:
        path = httpx.URL(url).path
        try:
            response = self._http.request(
                method,
                url,
                params=params,
                data=form,
                content=None if json is None else msgspec.json.encode(json),
                headers={"Content-Type": "application/json"} if json is not None else None,
            )
        except httpx.HTTPError:
            # `from None`: these requests carry secrets and tokens, and tracebacks end up in logs.
            raise ProviderError(f"Baidu could not be reached for {path}") from None
        return _reply(response, path, reply_type)


def _reply(response: httpx.Response, path: str, reply_type: type[_Reply]) -> _Reply:
    try:
        reply = msgspec.json.decode(response.content, type=reply_type)
    except msgspec.DecodeError:
        raise ProviderError(
            f"Baidu answered {path} with HTTP {response.status_code} and no usable data"
        ) from None
    if reply.error:
        raise _Refused(path, reply.error)
    if reply.error_code:
        raise _Refused(path, str(reply.error_code))
    if response.status_code != 200:
        raise ProviderError(f"Baidu answered {path} with HTTP {response.status_code}")
    return reply
