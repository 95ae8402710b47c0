"""A local Alipay open platform: the authorisation page and gateway.do, signed RSA2 in both directions.

The gateway verifies each request's RSA2 signature with the app's public key and signs each answer with
its own key over the exact text of the `*_response` member. Like Alipay, it escapes "/" as "\\/" in its JSON,
so a client that re-serialises before verifying fails. Error shapes are Alipay's: gateway refusals inside the
method's `*_response` member (signed), an invalid auth_code in an unsigned `error_response`.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GATEWAY_HOST = "openapi.alipay.com"
AUTHORIZE_HOST = "openauth.alipay.com"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


@dataclass
class AlipayUser:
    """An Alipay account; certified accounts carry the real name and document Alipay verified."""

    user_id: str
    nick_name: str = "支付宝用户"
    is_certified: bool = True
    cert_type: str = "0"
    cert_no: str = ""
    user_name: str = ""


def _error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict[str, str]:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


class AlipaySimulator:
    """Alipay for one app: `consent()` plays the authorisation page, `transport` serves gateway.do."""

    def __init__(
        self, app_id: str, app_public_key: rsa.RSAPublicKey, platform_key: rsa.RSAPrivateKey | None = None
    ) -> None:
        self.app_id = app_id
        self._app_key = app_public_key
        self._key = platform_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.users: dict[str, AlipayUser] = {}
        self._codes: dict[str, str] = {}
        self._tokens: dict[str, str] = {}
        self.received: list[dict[str, str]] = []
        self.transport = httpx.MockTransport(self.handle)

    @property
    def public_key_pem(self) -> str:
        """Alipay's public key (支付宝公钥), as the open-platform console shows it to the app's developer."""
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def add_user(self, user: AlipayUser) -> AlipayUser:
        """Register an account."""
        self.users[user.user_id] = user
        return user

    def consent(self, authorize_url: str, user_id: str) -> str:
        """The user approves on Alipay's page: the URL the browser is sent back to, with auth_code and state."""
        url = httpx.URL(authorize_url)
        params = url.params
        if url.host != AUTHORIZE_HOST or url.path != "/oauth2/publicAppAuthorize.htm":
            raise ValueError("not Alipay's authorisation page")
        if params.get("app_id") != self.app_id or params.get("scope") != "auth_user":
            raise ValueError("Alipay shows an error page: unknown app or scope")
        code = secrets.token_hex(16)
        self._codes[code] = user_id
        back = {
            "app_id": self.app_id,
            "source": "alipay_wallet",
            "scope": "auth_user",
            "auth_code": code,
            "state": params.get("state", ""),
        }
        return str(httpx.URL(params["redirect_uri"]).copy_merge_params(back))

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Serve one gateway.do request."""
        if request.url.host != GATEWAY_HOST or request.url.path != "/gateway.do" or request.method != "POST":
            return httpx.Response(404, text="Not Found")
        params = dict(request.url.params)
        params.update(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
        self.received.append(params)
        method = params.get("method", "")
        node = method.replace(".", "_") + "_response"
        refusal = self._gateway_refusal(params)
        if refusal is not None:
            return self._answer(node, refusal)
        if method == "alipay.system.oauth.token":
            return self._oauth_token(node, params)
        if method == "alipay.user.info.share":
            return self._user_info(node, params)
        return self._answer(
            node, _error("40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名")
        )

    def _gateway_refusal(self, params: dict[str, str]) -> dict[str, str] | None:
        if params.get("app_id") != self.app_id:
            return _error("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
        if params.get("sign_type") != "RSA2":
            return _error("40002", "Invalid Arguments", "isv.invalid-signature-type", "无效的签名类型")
        if not TIMESTAMP.fullmatch(params.get("timestamp", "")):
            return _error("40002", "Invalid Arguments", "isv.invalid-timestamp", "非法的时间戳参数")
        if not self._signature_valid(params):
            return _error("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错")
        return None

    def _signature_valid(self, params: dict[str, str]) -> bool:
        content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v)
        try:
            signature = base64.b64decode(params.get("sign", ""), validate=True)
            self._app_key.verify(signature, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            return False
        return True

    def _oauth_token(self, node: str, params: dict[str, str]) -> httpx.Response:
        if params.get("grant_type") != "authorization_code":
            return self._answer(
                node, _error("40002", "Invalid Arguments", "isv.grant-type-invalid", "grant_type无效")
            )
        user_id = self._codes.pop(params.get("code", ""), None)  # an auth_code works once
        if user_id is None:
            refusal = _error("40002", "Invalid Arguments", "isv.code-invalid", "授权码code无效")
            return self._answer("error_response", refusal, signed=False)
        token = "authusrB" + secrets.token_hex(16)
        self._tokens[token] = user_id
        granted = {
            "access_token": token,
            "alipay_user_id": user_id,
            "auth_start": "2024-05-01 09:30:00",
            "expires_in": 1296000,
            "re_expires_in": 2592000,
            "refresh_token": "authusrB" + secrets.token_hex(16),
            "user_id": user_id,
        }
        return self._answer(node, granted)

    def _user_info(self, node: str, params: dict[str, str]) -> httpx.Response:
        user_id = self._tokens.get(params.get("auth_token", ""))
        if user_id is None:
            refusal = _error(
                "20001", "Insufficient Token Permissions", "aop.invalid-auth-token", "无效的访问令牌"
            )
            return self._answer(node, refusal)
        user = self.users[user_id]
        info: dict[str, Any] = {
            "code": "10000",
            "msg": "Success",
            "user_id": user.user_id,
            "avatar": "https://tfs.alipayobjects.com/images/partner/T1.png",
            "nick_name": user.nick_name,
            "is_certified": "T" if user.is_certified else "F",
        }
        if user.is_certified:
            info.update(cert_type=user.cert_type, cert_no=user.cert_no, user_name=user.user_name)
        return self._answer(node, info)

    def _answer(self, node: str, content: dict[str, Any], *, signed: bool = True) -> httpx.Response:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
        body = f'{{"{node}":{text}'
        if signed:
            signature = self._key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
            body += f',"sign":"{base64.b64encode(signature).decode("ascii")}"'
        return httpx.Response(
            200, content=(body + "}").encode("utf-8"), headers={"Content-Type": "text/html;charset=utf-8"}
        )
