"""Alipay's alipay.open.app.mini.templatemessage.send, added to the local Alipay gateway.

Answers signed like every gateway answer; refusals in Alipay's shapes: 40004 `USER_TEMPLATE_ILLEGAL`
(unknown template), 40004 `isv.user-not-subscribed` (no subscription left), 40004 `isv.invalid-user`
and, when told to fail, 20000 `isp.unknow-error` (service unavailable).
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.simulators.alipay import AlipaySimulator, _error

METHOD = "alipay.open.app.mini.templatemessage.send"


class AlipayMessageSimulator(AlipaySimulator):
    """Alipay with subscription messages for one template."""

    def __init__(
        self,
        app_id: str,
        app_public_key: rsa.RSAPublicKey,
        platform_key: rsa.RSAPrivateKey | None = None,
        *,
        template_id: str,
    ) -> None:
        super().__init__(app_id, app_public_key, platform_key)
        self.template_id = template_id
        self.subscriptions: dict[str, int] = {}
        self.sent: list[dict[str, Any]] = []
        self.failures: deque[str] = deque()

    def subscribe(self, user_id: str, times: int = 1) -> None:
        """The user allows `times` messages of the template."""
        self.subscriptions[user_id] = self.subscriptions.get(user_id, 0) + times

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Serve the send method after the gateway's own checks, everything else as before."""
        params = dict(httpx.QueryParams(request.content.decode("utf-8")))
        if params.get("method") != METHOD:
            return super().handle(request)
        node = METHOD.replace(".", "_") + "_response"
        refusal = self._gateway_refusal(params)
        if refusal is not None:
            return self._answer(node, refusal)
        if self.failures:
            self.failures.popleft()
            return self._answer(
                node, _error("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙")
            )
        biz = json.loads(params.get("biz_content", "{}"))
        user = biz.get("to_user_id", "")
        if biz.get("user_template_id") != self.template_id:
            return self._answer(
                node, _error("40004", "Business Failed", "USER_TEMPLATE_ILLEGAL", "模板不存在")
            )
        if user not in self.users:
            return self._answer(node, _error("40004", "Business Failed", "isv.invalid-user", "用户不存在"))
        if self.subscriptions.get(user, 0) <= 0:
            return self._answer(
                node, _error("40004", "Business Failed", "isv.user-not-subscribed", "用户未订阅")
            )
        self.subscriptions[user] -= 1
        self.sent.append(biz)
        return self._answer(node, {"code": "10000", "msg": "Success"})
