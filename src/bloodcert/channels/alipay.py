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

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from bloodcert.channels.base import ChannelError, OutgoingMessage, clip
from bloodcert.domain.clock import BEIJING
from bloodcert.identity.providers.alipay import (
    DEFAULT_GATEWAY,
    SUCCESS,
    load_rsa_private_key,
    load_rsa_public_key,
    raw_members,
    signing_string,
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
        form = {
            "app_id": self._config.app_id,
            "method": METHOD,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": self._clock().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": biz_content,
        }
        signature = self._private_key.sign(
            signing_string(form).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
        )
        form["sign"] = base64.b64encode(signature).decode("ascii")
        return form

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
        try:
            sign = json.loads(sign_member) if sign_member is not None else None
            if not isinstance(sign, str):
                raise ValueError("no signature")
            self._alipay_key.verify(
                base64.b64decode(sign, validate=True),
                raw.encode("utf-8"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (ValueError, InvalidSignature):
            raise ChannelError("bad_signature", retryable=False) from None
