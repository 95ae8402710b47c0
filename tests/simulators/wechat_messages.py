"""WeChat's subscribeMessage.send, added to the local WeChat (tokens come from its stable_token).

Errors in WeChat's shapes (HTTP 200 `{errcode, errmsg}`): 40001 invalid credential (a token that was
revoked, see `expire_tokens`), 40003 invalid openid, 40037 invalid template_id, 43101 the user has not
subscribed (each subscription lets one message through), 47003 a `thing` value over 20 characters, and
-1 system busy when told to fail.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import Any

import httpx

from tests.simulators.wechat import WeChatSimulator, _failure, _json


class WeChatMessageSimulator(WeChatSimulator):
    """WeChat with subscription messages for one mini-program template."""

    def __init__(self, apps: Mapping[str, str], *, template_id: str) -> None:
        super().__init__(apps)
        self.template_id = template_id
        self.subscriptions: dict[str, int] = {}  # openid → messages it still accepts
        self.sent: list[dict[str, Any]] = []
        self.failures: deque[int] = deque()
        self._next_msgid = 1000

    def subscribe(self, openid: str, times: int = 1) -> None:
        """The user taps "allow" on the subscription prompt `times` times (one message each)."""
        self.subscriptions[openid] = self.subscriptions.get(openid, 0) + times

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as when another server refreshes it)."""
        self._tokens.clear()

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Serve subscribeMessage.send, and everything else as the WeChat simulator does."""
        if (request.method, request.url.path) != ("POST", "/cgi-bin/message/subscribe/send"):
            return super().handle(request)
        if self.failures:
            return _failure(self.failures.popleft(), "system error")
        if request.url.params.get("access_token", "") not in self._tokens:
            return _failure(40001, "invalid credential, access_token is invalid or not latest")
        body = json.loads(request.content)
        openid = body.get("touser", "")
        if not any(self.openid(app, u) == openid for app in self.apps for u in self.users):
            return _failure(40003, "invalid openid")
        if body.get("template_id") != self.template_id:
            return _failure(40037, "invalid template_id")
        values = [v.get("value", "") for v in body.get("data", {}).values()]
        if any(len(v) > 20 for v in values):
            return _failure(47003, "argument invalid! data.thing1.value is too long")
        if self.subscriptions.get(openid, 0) <= 0:
            return _failure(43101, "user refuse to accept the msg")
        self.subscriptions[openid] -= 1
        self._next_msgid += 1
        self.sent.append(body)
        return _json({"errcode": 0, "errmsg": "ok", "msgid": self._next_msgid})
