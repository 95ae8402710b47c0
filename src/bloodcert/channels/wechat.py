"""WeChat subscription messages (订阅消息) from the mini-program: `subscribeMessage.send`.

Protocol: `POST https://api.weixin.qq.com/cgi-bin/message/subscribe/send?access_token=…` with JSON
`{touser, template_id, page, data: {thing1: {value}, time2: {value}, thing3: {value}}, miniprogram_state,
lang}`, answered `{errcode, errmsg, msgid}`. The access token is the mini-program's own, from `POST
/cgi-bin/stable_token`. A `thing` value holds at most 20 characters.

Errors: 40001 / 42001 (token invalid or expired: the token is fetched again and the message resent once),
-1 (system busy) and 45009 (frequency limit) are retried later; 40003 (invalid openid), 43101 (the user
has not subscribed, or used up the subscription), 40037 (template), 47003 (arguments) and 41030 (page)
are final.

Assumption: one template (`BLOODCERT_WECHAT_TEMPLATE_ID`) with fields thing1 (title), time2 (when) and
thing3 (summary) carries every message; the donor subscribes to it in the mini-program.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bloodcert.channels.base import ChannelError, OutgoingMessage, clip

DEFAULT_API_BASE = "https://api.weixin.qq.com"
STALE_TOKEN = frozenset({40001, 42001, 40014})
RETRYABLE = frozenset({-1, 45009, 45011})
TOKEN_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class WeChatMessageConfig:
    """The mini-program that sends, and its subscription template."""

    app_id: str
    app_secret: str = field(repr=False)
    template_id: str
    api_base: str = DEFAULT_API_BASE
    state: str = "formal"  # formal | trial | developer


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WeChatChannel:
    """subscribeMessage.send with a cached stable access token."""

    def __init__(
        self, config: WeChatMessageConfig, http: httpx.Client, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The channel's name in preferences and delivery records."""
        return "wechat"

    def send(self, message: OutgoingMessage) -> str:
        """Send one subscription message; returns WeChat's msgid."""
        body = {
            "touser": message.address,
            "template_id": self._config.template_id,
            "page": (message.link or "/me/inbox").lstrip("/"),
            "data": {
                "thing1": {"value": clip(message.title, 20)},
                "time2": {"value": message.at},
                "thing3": {"value": clip(message.body, 20)},
            },
            "miniprogram_state": self._config.state,
            "lang": "zh_CN",
        }
        answer = self._post(body, fresh=False)
        if int(answer.get("errcode", 0)) in STALE_TOKEN:
            answer = self._post(body, fresh=True)
        return _msgid(answer)

    def openid_of(self, js_code: str) -> str:
        """The donor's openid under this mini-program, from a fresh `wx.login()` code (jscode2session).

        Subscription messages go to this openid; a login's linked account may be a unionid, which WeChat
        does not accept as `touser`, and an openid the client merely claimed could be someone else's.
        """
        params = {
            "appid": self._config.app_id,
            "secret": self._config.app_secret,
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        url = self._config.api_base + "/sns/jscode2session"
        answer = _json(self._call(lambda: self._http.get(url, params=params)))
        openid = answer.get("openid")
        if not isinstance(openid, str) or not openid:
            code = int(answer.get("errcode", 0) or 0)
            raise ChannelError(f"wechat_{code}", retryable=code in RETRYABLE)
        return openid

    def _post(self, body: dict[str, Any], *, fresh: bool) -> dict[str, Any]:
        token = self._access_token(fresh=fresh)
        url = self._config.api_base + "/cgi-bin/message/subscribe/send"
        return _json(self._call(lambda: self._http.post(url, params={"access_token": token}, json=body)))

    def _access_token(self, *, fresh: bool) -> str:
        now = self._clock()
        with self._lock:
            if self._token is not None and self._token[1] > now and not fresh:
                return self._token[0]
        url = self._config.api_base + "/cgi-bin/stable_token"
        payload = {
            "grant_type": "client_credential",
            "appid": self._config.app_id,
            "secret": self._config.app_secret,
        }
        if fresh:
            payload["force_refresh"] = "true"
        answer = _json(self._call(lambda: self._http.post(url, json=payload)))
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            code = int(answer.get("errcode", 0) or 0)
            raise ChannelError(f"token_{code}", retryable=code in RETRYABLE)
        with self._lock:
            self._token = (token, now + timedelta(seconds=int(answer.get("expires_in", 7200))) - TOKEN_MARGIN)
        return token

    @staticmethod
    def _call(request: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            return request()
        except httpx.HTTPError:
            # `from None`: the URL carries the access token, and tracebacks end up in logs.
            raise ChannelError("unreachable", retryable=True) from None


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise ChannelError(f"http_{response.status_code}", retryable=response.status_code >= 500)
    try:
        body = response.json()
    except ValueError:
        raise ChannelError("malformed", retryable=True) from None
    if not isinstance(body, dict):
        raise ChannelError("malformed", retryable=True)
    return body


def _msgid(answer: dict[str, Any]) -> str:
    code = int(answer.get("errcode", 0) or 0)
    if code == 0:
        return str(answer.get("msgid", ""))
    raise ChannelError(f"wechat_{code}", retryable=code in RETRYABLE)
