"""A local Alibaba Cloud SMS (dysmsapi SendSms): checks the RPC signature and answers in the service's shapes.

Errors as the service gives them: `SignatureDoesNotMatch` (HTTP 400), `InvalidAccessKeyId.NotFound`
(404), `isv.MOBILE_NUMBER_ILLEGAL`, `isv.SMS_TEMPLATE_ILLEGAL`, `isv.BUSINESS_LIMIT_CONTROL` (more than the
allowed messages to one number) and, when told to fail, `isp.SYSTEM_ERROR` or an HTTP 503.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import deque
from typing import Any

import httpx

from bloodcert.channels.sms import rpc_signature

HOST = "dysmsapi.aliyuncs.com"
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _answer(status: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json={"RequestId": secrets.token_hex(8).upper(), **body})


class SmsSimulator:
    """One account (key id → secret) with approved sign names and templates; `sent` holds what went out."""

    def __init__(
        self, key_id: str, secret: str, *, sign_name: str, template_code: str, per_number: int = 10
    ) -> None:
        self.keys = {key_id: secret}
        self.sign_name = sign_name
        self.template_code = template_code
        self.per_number = per_number
        self.sent: list[dict[str, Any]] = []
        self.nonces: set[str] = set()
        self.failures: deque[str] = deque()  # the next answers to fail with: "busy" or "down"
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Serve one SendSms call."""
        if request.url.host != HOST:
            return httpx.Response(404)
        params = dict(request.url.params)
        if self.failures:
            failure = self.failures.popleft()
            if failure == "down":
                return httpx.Response(503, text="Service Unavailable")
            return _answer(200, {"Code": "isp.SYSTEM_ERROR", "Message": "系统错误"})
        refusal = self._refusal(request.method, params)
        if refusal is not None:
            return refusal
        phone = params.get("PhoneNumbers", "")
        if not MOBILE.match(phone):
            return _answer(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
        if params.get("SignName") != self.sign_name:
            return _answer(200, {"Code": "isv.SMS_SIGNATURE_ILLEGAL", "Message": "签名不合法"})
        if params.get("TemplateCode") != self.template_code:
            return _answer(200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "模板不合法"})
        if sum(1 for s in self.sent if s["phone"] == phone) >= self.per_number:
            return _answer(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"})
        biz = f"{secrets.randbelow(10**15):015d}^0"
        self.sent.append(
            {"phone": phone, "params": json.loads(params.get("TemplateParam", "{}")), "biz": biz}
        )
        return _answer(200, {"Code": "OK", "Message": "OK", "BizId": biz})

    def _refusal(self, method: str, params: dict[str, str]) -> httpx.Response | None:
        secret = self.keys.get(params.get("AccessKeyId", ""))
        if secret is None:
            return _answer(
                404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."}
            )
        signature = params.pop("Signature", "")
        if signature != rpc_signature(params, secret, method):
            return _answer(
                400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched."}
            )
        nonce = params.get("SignatureNonce", "")
        if nonce in self.nonces:
            return _answer(
                400, {"Code": "SignatureNonceUsed", "Message": "Specified signature nonce was used already."}
            )
        self.nonces.add(nonce)
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return _answer(400, {"Code": "InvalidAction.NotFound", "Message": "Specified api is not found."})
        return None
