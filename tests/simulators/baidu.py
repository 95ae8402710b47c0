"""A local Baidu: account OAuth 2.0 (openapi.baidu.com) and AI H5 face verification (aip.baidubce.com).

Answers use Baidu's shapes: the OAuth token endpoints answer 400/401 `{error, error_description}`
(invalid_client, invalid_grant, redirect_uri_mismatch); the REST and AI APIs answer `{error_code,
error_msg}` (110 for a bad access token); the face-verification solution answers `{success, result,
log_id}`, with `success: false` and an error code for an unknown or unfinished verify_token (the
solution's exact error codes are not published in detail, so those numbers are illustrative).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

OAUTH_HOST = "openapi.baidu.com"
AIP_HOST = "aip.baidubce.com"
FACE_PAGE_HOST = "brain.baidu.com"


@dataclass
class BaiduUser:
    """A Baidu account and the ID card its holder shows to the face-verification page."""

    uname: str
    idcard_number: str
    name: str
    openid: str = field(default_factory=lambda: secrets.token_urlsafe(20))


@dataclass
class _FaceSession:
    success_url: str
    failed_url: str
    outcome: dict[str, Any] | None = None


def _json(body: Mapping[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _log_id() -> int:
    return secrets.randbelow(10**10)


class BaiduSimulator:
    """Baidu for one account app (client_id/secret) and one AI app (api_key/secret_key) with one H5 plan."""

    def __init__(
        self, client_id: str, client_secret: str, api_key: str, secret_key: str, plan_id: str
    ) -> None:
        self.client = (client_id, client_secret)
        self.ai_client = (api_key, secret_key)
        self.plan_id = plan_id
        self.users: dict[str, BaiduUser] = {}
        self._codes: dict[str, tuple[str, str]] = {}  # code → (uname, redirect_uri)
        self._user_tokens: dict[str, str] = {}
        self._ai_tokens: set[str] = set()
        self._faces: dict[str, _FaceSession] = {}
        self.transport = httpx.MockTransport(self.handle)

    def add_user(self, user: BaiduUser) -> BaiduUser:
        """Register an account."""
        self.users[user.uname] = user
        return user

    def verify_face(
        self, face_page_url: str, uname: str, *, score: float = 96.5, finished: bool = True
    ) -> str:
        """The user goes through the H5 face page: the URL it sends the browser to next."""
        url = httpx.URL(face_page_url)
        if url.host != FACE_PAGE_HOST or url.path != "/face/print/":
            raise ValueError("not Baidu's face-verification page")
        session = self._faces[url.params["token"]]
        if not finished:
            return session.failed_url
        user = self.users[uname]
        session.outcome = {
            "idcard_ocr_result": {"name": user.name, "id_card_number": user.idcard_number},
            "idcard_confirm": {"idcard_number": user.idcard_number, "name": user.name},
            "verify_result": {"score": score, "liveness_score": 0.99, "spoofing": 0.0001},
        }
        return session.success_url

    def consent(self, authorize_url: str, uname: str) -> str:
        """The user logs in and approves on Baidu's OAuth page: the callback URL with code and state."""
        url = httpx.URL(authorize_url)
        params = url.params
        if url.host != OAUTH_HOST or url.path != "/oauth/2.0/authorize":
            raise ValueError("not Baidu's authorisation page")
        if params.get("client_id") != self.client[0] or params.get("response_type") != "code":
            raise ValueError("Baidu shows an error page: unknown client_id or response_type")
        code = secrets.token_hex(16)
        self._codes[code] = (uname, params["redirect_uri"])
        return str(
            httpx.URL(params["redirect_uri"]).copy_merge_params({"code": code, "state": params["state"]})
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Serve one API request."""
        host, path = request.url.host, request.url.path
        if (host, path) == (OAUTH_HOST, "/oauth/2.0/token"):
            return self._account_token(dict(parse_qsl(request.content.decode())))
        if (host, path) == (OAUTH_HOST, "/rest/2.0/passport/users/getInfo"):
            return self._user_info(request.url.params.get("access_token", ""))
        if (host, path) == (AIP_HOST, "/oauth/2.0/token"):
            return self._ai_token(dict(parse_qsl(request.content.decode())))
        if host == AIP_HOST and path.startswith("/rpc/2.0/brain/solution/faceprint/"):
            if request.url.params.get("access_token") not in self._ai_tokens:
                return _json({"error_code": 110, "error_msg": "Access token invalid or no longer valid"})
            return self._face_api(path.rsplit("faceprint/", 1)[1], json.loads(request.content))
        return httpx.Response(404)

    def _client_refusal(self, form: Mapping[str, str], client: tuple[str, str]) -> httpx.Response | None:
        if form.get("client_id") != client[0]:
            return _json({"error": "invalid_client", "error_description": "unknown client id"}, 401)
        if form.get("client_secret") != client[1]:
            return _json(
                {"error": "invalid_client", "error_description": "Client authentication failed"}, 401
            )
        return None

    def _account_token(self, form: Mapping[str, str]) -> httpx.Response:
        refusal = self._client_refusal(form, self.client)
        if refusal is not None:
            return refusal
        if form.get("grant_type") != "authorization_code":
            return _json({"error": "unsupported_grant_type", "error_description": "invalid grant type"}, 400)
        code = form.get("code", "")
        grant = self._codes.pop(code, None)  # a code works once
        if grant is None:
            return _json(
                {"error": "invalid_grant", "error_description": f"Invalid authorization code: {code}"}, 400
            )
        if grant[1] != form.get("redirect_uri"):
            return _json({"error": "redirect_uri_mismatch", "error_description": "Invalid redirect uri"}, 400)
        token = "21." + secrets.token_hex(16)
        self._user_tokens[token] = grant[0]
        return _json(
            {
                "access_token": token,
                "expires_in": 2592000,
                "refresh_token": "22." + secrets.token_hex(16),
                "scope": "basic",
            }
        )

    def _user_info(self, access_token: str) -> httpx.Response:
        uname = self._user_tokens.get(access_token)
        if uname is None:
            return _json({"error_code": 110, "error_msg": "Access token invalid or no longer valid"})
        user = self.users[uname]
        return _json({"openid": user.openid, "username": user.uname[:1] + "***", "portrait": "abc123"})

    def _ai_token(self, form: Mapping[str, str]) -> httpx.Response:
        refusal = self._client_refusal(form, self.ai_client)
        if refusal is not None:
            return refusal
        if form.get("grant_type") != "client_credentials":
            return _json({"error": "unsupported_grant_type", "error_description": "invalid grant type"}, 400)
        token = "24." + secrets.token_hex(16) + ".2592000.1.282335-123456"
        self._ai_tokens.add(token)
        return _json({"access_token": token, "expires_in": 2592000, "scope": "brain_all_scope"})

    def _face_api(self, operation: str, body: Mapping[str, Any]) -> httpx.Response:
        if operation == "verifyToken/generate":
            if str(body.get("plan_id")) != self.plan_id:
                return _json(
                    {
                        "success": False,
                        "error_code": 216100,
                        "error_msg": "invalid plan_id",
                        "log_id": _log_id(),
                    }
                )
            token = secrets.token_urlsafe(18)
            redirect = body.get("redirect_config") or {}
            self._faces[token] = _FaceSession(redirect.get("success_url", ""), redirect.get("failed_url", ""))
            return _json({"success": True, "result": {"verify_token": token}, "log_id": _log_id()})
        if operation == "result/detail":
            session = self._faces.get(body.get("verify_token", ""))
            if session is None:
                return _json(
                    {
                        "success": False,
                        "error_code": 216101,
                        "error_msg": "verify_token not exist",
                        "log_id": _log_id(),
                    }
                )
            if session.outcome is None:
                return _json(
                    {
                        "success": False,
                        "error_code": 216102,
                        "error_msg": "verify not finished",
                        "log_id": _log_id(),
                    }
                )
            return _json({"success": True, "result": session.outcome, "log_id": _log_id()})
        return httpx.Response(404)
