"""A local WeChat: QR login page, sns/oauth2/access_token, jscode2session, stable_token and checkrealnameinfo.

Answers use WeChat's shapes: HTTP 200 with `{errcode, errmsg}` on failure (40013 invalid appid, 40125
invalid appsecret, 40029 invalid code, 40163 code been used, 40001 invalid credential). The real-name check
answers `verify_openid` V_OP_NA / V_OP_NM_UM / V_OP_NM_MA and, for a name match, `verify_real_name`
V_NM_ID_MA / V_NM_ID_UM. With `require_consent_code` it behaves as WeChat's published endpoint (which needs
the city-service consent code); without, as the operator-side check service the web flow assumes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

API_HOST = "api.weixin.qq.com"
OPEN_HOST = "open.weixin.qq.com"


@dataclass
class WeChatUser:
    """A WeChat account; `real_name` and `cred_id` are set once its WeChat Pay real name is verified."""

    key: str
    real_name: str | None = None
    cred_id: str | None = None
    has_unionid: bool = True


@dataclass
class _Grant:
    app_id: str
    user: str
    purpose: str  # "web", "mini" or "consent"


def _failure(errcode: int, errmsg: str) -> httpx.Response:
    return _json({"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(6)}"})


def _json(body: Mapping[str, Any]) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body, ensure_ascii=False).encode("utf-8"))


class WeChatSimulator:
    """WeChat for a set of apps (website app and mini-program, appid → secret) under one open account."""

    def __init__(self, apps: Mapping[str, str], *, require_consent_code: bool = False) -> None:
        self.apps = dict(apps)
        self.require_consent_code = require_consent_code
        self.users: dict[str, WeChatUser] = {}
        self._grants: dict[str, _Grant] = {}
        self._used: set[str] = set()
        self._tokens: dict[str, str] = {}
        self.token_requests = 0
        self.checks: list[dict[str, Any]] = []
        self.transport = httpx.MockTransport(self.handle)

    def add_user(self, user: WeChatUser) -> WeChatUser:
        """Register an account."""
        self.users[user.key] = user
        return user

    def openid(self, app_id: str, user_key: str) -> str:
        """The user's openid under one app (WeChat gives each app its own)."""
        return "o" + hashlib.sha256(f"{app_id}|{user_key}".encode()).hexdigest()[:27]

    def unionid(self, user_key: str) -> str:
        """The user's unionid across the open account's apps."""
        return "u" + hashlib.sha256(f"union|{user_key}".encode()).hexdigest()[:27]

    def consent(self, qrconnect_url: str, user_key: str) -> str:
        """The user scans and approves: the URL the browser is sent back to, with code and state."""
        url = httpx.URL(qrconnect_url)
        params = url.params
        if url.host != OPEN_HOST or url.path != "/connect/qrconnect" or url.fragment != "wechat_redirect":
            raise ValueError("not WeChat's QR login page")
        if params.get("appid") not in self.apps or params.get("scope") != "snsapi_login":
            raise ValueError("WeChat shows an error page: unknown appid or scope")
        if params.get("response_type") != "code":
            raise ValueError("WeChat shows an error page: response_type must be code")
        code = self._grant(params["appid"], user_key, "web")
        return str(
            httpx.URL(params["redirect_uri"]).copy_merge_params({"code": code, "state": params["state"]})
        )

    def login(self, mini_app_id: str, user_key: str) -> str:
        """wx.login() inside the mini-program: a js_code."""
        return self._grant(mini_app_id, user_key, "mini")

    def realname_consent(self, mini_app_id: str, user_key: str) -> str:
        """The user approves on WeChat's city-service real-name page: the code returned in extraData."""
        return self._grant(mini_app_id, user_key, "consent")

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Serve one API request."""
        if request.url.host != API_HOST:
            return httpx.Response(404)
        route = (request.method, request.url.path)
        if route == ("GET", "/sns/oauth2/access_token"):
            return self._exchange(request.url.params, "code", "web")
        if route == ("GET", "/sns/jscode2session"):
            return self._exchange(request.url.params, "js_code", "mini")
        if route == ("POST", "/cgi-bin/stable_token"):
            return self._stable_token(json.loads(request.content))
        if route == ("POST", "/intp/realname/checkrealnameinfo"):
            return self._check(request.url.params.get("access_token", ""), json.loads(request.content))
        return httpx.Response(404)

    def _grant(self, app_id: str, user_key: str, purpose: str) -> str:
        code = secrets.token_hex(16)
        self._grants[code] = _Grant(app_id, user_key, purpose)
        return code

    def _app_refusal(self, app_id: str, secret: str) -> httpx.Response | None:
        if app_id not in self.apps:
            return _failure(40013, "invalid appid")
        if secret != self.apps[app_id]:
            return _failure(40125, "invalid appsecret")
        return None

    def _exchange(self, params: httpx.QueryParams, code_param: str, purpose: str) -> httpx.Response:
        app_id = params.get("appid", "")
        refusal = self._app_refusal(app_id, params.get("secret", ""))
        if refusal is not None:
            return refusal
        code = params.get(code_param, "")
        if code in self._used:
            return _failure(40163, "code been used")
        grant = self._grants.pop(code, None)
        if grant is None or grant.app_id != app_id or grant.purpose != purpose:
            return _failure(40029, "invalid code")
        self._used.add(code)
        user = self.users[grant.user]
        body: dict[str, Any] = {"openid": self.openid(app_id, user.key)}
        if purpose == "web":
            body.update(access_token=secrets.token_hex(16), expires_in=7200, scope="snsapi_login")
        else:
            body["session_key"] = secrets.token_urlsafe(16)
        if user.has_unionid:
            body["unionid"] = self.unionid(user.key)
        return _json(body)

    def _stable_token(self, body: Mapping[str, str]) -> httpx.Response:
        self.token_requests += 1
        if body.get("grant_type") != "client_credential":
            return _failure(40002, "invalid grant_type")
        refusal = self._app_refusal(body.get("appid", ""), body.get("secret", ""))
        if refusal is not None:
            return refusal
        token = secrets.token_urlsafe(32)
        self._tokens[token] = body["appid"]
        return _json({"access_token": token, "expires_in": 7200})

    def _check(self, access_token: str, body: Mapping[str, str]) -> httpx.Response:
        self.checks.append(dict(body))
        app_id = self._tokens.get(access_token)
        if app_id is None:
            return _failure(40001, "invalid credential, access_token is invalid or not latest")
        user = next(
            (u for u in self.users.values() if self.openid(app_id, u.key) == body.get("openid")), None
        )
        if user is None:
            return _failure(40003, "invalid openid")
        if body.get("cred_type") != "1":
            return _failure(40097, "invalid args")
        if not self._consent_valid(app_id, user, body.get("code")):
            return _failure(40029, "invalid code")
        if user.real_name is None:
            return _json({"errcode": 0, "errmsg": "ok", "verify_openid": "V_OP_NA"})
        if user.real_name != body.get("real_name"):
            return _json({"errcode": 0, "errmsg": "ok", "verify_openid": "V_OP_NM_UM"})
        id_result = "V_NM_ID_MA" if user.cred_id == body.get("cred_id") else "V_NM_ID_UM"
        return _json(
            {"errcode": 0, "errmsg": "ok", "verify_openid": "V_OP_NM_MA", "verify_real_name": id_result}
        )

    def _consent_valid(self, app_id: str, user: WeChatUser, code: str | None) -> bool:
        if code is None:
            return not self.require_consent_code
        grant = self._grants.pop(code, None)
        return (
            grant is not None
            and grant.purpose == "consent"
            and (grant.app_id, grant.user) == (app_id, user.key)
        )
