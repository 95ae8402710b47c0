"""The channels the settings switch on: each only when all its credentials are given."""

from __future__ import annotations

import httpx

from bloodcert.channels.alipay import AlipayChannel, AlipayMessageConfig
from bloodcert.channels.base import MessageChannel
from bloodcert.channels.sms import DEFAULT_ENDPOINT, SmsChannel, SmsConfig
from bloodcert.channels.wechat import WeChatChannel, WeChatMessageConfig
from bloodcert.config import Settings
from bloodcert.domain.notifications import Channel
from bloodcert.identity.providers.alipay import DEFAULT_GATEWAY


def channels_from_settings(settings: Settings, http: httpx.Client) -> dict[Channel, MessageChannel]:
    """SMS, WeChat and Alipay channels, for those whose settings are complete."""
    n, p = settings.notify, settings.providers
    found: dict[Channel, MessageChannel] = {}
    if n.sms_access_key_id and n.sms_access_key_secret and n.sms_sign_name and n.sms_template_code:
        sms = SmsConfig(
            n.sms_access_key_id,
            n.sms_access_key_secret,
            n.sms_sign_name,
            n.sms_template_code,
            endpoint=n.sms_endpoint or DEFAULT_ENDPOINT,
            site_base=settings.public_base_url,
        )
        found[Channel.SMS] = SmsChannel(sms, http)
    if n.wechat_message_app_id and n.wechat_message_app_secret and n.wechat_template_id:
        wechat = WeChatMessageConfig(
            n.wechat_message_app_id, n.wechat_message_app_secret, n.wechat_template_id
        )
        found[Channel.WECHAT] = WeChatChannel(wechat, http)
    if p.alipay_app_id and p.alipay_private_key and p.alipay_public_key and n.alipay_template_id:
        alipay = AlipayMessageConfig(
            p.alipay_app_id,
            p.alipay_private_key,
            p.alipay_public_key,
            n.alipay_template_id,
            gateway=p.alipay_gateway or DEFAULT_GATEWAY,
        )
        found[Channel.ALIPAY] = AlipayChannel(alipay, http)
    return found
