"""Real-name login adapters against local simulators of Alipay, WeChat and Baidu, plus the demo provider."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bloodcert.config import ConfigError
from bloodcert.identity.providers.alipay import AlipayConfig, AlipayProvider, raw_members
from bloodcert.identity.providers.baidu import BaiduConfig, BaiduProvider
from bloodcert.identity.providers.base import AuthorizationRequest, ClaimedIdentity, ProviderError
from bloodcert.identity.providers.demo import DemoProvider, pkce_challenge
from bloodcert.identity.providers.registry import providers_from_env
from bloodcert.identity.providers.wechat import WeChatConfig, WeChatProvider
from tests.simulators import query_of
from tests.simulators.alipay import AlipaySimulator, AlipayUser
from tests.simulators.baidu import BaiduSimulator, BaiduUser
from tests.simulators.wechat import WeChatSimulator, WeChatUser

CALLBACK = "https://bloodcert.example.cn/api/v1/auth/providers/{}/callback"
WANG_FANG = ("330106199001011221", "王芳")
LI_LEI = ("110105198503150043", "李雷")
_UNREACHABLE = httpx.MockTransport(lambda _: httpx.Response(500))


class Clock:
    """A clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 1, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _callback(url: str) -> tuple[str, str]:
    params = query_of(url)
    return params.get("code") or params["auth_code"], params["state"]


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- Alipay ---------------------------------------------------------------------------------------


@pytest.fixture
def alipay(app_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey) -> AlipaySimulator:
    sim = AlipaySimulator("2021004112345678", app_key.public_key(), platform_key)
    sim.add_user(AlipayUser("2088102104794936", cert_no=WANG_FANG[0], user_name=WANG_FANG[1]))
    sim.add_user(AlipayUser("2088000000000002", is_certified=False))
    return sim


@pytest.fixture
def alipay_config(app_key: rsa.RSAPrivateKey, alipay: AlipaySimulator) -> AlipayConfig:
    return AlipayConfig("2021004112345678", _pem(app_key), alipay.public_key_pem)


def _alipay_provider(config: AlipayConfig, transport: httpx.BaseTransport) -> AlipayProvider:
    return AlipayProvider(config, httpx.Client(transport=transport), Clock())


def _alipay_login(
    provider: AlipayProvider, sim: AlipaySimulator, user_id: str
) -> tuple[str, AuthorizationRequest]:
    auth = provider.authorization(CALLBACK.format("alipay"))
    code, state = _callback(sim.consent(auth.url, user_id))
    assert state == auth.state
    return code, auth


def test_alipay_login_gives_the_certified_holder(
    alipay: AlipaySimulator, alipay_config: AlipayConfig
) -> None:
    provider = _alipay_provider(alipay_config, alipay.transport)
    code, auth = _alipay_login(provider, alipay, "2088102104794936")
    who = provider.identity(code, redirect_uri=CALLBACK.format("alipay"), code_verifier=auth.code_verifier)
    assert (who.provider, who.subject) == ("alipay", "2088102104794936")
    assert (who.id_type, who.id_number, who.name) == ("resident_id", *WANG_FANG)


def test_alipay_authorization_url_asks_for_auth_user_with_a_fresh_state(alipay_config: AlipayConfig) -> None:
    provider = _alipay_provider(alipay_config, _UNREACHABLE)
    first, second = (provider.authorization(CALLBACK.format("alipay")) for _ in range(2))
    params = query_of(first.url)
    assert first.url.startswith("https://openauth.alipay.com/oauth2/publicAppAuthorize.htm?")
    assert params["scope"] == "auth_user" and params["app_id"] == "2021004112345678"
    assert params["state"] == first.state and len(first.state) >= 32 and first.state != second.state
    assert first.code_verifier is None and "code_challenge" not in params  # Alipay has no PKCE


def test_alipay_requests_carry_a_valid_rsa2_signature(
    alipay: AlipaySimulator, alipay_config: AlipayConfig, app_key: rsa.RSAPrivateKey
) -> None:
    provider = _alipay_provider(alipay_config, alipay.transport)
    code, _ = _alipay_login(provider, alipay, "2088102104794936")
    provider.identity(code, redirect_uri=CALLBACK.format("alipay"), code_verifier=None)
    assert [r["method"] for r in alipay.received] == ["alipay.system.oauth.token", "alipay.user.info.share"]
    for received in alipay.received:
        assert received["sign_type"] == "RSA2" and received["charset"] == "utf-8"
        signed = "&".join(f"{k}={received[k]}" for k in sorted(received) if k != "sign" and received[k])
        app_key.public_key().verify(
            base64.b64decode(received["sign"]), signed.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    assert alipay.received[0]["timestamp"] == "2024-05-01 09:30:00"  # Beijing time


def test_alipay_answer_with_tampered_content_is_rejected(
    alipay: AlipaySimulator, alipay_config: AlipayConfig
) -> None:
    def tampering(request: httpx.Request) -> httpx.Response:
        response = alipay.handle(request)
        return httpx.Response(
            200, content=response.content.replace(WANG_FANG[0].encode(), LI_LEI[0].encode())
        )

    provider = _alipay_provider(alipay_config, httpx.MockTransport(tampering))
    code, _ = _alipay_login(provider, alipay, "2088102104794936")
    with pytest.raises(ProviderError, match="signature"):
        provider.identity(code, redirect_uri=CALLBACK.format("alipay"), code_verifier=None)


def test_alipay_answer_signed_by_another_key_is_rejected(
    alipay: AlipaySimulator, alipay_config: AlipayConfig, app_key: rsa.RSAPrivateKey
) -> None:
    impostor = AlipaySimulator("2021004112345678", app_key.public_key())
    impostor.add_user(AlipayUser("2088102104794936", cert_no=LI_LEI[0], user_name=LI_LEI[1]))
    provider = _alipay_provider(alipay_config, impostor.transport)
    code, _ = _alipay_login(provider, impostor, "2088102104794936")
    with pytest.raises(ProviderError, match="signature"):
        provider.identity(code, redirect_uri=CALLBACK.format("alipay"), code_verifier=None)


def test_alipay_refuses_a_request_signed_with_another_app_key(
    alipay: AlipaySimulator, alipay_config: AlipayConfig, platform_key: rsa.RSAPrivateKey
) -> None:
    provider = _alipay_provider(replace(alipay_config, private_key=_pem(platform_key)), alipay.transport)
    code, _ = _alipay_login(provider, alipay, "2088102104794936")
    with pytest.raises(ProviderError, match=r"isv\.invalid-signature"):
        provider.identity(code, redirect_uri=CALLBACK.format("alipay"), code_verifier=None)


def test_alipay_auth_code_works_only_once(alipay: AlipaySimulator, alipay_config: AlipayConfig) -> None:
    provider = _alipay_provider(alipay_config, alipay.transport)
    code, _ = _alipay_login(provider, alipay, "2088102104794936")
    provider.identity(code, redirect_uri=CALLBACK.format("alipay"), code_verifier=None)
    with pytest.raises(ProviderError, match=r"isv\.code-invalid"):
        provider.identity(code, redirect_uri=CALLBACK.format("alipay"), code_verifier=None)


def test_alipay_unknown_code_is_refused(alipay: AlipaySimulator, alipay_config: AlipayConfig) -> None:
    provider = _alipay_provider(alipay_config, alipay.transport)
    with pytest.raises(ProviderError, match=r"isv\.code-invalid"):
        provider.identity("made-up", redirect_uri=CALLBACK.format("alipay"), code_verifier=None)


def test_alipay_account_without_real_name_cannot_log_in(
    alipay: AlipaySimulator, alipay_config: AlipayConfig
) -> None:
    provider = _alipay_provider(alipay_config, alipay.transport)
    code, _ = _alipay_login(provider, alipay, "2088000000000002")
    with pytest.raises(ProviderError, match="not real-name certified"):
        provider.identity(code, redirect_uri=CALLBACK.format("alipay"), code_verifier=None)


def test_alipay_wrong_app_id_is_refused(alipay: AlipaySimulator, alipay_config: AlipayConfig) -> None:
    provider = _alipay_provider(replace(alipay_config, app_id="2021000000000000"), alipay.transport)
    with pytest.raises(ProviderError, match=r"isv\.invalid-app-id"):
        provider.identity("any", redirect_uri=CALLBACK.format("alipay"), code_verifier=None)


def test_raw_members_keeps_the_exact_text_and_rejects_repeated_names() -> None:
    body = '{"a_response" : {"url":"https:\\/\\/x","n":1.50} ,"sign":"c2ln"}'
    assert raw_members(body) == {"a_response": '{"url":"https:\\/\\/x","n":1.50}', "sign": '"c2ln"'}
    for bad in ('{"a":1,"a":2}', '{"a":1} x', "[1]", '{"a":1'):
        with pytest.raises(ProviderError):
            raw_members(bad)


# --- WeChat ---------------------------------------------------------------------------------------

WEB_APP, WEB_SECRET = "wx0123456789abcdef", "web-secret-0123456789abcdef012345"
MINI_APP, MINI_SECRET = "wxfedcba9876543210", "mini-secret-0123456789abcdef01234"


@pytest.fixture
def wechat() -> WeChatSimulator:
    sim = WeChatSimulator({WEB_APP: WEB_SECRET, MINI_APP: MINI_SECRET})
    sim.add_user(WeChatUser("wang", real_name=WANG_FANG[1], cred_id=WANG_FANG[0]))
    sim.add_user(WeChatUser("anon", has_unionid=False))
    return sim


@pytest.fixture
def wechat_config() -> WeChatConfig:
    return WeChatConfig(WEB_APP, WEB_SECRET, MINI_APP, MINI_SECRET)


def _wechat_provider(config: WeChatConfig, sim: WeChatSimulator) -> WeChatProvider:
    return WeChatProvider(config, httpx.Client(transport=sim.transport), Clock())


def _wechat_code(provider: WeChatProvider, sim: WeChatSimulator, user: str) -> str:
    auth = provider.authorization(CALLBACK.format("wechat"))
    code, state = _callback(sim.consent(auth.url, user))
    assert state == auth.state
    return code


def _claim(identity: tuple[str, str], id_type: str = "resident_id") -> ClaimedIdentity:
    return ClaimedIdentity(id_type, identity[0], identity[1])


def test_wechat_web_login_with_a_matching_claim_gives_the_checked_identity(
    wechat: WeChatSimulator, wechat_config: WeChatConfig
) -> None:
    provider = _wechat_provider(wechat_config, wechat)
    code = _wechat_code(provider, wechat, "wang")
    who = provider.identity(
        code, redirect_uri=CALLBACK.format("wechat"), code_verifier=None, claimed=_claim(WANG_FANG)
    )
    assert (who.provider, who.subject) == ("wechat", wechat.unionid("wang"))
    assert (who.id_type, who.id_number, who.name) == ("resident_id", *WANG_FANG)
    assert wechat.checks[0]["openid"] == wechat.openid(WEB_APP, "wang")


def test_wechat_web_login_without_a_claim_gives_only_the_subject(
    wechat: WeChatSimulator, wechat_config: WeChatConfig
) -> None:
    provider = _wechat_provider(wechat_config, wechat)
    who = provider.identity(_wechat_code(provider, wechat, "anon"), redirect_uri="x", code_verifier=None)
    assert who.subject == wechat.openid(WEB_APP, "anon")  # no unionid: the openid stands in
    assert (who.id_type, who.id_number, who.name) == (None, None, None)
    assert wechat.checks == []


def test_wechat_mini_program_login_checks_the_claim_with_the_consent_code(
    wechat: WeChatSimulator, wechat_config: WeChatConfig
) -> None:
    wechat.require_consent_code = True  # as WeChat's published checkrealnameinfo
    provider = _wechat_provider(wechat_config, wechat)
    who = provider.mini_program_identity(
        wechat.login(MINI_APP, "wang"),
        claimed=_claim(WANG_FANG),
        consent_code=wechat.realname_consent(MINI_APP, "wang"),
    )
    assert (who.subject, who.id_number, who.name) == (wechat.unionid("wang"), *WANG_FANG)


def test_wechat_web_check_fails_closed_where_a_consent_code_is_required(
    wechat: WeChatSimulator, wechat_config: WeChatConfig
) -> None:
    wechat.require_consent_code = True
    provider = _wechat_provider(wechat_config, wechat)
    code = _wechat_code(provider, wechat, "wang")
    with pytest.raises(ProviderError, match="40029"):
        provider.identity(code, redirect_uri="x", code_verifier=None, claimed=_claim(WANG_FANG))


def test_wechat_authorization_url_is_the_qr_login_with_state(wechat_config: WeChatConfig) -> None:
    provider = WeChatProvider(wechat_config, httpx.Client(transport=_UNREACHABLE))
    auth = provider.authorization(CALLBACK.format("wechat"))
    url = httpx.URL(auth.url)
    assert (url.host, url.path, url.fragment) == (
        "open.weixin.qq.com",
        "/connect/qrconnect",
        "wechat_redirect",
    )
    assert url.params["scope"] == "snsapi_login" and url.params["response_type"] == "code"
    assert url.params["state"] == auth.state and len(auth.state) >= 32
    assert auth.code_verifier is None  # WeChat has no PKCE


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        (_claim((WANG_FANG[0], "王方")), "does not match"),
        (_claim(LI_LEI[:1] + WANG_FANG[1:]), "does not match"),
        (_claim(WANG_FANG, "passport"), "only a resident ID"),
    ],
    ids=["other-name", "other-number", "not-a-resident-id"],
)
def test_wechat_claim_that_does_not_match_is_refused(
    wechat: WeChatSimulator, wechat_config: WeChatConfig, claim: ClaimedIdentity, message: str
) -> None:
    provider = _wechat_provider(wechat_config, wechat)
    code = _wechat_code(provider, wechat, "wang")
    with pytest.raises(ProviderError, match=message):
        provider.identity(code, redirect_uri="x", code_verifier=None, claimed=claim)


def test_wechat_user_without_real_name_is_refused(
    wechat: WeChatSimulator, wechat_config: WeChatConfig
) -> None:
    provider = _wechat_provider(wechat_config, wechat)
    code = _wechat_code(provider, wechat, "anon")
    with pytest.raises(ProviderError, match="does not match"):
        provider.identity(code, redirect_uri="x", code_verifier=None, claimed=_claim(WANG_FANG))


def test_wechat_wrong_secret_is_refused(wechat: WeChatSimulator, wechat_config: WeChatConfig) -> None:
    provider = _wechat_provider(replace(wechat_config, app_secret="wrong"), wechat)
    with pytest.raises(ProviderError, match="40125"):
        provider.identity(_wechat_code(provider, wechat, "wang"), redirect_uri="x", code_verifier=None)


def test_wechat_code_works_only_once(wechat: WeChatSimulator, wechat_config: WeChatConfig) -> None:
    provider = _wechat_provider(wechat_config, wechat)
    code = _wechat_code(provider, wechat, "wang")
    provider.identity(code, redirect_uri="x", code_verifier=None)
    with pytest.raises(ProviderError, match="40163"):
        provider.identity(code, redirect_uri="x", code_verifier=None)
    with pytest.raises(ProviderError, match="40029"):
        provider.identity("made-up", redirect_uri="x", code_verifier=None)


def test_wechat_mini_program_code_is_not_a_web_code(
    wechat: WeChatSimulator, wechat_config: WeChatConfig
) -> None:
    provider = _wechat_provider(wechat_config, wechat)
    with pytest.raises(ProviderError, match="40029"):
        provider.identity(wechat.login(MINI_APP, "wang"), redirect_uri="x", code_verifier=None)


def test_wechat_access_token_is_reused_until_it_expires(
    wechat: WeChatSimulator, wechat_config: WeChatConfig
) -> None:
    clock = Clock()
    provider = WeChatProvider(wechat_config, httpx.Client(transport=wechat.transport), clock)
    for _ in range(2):
        provider.identity(
            _wechat_code(provider, wechat, "wang"),
            redirect_uri="x",
            code_verifier=None,
            claimed=_claim(WANG_FANG),
        )
    assert wechat.token_requests == 1
    clock.now += timedelta(hours=2)
    provider.identity(
        _wechat_code(provider, wechat, "wang"),
        redirect_uri="x",
        code_verifier=None,
        claimed=_claim(WANG_FANG),
    )
    assert wechat.token_requests == 2


def test_wechat_mini_program_needs_its_own_app(wechat: WeChatSimulator, wechat_config: WeChatConfig) -> None:
    provider = _wechat_provider(replace(wechat_config, mini_app_id=None, mini_app_secret=None), wechat)
    assert not provider.has_mini_program
    with pytest.raises(ProviderError, match="mini-program"):
        provider.mini_program_identity(wechat.login(MINI_APP, "wang"))


# --- Baidu ----------------------------------------------------------------------------------------


@pytest.fixture
def baidu() -> BaiduSimulator:
    sim = BaiduSimulator("baidu-client", "baidu-secret", "ai-key", "ai-secret", "9876")
    sim.add_user(BaiduUser("wangfang", *WANG_FANG))
    return sim


@pytest.fixture
def baidu_config() -> BaiduConfig:
    return BaiduConfig("baidu-client", "baidu-secret", "ai-key", "ai-secret", "9876")


def _baidu_provider(config: BaiduConfig, sim: BaiduSimulator) -> BaiduProvider:
    return BaiduProvider(config, httpx.Client(transport=sim.transport), Clock())


def _baidu_login(
    provider: BaiduProvider, sim: BaiduSimulator, score: float = 96.5
) -> tuple[str, AuthorizationRequest]:
    auth = provider.authorization(CALLBACK.format("baidu"))
    oauth_page = sim.verify_face(auth.url, "wangfang", score=score)
    code, state = _callback(sim.consent(oauth_page, "wangfang"))
    assert state == auth.state
    return code, auth


def test_baidu_login_gives_the_face_verified_identity(
    baidu: BaiduSimulator, baidu_config: BaiduConfig
) -> None:
    provider = _baidu_provider(baidu_config, baidu)
    code, auth = _baidu_login(provider, baidu)
    who = provider.identity(code, redirect_uri=CALLBACK.format("baidu"), code_verifier=auth.code_verifier)
    assert (who.provider, who.subject) == ("baidu", baidu.users["wangfang"].openid)
    assert (who.id_type, who.id_number, who.name) == ("resident_id", *WANG_FANG)


def test_baidu_authorization_goes_through_the_face_page_to_oauth_with_state(
    baidu: BaiduSimulator, baidu_config: BaiduConfig
) -> None:
    auth = _baidu_provider(baidu_config, baidu).authorization(CALLBACK.format("baidu"))
    face = query_of(auth.url)
    assert auth.url.startswith("https://brain.baidu.com/face/print/?") and face["token"] == auth.code_verifier
    oauth = httpx.URL(face["successUrl"])
    assert (oauth.host, oauth.path) == ("openapi.baidu.com", "/oauth/2.0/authorize")
    assert oauth.params["state"] == auth.state and oauth.params["scope"] == "basic"
    assert "code_challenge" not in oauth.params  # Baidu's OAuth has no PKCE
    assert query_of(face["failedUrl"]) == {"error": "access_denied", "state": auth.state}


@pytest.mark.parametrize(("score", "minimum"), [(79.9, 80.0), (85.0, 90.0)])
def test_baidu_face_score_below_the_threshold_is_refused(
    baidu: BaiduSimulator, baidu_config: BaiduConfig, score: float, minimum: float
) -> None:
    provider = _baidu_provider(replace(baidu_config, min_face_score=minimum), baidu)
    code, auth = _baidu_login(provider, baidu, score=score)
    with pytest.raises(ProviderError, match="score"):
        provider.identity(code, redirect_uri=CALLBACK.format("baidu"), code_verifier=auth.code_verifier)


def test_baidu_unfinished_face_verification_is_refused(
    baidu: BaiduSimulator, baidu_config: BaiduConfig
) -> None:
    provider = _baidu_provider(baidu_config, baidu)
    auth = provider.authorization(CALLBACK.format("baidu"))
    assert query_of(baidu.verify_face(auth.url, "wangfang", finished=False))["error"] == "access_denied"
    oauth_page = query_of(auth.url)["successUrl"]
    code, _ = _callback(baidu.consent(oauth_page, "wangfang"))
    with pytest.raises(ProviderError, match="216102"):
        provider.identity(code, redirect_uri=CALLBACK.format("baidu"), code_verifier=auth.code_verifier)


def test_baidu_login_without_its_face_token_is_refused(
    baidu: BaiduSimulator, baidu_config: BaiduConfig
) -> None:
    provider = _baidu_provider(baidu_config, baidu)
    code, _ = _baidu_login(provider, baidu)
    with pytest.raises(ProviderError, match="no face verification"):
        provider.identity(code, redirect_uri=CALLBACK.format("baidu"), code_verifier=None)


def test_baidu_wrong_secrets_are_refused(baidu: BaiduSimulator, baidu_config: BaiduConfig) -> None:
    with pytest.raises(ProviderError, match="invalid_client"):
        _baidu_provider(replace(baidu_config, face_secret_key="wrong"), baidu).authorization("x")
    provider = _baidu_provider(replace(baidu_config, client_secret="wrong"), baidu)
    code, auth = _baidu_login(provider, baidu)
    with pytest.raises(ProviderError, match="invalid_client"):
        provider.identity(code, redirect_uri=CALLBACK.format("baidu"), code_verifier=auth.code_verifier)


def test_baidu_code_works_only_once_and_only_with_its_redirect_uri(
    baidu: BaiduSimulator, baidu_config: BaiduConfig
) -> None:
    provider = _baidu_provider(baidu_config, baidu)
    code, auth = _baidu_login(provider, baidu)
    provider.identity(code, redirect_uri=CALLBACK.format("baidu"), code_verifier=auth.code_verifier)
    with pytest.raises(ProviderError, match="invalid_grant"):
        provider.identity(code, redirect_uri=CALLBACK.format("baidu"), code_verifier=auth.code_verifier)
    code, auth = _baidu_login(provider, baidu)
    with pytest.raises(ProviderError, match="redirect_uri_mismatch"):
        provider.identity(code, redirect_uri="https://evil.example/cb", code_verifier=auth.code_verifier)


# --- Demo -----------------------------------------------------------------------------------------

DEMO_KEY = bytes(range(32))


def _demo_code(
    provider: DemoProvider, auth: AuthorizationRequest, identity: tuple[str, str] = WANG_FANG
) -> str:
    page = query_of(auth.url)
    return provider.issue_code(
        "resident_id", *identity, redirect_uri=page["redirect_uri"], code_challenge=page["code_challenge"]
    )


def test_demo_login_gives_the_chosen_identity() -> None:
    provider = DemoProvider(DEMO_KEY, clock=Clock())
    auth = provider.authorization(CALLBACK.format("demo"))
    who = provider.identity(
        _demo_code(provider, auth), redirect_uri=CALLBACK.format("demo"), code_verifier=auth.code_verifier
    )
    assert (who.provider, who.id_type, who.id_number, who.name) == ("demo", "resident_id", *WANG_FANG)
    assert WANG_FANG[0] not in who.subject
    assert provider.label == "演示登录 (demo)"


def test_demo_authorization_is_the_local_page_with_state_and_pkce() -> None:
    auth = DemoProvider(DEMO_KEY).authorization(CALLBACK.format("demo"))
    page = query_of(auth.url)
    assert auth.url.startswith("/auth/demo?") and page["state"] == auth.state
    assert auth.code_verifier is not None and page["code_challenge_method"] == "S256"
    expected = base64.urlsafe_b64encode(hashlib.sha256(auth.code_verifier.encode()).digest()).rstrip(b"=")
    assert page["code_challenge"] == expected.decode() == pkce_challenge(auth.code_verifier)


def _forgeries(provider: DemoProvider, auth: AuthorizationRequest) -> Iterator[str]:
    genuine = _demo_code(provider, auth)
    payload, mac = genuine.split(".")
    other = _demo_code(provider, auth, LI_LEI).split(".")[0]
    yield f"{other}.{mac}"  # another identity under this code's MAC
    yield _demo_code(DemoProvider(bytes(32)), auth)  # signed with another key
    yield payload  # no MAC at all
    yield f"{payload}.{mac[:-2]}AA"


def test_demo_provider_refuses_forged_codes() -> None:
    provider = DemoProvider(DEMO_KEY)
    auth = provider.authorization(CALLBACK.format("demo"))
    for forged in _forgeries(provider, auth):
        with pytest.raises(ProviderError, match="not genuine"):
            provider.identity(forged, redirect_uri=CALLBACK.format("demo"), code_verifier=auth.code_verifier)


def test_demo_code_needs_its_verifier_its_redirect_uri_and_its_lifetime() -> None:
    clock = Clock()
    provider = DemoProvider(DEMO_KEY, clock=clock)
    auth = provider.authorization(CALLBACK.format("demo"))
    code = _demo_code(provider, auth)
    with pytest.raises(ProviderError, match="PKCE"):
        provider.identity(code, redirect_uri=CALLBACK.format("demo"), code_verifier="another-verifier")
    with pytest.raises(ProviderError, match="redirect_uri"):
        provider.identity(code, redirect_uri="https://evil.example/cb", code_verifier=auth.code_verifier)
    clock.now += timedelta(minutes=6)
    with pytest.raises(ProviderError, match="expired"):
        provider.identity(code, redirect_uri=CALLBACK.format("demo"), code_verifier=auth.code_verifier)


def test_demo_code_is_issued_only_for_a_known_id_type() -> None:
    provider = DemoProvider(DEMO_KEY)
    with pytest.raises(ValueError, match="driving_licence"):
        provider.issue_code("driving_licence", "X1", "王芳", redirect_uri="x", code_challenge="A" * 43)


# --- Registry -------------------------------------------------------------------------------------


@pytest.fixture
def full_env(app_key: rsa.RSAPrivateKey, platform_key: rsa.RSAPrivateKey, tmp_path: Path) -> dict[str, str]:
    secret_file = tmp_path / "wechat.secret"
    secret_file.write_text(WEB_SECRET + "\n", encoding="utf-8")
    bare_public_key = platform_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "BLOODCERT_ALIPAY_APP_ID": "2021004112345678",
        "BLOODCERT_ALIPAY_PRIVATE_KEY": _pem(app_key),
        "BLOODCERT_ALIPAY_PUBLIC_KEY": base64.b64encode(
            bare_public_key
        ).decode(),  # as Alipay's console shows
        "BLOODCERT_WECHAT_APP_ID": WEB_APP,
        "BLOODCERT_WECHAT_APP_SECRET_FILE": str(secret_file),
        "BLOODCERT_BAIDU_CLIENT_ID": "baidu-client",
        "BLOODCERT_BAIDU_CLIENT_SECRET": "baidu-secret",
        "BLOODCERT_BAIDU_FACE_API_KEY": "ai-key",
        "BLOODCERT_BAIDU_FACE_SECRET_KEY": "ai-secret",
        "BLOODCERT_BAIDU_FACE_PLAN_ID": "9876",
        "BLOODCERT_DEMO": "1",
    }


def _unreachable() -> httpx.Client:
    return httpx.Client(transport=_UNREACHABLE)


def _names(env: dict[str, str]) -> list[str]:
    return list(providers_from_env(env, http=_unreachable()))


def test_registry_enables_every_configured_provider_in_button_order(full_env: dict[str, str]) -> None:
    assert _names(full_env) == ["alipay", "wechat", "baidu", "demo"]


def test_registry_enables_nothing_without_settings() -> None:
    assert _names({}) == []
    assert _names({"BLOODCERT_DEMO": "0"}) == []


def test_registry_enables_only_the_configured_providers(full_env: dict[str, str]) -> None:
    only_wechat = {k: v for k, v in full_env.items() if k.startswith("BLOODCERT_WECHAT")}
    assert _names(only_wechat) == ["wechat"]
    assert _names({**only_wechat, "BLOODCERT_DEMO": "true"}) == ["wechat", "demo"]


def test_registry_reads_secrets_from_files_and_settings_from_env(full_env: dict[str, str]) -> None:
    providers = providers_from_env(
        {**full_env, "BLOODCERT_WECHAT_OPEN_BASE": "https://wx.example"}, http=_unreachable()
    )
    auth = providers["wechat"].authorization("https://cb")
    assert auth.url.startswith("https://wx.example/connect/qrconnect?")


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"BLOODCERT_ALIPAY_PUBLIC_KEY": ""}, "ALIPAY_PUBLIC_KEY"),
        ({"BLOODCERT_ALIPAY_PRIVATE_KEY": "not a key"}, "ALIPAY_PRIVATE_KEY is not usable"),
        ({"BLOODCERT_BAIDU_FACE_PLAN_ID": ""}, "BAIDU_FACE_PLAN_ID"),
        ({"BLOODCERT_BAIDU_FACE_MIN_SCORE": "120"}, "BAIDU_FACE_MIN_SCORE"),
        ({"BLOODCERT_WECHAT_MINI_APP_ID": MINI_APP}, "WECHAT_MINI_APP_SECRET"),
        ({"BLOODCERT_WECHAT_APP_SECRET_FILE": "/nonexistent/secret"}, "cannot be read"),
        ({"BLOODCERT_DEMO_LOGIN_KEY": "abcd"}, "DEMO_LOGIN_KEY"),
    ],
    ids=[
        "half-alipay",
        "bad-key",
        "half-baidu",
        "bad-score",
        "half-mini-program",
        "missing-file",
        "short-demo-key",
    ],
)
def test_registry_refuses_a_half_or_badly_configured_provider(
    full_env: dict[str, str], broken: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        providers_from_env({**full_env, **broken}, http=_unreachable())


def test_provider_errors_never_carry_codes_tokens_or_id_numbers(
    alipay: AlipaySimulator, alipay_config: AlipayConfig, wechat: WeChatSimulator, wechat_config: WeChatConfig
) -> None:
    wrong_key = replace(
        alipay_config, private_key=_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    )
    provider = _alipay_provider(wrong_key, alipay.transport)
    code, _ = _alipay_login(provider, alipay, "2088102104794936")
    with pytest.raises(ProviderError) as refused:
        provider.identity(code, redirect_uri="x", code_verifier=None)
    assert code not in str(refused.value) and "验签" not in str(refused.value)
    web = _wechat_provider(replace(wechat_config, app_secret="wrong"), wechat)
    with pytest.raises(ProviderError) as refused:
        web.identity("the-code", redirect_uri="x", code_verifier=None, claimed=_claim(WANG_FANG))
    assert not any(secret in str(refused.value) for secret in ("the-code", "wrong", WANG_FANG[0], WEB_SECRET))


def test_settings_read_the_platforms_once_and_the_registry_builds_from_them(
    full_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bloodcert.config import Settings
    from bloodcert.identity.providers.registry import providers_from_settings

    settings = Settings.from_env(
        {
            **full_env,
            "BLOODCERT_DATA_DIR": "/nonexistent",
            "BLOODCERT_INDEX_KEY": "00" * 32,
            "BLOODCERT_AUDIT_KEY": "00" * 32,
            "BLOODCERT_DATA_KEY": "00" * 32,
        }
    )
    assert settings.providers.wechat_app_id == full_env["BLOODCERT_WECHAT_APP_ID"]
    for name in full_env:
        monkeypatch.delenv(name, raising=False)  # nothing is read from the process environment any more
    providers = providers_from_settings(settings.providers, demo=False, http=_unreachable())
    assert list(providers) == ["alipay", "wechat", "baidu"]
