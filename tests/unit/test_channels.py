"""Each message channel against a local simulator of its provider, including the provider's refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bloodcert.channels.alipay import AlipayChannel, AlipayMessageConfig
from bloodcert.channels.base import ChannelError, OutgoingMessage
from bloodcert.channels.sms import SmsChannel, SmsConfig
from bloodcert.channels.wechat import WeChatChannel, WeChatMessageConfig
from tests.simulators.alipay import AlipayUser
from tests.simulators.alipay_messages import AlipayMessageSimulator
from tests.simulators.aliyun_sms import SmsSimulator
from tests.simulators.wechat import WeChatUser
from tests.simulators.wechat_messages import WeChatMessageSimulator

MINI = "wxmini0000000001"
ALIPAY_APP = "2021004112345678"


def _message(address: str, title: str = "新的献血记录") -> OutgoingMessage:
    return OutgoingMessage(
        address, "record.arrived", title, "杭州市中心血站报告了您的一次献血", "/me", "2026-11-30 10:00"
    )


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


# ---- SMS


@pytest.fixture
def sms_sim() -> SmsSimulator:
    return SmsSimulator("LTAIkey", "secret", sign_name="电子献血证", template_code="SMS_1234", per_number=2)


def _sms(sim: SmsSimulator, secret: str = "secret", template: str = "SMS_1234") -> SmsChannel:
    config = SmsConfig("LTAIkey", secret, "电子献血证", template, site_base="https://bloodcert.example")
    return SmsChannel(config, httpx.Client(transport=sim.transport))


def test_an_sms_is_signed_and_sent_with_the_title_and_a_link(sms_sim: SmsSimulator) -> None:
    ref = _sms(sms_sim).send(_message("13800138000"))
    assert ref and sms_sim.sent[0]["biz"] == ref
    assert sms_sim.sent[0]["params"] == {"title": "新的献血记录", "link": "https://bloodcert.example/me"}


def test_a_wrong_secret_is_a_final_signature_refusal(sms_sim: SmsSimulator) -> None:
    with pytest.raises(ChannelError) as refused:
        _sms(sms_sim, secret="other").send(_message("13800138000"))
    assert (refused.value.code, refused.value.retryable) == ("SignatureDoesNotMatch", False)


def test_an_illegal_number_and_an_unknown_template_are_final(sms_sim: SmsSimulator) -> None:
    for channel, phone, code in (
        (_sms(sms_sim), "12345", "isv.MOBILE_NUMBER_ILLEGAL"),
        (_sms(sms_sim, template="SMS_0"), "13800138000", "isv.SMS_TEMPLATE_ILLEGAL"),
    ):
        with pytest.raises(ChannelError) as refused:
            channel.send(_message(phone))
        assert (refused.value.code, refused.value.retryable) == (code, False)
    assert sms_sim.sent == []


def test_flow_control_a_system_error_and_an_outage_are_retried_later(sms_sim: SmsSimulator) -> None:
    channel = _sms(sms_sim)
    channel.send(_message("13800138000"))
    channel.send(_message("13800138000"))
    sms_sim.failures.extend(["busy", "down"])
    codes = []
    for _ in range(3):
        with pytest.raises(ChannelError) as refused:
            channel.send(_message("13800138000"))
        assert refused.value.retryable
        codes.append(refused.value.code)
    assert codes == ["isp.SYSTEM_ERROR", "http_503", "isv.BUSINESS_LIMIT_CONTROL"]


# ---- WeChat


@pytest.fixture
def wechat_sim() -> WeChatMessageSimulator:
    sim = WeChatMessageSimulator({MINI: "minisecret"}, template_id="TPL-1")
    sim.add_user(WeChatUser("fang"))
    return sim


def _wechat(sim: WeChatMessageSimulator, secret: str = "minisecret") -> WeChatChannel:
    return WeChatChannel(WeChatMessageConfig(MINI, secret, "TPL-1"), httpx.Client(transport=sim.transport))


def test_a_wechat_message_reaches_a_subscribed_user_with_short_fields(
    wechat_sim: WeChatMessageSimulator,
) -> None:
    openid = wechat_sim.openid(MINI, "fang")
    wechat_sim.subscribe(openid)
    ref = _wechat(wechat_sim).send(_message(openid, title="一个很长很长很长很长很长很长很长很长的标题啊"))
    sent = wechat_sim.sent[0]
    assert ref == "1001" and sent["touser"] == openid and sent["page"] == "me"
    assert len(sent["data"]["thing1"]["value"]) == 20


def test_a_user_without_a_subscription_is_refused_for_good(wechat_sim: WeChatMessageSimulator) -> None:
    with pytest.raises(ChannelError) as refused:
        _wechat(wechat_sim).send(_message(wechat_sim.openid(MINI, "fang")))
    assert (refused.value.code, refused.value.retryable) == ("wechat_43101", False)


def test_an_unknown_openid_and_a_wrong_secret_are_final(wechat_sim: WeChatMessageSimulator) -> None:
    with pytest.raises(ChannelError) as refused:
        _wechat(wechat_sim).send(_message("o-nobody"))
    assert (refused.value.code, refused.value.retryable) == ("wechat_40003", False)
    with pytest.raises(ChannelError) as refused:
        _wechat(wechat_sim, secret="wrong").send(_message("o-nobody"))
    assert (refused.value.code, refused.value.retryable) == ("token_40125", False)


def test_a_revoked_token_is_fetched_again_and_the_message_sent_once(
    wechat_sim: WeChatMessageSimulator,
) -> None:
    openid = wechat_sim.openid(MINI, "fang")
    wechat_sim.subscribe(openid, times=2)
    channel = _wechat(wechat_sim)
    channel.send(_message(openid))
    wechat_sim.expire_tokens()
    channel.send(_message(openid))
    assert len(wechat_sim.sent) == 2 and wechat_sim.token_requests == 2


def test_a_busy_wechat_is_retried_later(wechat_sim: WeChatMessageSimulator) -> None:
    wechat_sim.failures.append(-1)
    with pytest.raises(ChannelError) as refused:
        _wechat(wechat_sim).send(_message(wechat_sim.openid(MINI, "fang")))
    assert (refused.value.code, refused.value.retryable) == ("wechat_-1", True)


# ---- Alipay


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def alipay_sim(app_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey) -> AlipayMessageSimulator:
    sim = AlipayMessageSimulator(ALIPAY_APP, app_key.public_key(), platform_key, template_id="ATPL-1")
    sim.add_user(AlipayUser("2088000000000001"))
    return sim


def _alipay(
    sim: AlipayMessageSimulator, key: rsa.RSAPrivateKey, platform_pem: str | None = None
) -> AlipayChannel:
    config = AlipayMessageConfig(ALIPAY_APP, _pem(key), platform_pem or sim.public_key_pem, "ATPL-1")
    clock = lambda: datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # noqa: E731
    return AlipayChannel(config, httpx.Client(transport=sim.transport), clock)


def test_an_alipay_message_is_signed_sent_and_its_answer_verified(
    alipay_sim: AlipayMessageSimulator, app_key: rsa.RSAPrivateKey
) -> None:
    alipay_sim.subscribe("2088000000000001")
    assert _alipay(alipay_sim, app_key).send(_message("2088000000000001")) == "Success"
    assert alipay_sim.sent[0]["user_template_id"] == "ATPL-1"


def test_alipay_refusals_are_final_and_its_outage_is_retried(
    alipay_sim: AlipayMessageSimulator, app_key: rsa.RSAPrivateKey
) -> None:
    channel = _alipay(alipay_sim, app_key)
    for address, code in (
        ("2088000000000001", "alipay_isv.user-not-subscribed"),
        ("2088999999999999", "alipay_isv.invalid-user"),
    ):
        with pytest.raises(ChannelError) as refused:
            channel.send(_message(address))
        assert (refused.value.code, refused.value.retryable) == (code, False)
    alipay_sim.failures.append("busy")
    with pytest.raises(ChannelError) as refused:
        channel.send(_message("2088000000000001"))
    assert (refused.value.code, refused.value.retryable) == ("alipay_isp.unknow-error", True)


def test_a_request_signed_with_another_key_is_refused(
    alipay_sim: AlipayMessageSimulator, platform_key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(ChannelError) as refused:
        _alipay(alipay_sim, platform_key).send(_message("2088000000000001"))
    assert (refused.value.code, refused.value.retryable) == ("alipay_isv.invalid-signature", False)


def test_an_answer_signed_by_someone_else_is_not_believed(
    alipay_sim: AlipayMessageSimulator, app_key: rsa.RSAPrivateKey
) -> None:
    alipay_sim.subscribe("2088000000000001")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = stranger.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ChannelError) as refused:
        _alipay(alipay_sim, app_key, pem.decode("ascii")).send(_message("2088000000000001"))
    assert (refused.value.code, refused.value.retryable) == ("bad_signature", False)


def test_a_mini_program_login_code_gives_the_openid_once(wechat_sim: WeChatMessageSimulator) -> None:
    channel = _wechat(wechat_sim)
    code = wechat_sim.login(MINI, "fang")
    assert channel.openid_of(code) == wechat_sim.openid(MINI, "fang")
    for bad, expected in ((code, "wechat_40163"), ("made-up", "wechat_40029")):
        with pytest.raises(ChannelError) as refused:
            channel.openid_of(bad)
        assert (refused.value.code, refused.value.retryable) == (expected, False)
