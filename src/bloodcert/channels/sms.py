"""SMS through Alibaba Cloud's SMS service (阿里云短信, dysmsapi `SendSms`, API version 2017-05-25).

Protocol: `GET https://dysmsapi.aliyuncs.com/?<params>` with the RPC common parameters (AccessKeyId, Action,
Format=JSON, RegionId, SignatureMethod=HMAC-SHA1, SignatureNonce, SignatureVersion=1.0, Timestamp in UTC
ISO 8601, Version) plus PhoneNumbers, SignName, TemplateCode and TemplateParam (JSON). The signature is
base64(HMAC-SHA1(secret + "&", "GET&%2F&" + percent-encoded sorted query)), every name and value encoded
as RFC 3986 (space as %20, "~" kept). The answer is `{Code, Message, BizId, RequestId}`; `Code` "OK" is
success.

Assumption: one approved template (`BLOODCERT_SMS_TEMPLATE_CODE`) carries every message, with variables
`title` and `link`, e.g. "您有一条献血服务消息：${title}，详情请登录 ${link}". Operators register it once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from bloodcert.channels.base import ChannelError, OutgoingMessage, clip

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
# Codes that say "not now" rather than "never": flow control, throttling, the provider's own faults.
RETRYABLE = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "Throttling.User",
        "Throttling",
        "isp.SYSTEM_ERROR",
        "isp.RAM_PERMISSION_DENY",
        "ServiceUnavailable",
        "InternalError",
        "isv.AMOUNT_NOT_ENOUGH",
    }
)


@dataclass(frozen=True, slots=True)
class SmsConfig:
    """An Alibaba Cloud account's key, the approved signature (签名) and template."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    sign_name: str
    template_code: str
    endpoint: str = DEFAULT_ENDPOINT
    region: str = "cn-hangzhou"
    site_base: str = "http://127.0.0.1:8000"


def percent(text: str) -> str:
    """RFC 3986 encoding as Alibaba Cloud's RPC signature wants it."""
    return quote(text, safe="-_.~")


def rpc_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """The HMAC-SHA1 signature of Alibaba Cloud's RPC style (SignatureVersion 1.0)."""
    canonical = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{percent('/')}&{percent(canonical)}"
    digest = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SmsChannel:
    """SendSms, one phone number per call."""

    def __init__(
        self, config: SmsConfig, http: httpx.Client, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock

    @property
    def name(self) -> str:
        """The channel's name in preferences and delivery records."""
        return "sms"

    def send(self, message: OutgoingMessage) -> str:
        """Send one SMS; returns the BizId."""
        cfg = self._config
        link = cfg.site_base + (message.link or "/me/inbox")
        params = {
            "AccessKeyId": cfg.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": cfg.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16),
            "SignatureVersion": "1.0",
            "Timestamp": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
            "PhoneNumbers": message.address,
            "SignName": cfg.sign_name,
            "TemplateCode": cfg.template_code,
            "TemplateParam": json.dumps(
                {"title": clip(message.title, 20), "link": link}, ensure_ascii=False, separators=(",", ":")
            ),
        }
        params["Signature"] = rpc_signature(params, cfg.access_key_secret)
        try:
            response = self._http.get(cfg.endpoint, params=params)
        except httpx.HTTPError:
            raise ChannelError("unreachable", retryable=True) from None
        return _biz_id(response)


def _biz_id(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        raise ChannelError(f"http_{response.status_code}", retryable=response.status_code >= 500) from None
    code = str(body.get("Code", "")) if isinstance(body, dict) else ""
    if response.status_code == 200 and code == "OK":
        return str(body.get("BizId", ""))
    if not code:
        raise ChannelError(f"http_{response.status_code}", retryable=response.status_code >= 500)
    raise ChannelError(code, retryable=code in RETRYABLE or response.status_code >= 500)
