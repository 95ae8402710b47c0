"""Alipay subscription messages (订阅消息) from the mini-program: `alipay.open.app.mini.templatemessage.send`.

The call goes through the open-platform gateway exactly as the login does (identity/providers/alipay.py:
RSA2 request signature, the reply verified over the raw text of its `*_response` member), with
`biz_content` `{to_user_id, user_template_id, page, data}`, `data` being a JSON text of
`{keyword1: {value}, …}`. Success is code "10000".

Errors: code 20000 (service unavailable) and sub codes of throttling are retried later; 40004 with a
sub code such as `USER_TEMPLATE_ILLEGAL`, `isv.user-not-subscribed` or an unknown user, and 40002
(arguments, signature) are final. A reply whose signature does not verify is final too: a message that
may not have been taken is never resent on a forged answer's word.

Assumption: one template (`BLOODCERT_ALIPAY_TEMPLATE_ID`) with keyword1 (title), keyword2 (when) and
keyword3 (summary) carries every message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import msgspec

from bloodcert.channels.base import ChannelError, OutgoingMessage, clip
from bloodcert.identity.providers.alipay import (
    DEFAULT_GATEWAY,
    SUCCESS,
    load_rsa_private_key,
    load_rsa_public_key,
    raw_members,
    signature_holds,
    signed_form,
)
from bloodcert.identity.providers.base import ProviderError

METHOD = "alipay.open.app.mini.templatemessage.send"
RETRYABLE_CODES = frozenset({"20000"})
RETRYABLE_SUB_CODES = frozenset({"isp.unknow-error", "aop.ACQ.SYSTEM_ERROR", "isv.app-call-limited"})


@dataclass(frozen=True, slots=True)
class AlipayMessageConfig:
    """The mini-program (app id and keys, as for the login) and its subscription template."""

    app_id: str
    private_key: str = field(repr=False)
    alipay_public_key: str = field(repr=False)
    template_id: str
    gateway: str = DEFAULT_GATEWAY


class _Reply(msgspec.Struct):
    code: str = ""
    msg: str = ""
    sub_code: str = ""
    sub_msg: str = ""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlipayChannel:
    """templatemessage.send through the signed gateway."""

    def __init__(
        self, config: AlipayMessageConfig, http: httpx.Client, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._private_key = load_rsa_private_key(config.private_key)
        self._alipay_key = load_rsa_public_key(config.alipay_public_key)

    @property
    def name(self) -> str:
        """The channel's name in preferences and delivery records."""
        return "alipay"

    def send(self, message: OutgoingMessage) -> str:
        """Send one subscription message; Alipay gives no message id, so the reference is its `msg`."""
        data = {
            "keyword1": {"value": clip(message.title, 20)},
            "keyword2": {"value": message.at},
            "keyword3": {"value": clip(message.body, 20)},
        }
        biz = {
            "to_user_id": message.address,
            "user_template_id": self._config.template_id,
            "page": (message.link or "/me/inbox").lstrip("/"),
            "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        }
        form = self._signed(json.dumps(biz, ensure_ascii=False, separators=(",", ":")))
        try:
            response = self._http.post(
                self._config.gateway, data=form, headers={"Accept": "application/json"}
            )
            body = response.content.decode("utf-8")
        except (httpx.HTTPError, UnicodeDecodeError):
            raise ChannelError("unreachable", retryable=True) from None
        if response.status_code != 200:
            raise ChannelError(f"http_{response.status_code}", retryable=response.status_code >= 500)
        return self._verified(body)

    def _signed(self, biz_content: str) -> dict[str, str]:
        return signed_form(
            self._private_key, self._config.app_id, METHOD, self._clock(), {"biz_content": biz_content}
        )

    def _verified(self, body: str) -> str:
        try:
            members = raw_members(body)
        except ProviderError:
            raise ChannelError("malformed", retryable=True) from None
        raw = members.get(METHOD.replace(".", "_") + "_response") or members.get("error_response")
        if raw is None:
            raise ChannelError("malformed", retryable=True)
        try:
            reply = msgspec.json.decode(raw, type=_Reply)
        except msgspec.DecodeError:
            raise ChannelError("malformed", retryable=True) from None
        if reply.code != SUCCESS or reply.sub_code:
            retry = reply.code in RETRYABLE_CODES or reply.sub_code in RETRYABLE_SUB_CODES
            raise ChannelError(f"alipay_{reply.sub_code or reply.code}", retryable=retry)
        self._verify(raw, members.get("sign"))
        return reply.msg or "Success"

    def _verify(self, raw: str, sign_member: str | None) -> None:
        if not signature_holds(self._alipay_key, raw, sign_member):
            raise ChannelError("bad_signature", retryable=False)
