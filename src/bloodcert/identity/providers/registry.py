"""Which real-name providers are on, built from Settings.providers; each is on only when fully configured.

Settings (a `*` marks a secret, which may instead be given as NAME_FILE, a path to read it from):

- Alipay: ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY*, ALIPAY_PUBLIC_KEY* (Alipay's key; both PEM or bare base64);
  optional ALIPAY_GATEWAY, ALIPAY_AUTHORIZE_URL.
- WeChat: WECHAT_APP_ID, WECHAT_APP_SECRET*; optional WECHAT_MINI_APP_ID with WECHAT_MINI_APP_SECRET*,
  WECHAT_OPEN_BASE, WECHAT_API_BASE, WECHAT_REALNAME_URL.
- Baidu: BAIDU_CLIENT_ID, BAIDU_CLIENT_SECRET*, BAIDU_FACE_API_KEY, BAIDU_FACE_SECRET_KEY*,
  BAIDU_FACE_PLAN_ID; optional BAIDU_FACE_MIN_SCORE (default 80), BAIDU_OAUTH_BASE, BAIDU_AIP_BASE,
  BAIDU_FACE_PAGE_URL.
- Demo: on with DEMO=1|true|yes; DEMO_LOGIN_KEY* (hex, ≥ 32 bytes) keeps demo codes valid across workers.

A provider with some but not all of its required settings is a ConfigError, so that a typo is not
silently read as "off". The config dataclasses live beside their providers (the providers need them, and
this module imports the providers) and are re-exported here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import httpx

from bloodcert.config import PREFIX, ConfigError, ProviderSettings
from bloodcert.identity.providers.alipay import (
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_GATEWAY,
    AlipayConfig,
    AlipayProvider,
    load_rsa_private_key,
    load_rsa_public_key,
)
from bloodcert.identity.providers.baidu import (
    DEFAULT_AIP_BASE,
    DEFAULT_FACE_PAGE_URL,
    DEFAULT_MIN_FACE_SCORE,
    DEFAULT_OAUTH_BASE,
    BaiduConfig,
    BaiduProvider,
)
from bloodcert.identity.providers.base import IdentityProvider
from bloodcert.identity.providers.demo import MIN_KEY_BYTES, DemoProvider
from bloodcert.identity.providers.wechat import (
    DEFAULT_API_BASE,
    DEFAULT_OPEN_BASE,
    DEFAULT_REALNAME_URL,
    WeChatConfig,
    WeChatProvider,
)

__all__ = [
    "AlipayConfig",
    "BaiduConfig",
    "WeChatConfig",
    "alipay_config",
    "baidu_config",
    "default_http_client",
    "demo_enabled",
    "providers_from_env",
    "providers_from_settings",
    "wechat_config",
]

# Platforms answer in well under a second; a login page must not hang on one that does not.
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def default_http_client() -> httpx.Client:
    """The HTTP client providers share when none is given: TLS-verified, short timeouts, no redirects."""
    return httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)


def providers_from_settings(
    settings: ProviderSettings,
    *,
    demo: bool,
    http: httpx.Client | None = None,
    clock: Callable[[], datetime] | None = None,
    demo_key: bytes | None = None,
) -> dict[str, IdentityProvider]:
    """The enabled providers by name, in button order: alipay, wechat, baidu, then demo in demo mode."""
    now = clock or _utc_now
    alipay, wechat, baidu = alipay_config(settings), wechat_config(settings), baidu_config(settings)
    demo_provider = DemoProvider(demo_key or _demo_key(settings), clock=now) if demo else None
    if http is None and (alipay or wechat or baidu):
        http = default_http_client()  # only now: building one loads the system's CA store
    providers: dict[str, IdentityProvider] = {}
    if http is not None:
        if alipay is not None:
            providers["alipay"] = AlipayProvider(alipay, http, now)
        if wechat is not None:
            providers["wechat"] = WeChatProvider(wechat, http, now)
        if baidu is not None:
            providers["baidu"] = BaiduProvider(baidu, http, now)
    if demo_provider is not None:
        providers["demo"] = demo_provider
    return providers


def providers_from_env(
    env: Mapping[str, str],
    *,
    http: httpx.Client | None = None,
    clock: Callable[[], datetime] | None = None,
    demo_key: bytes | None = None,
) -> dict[str, IdentityProvider]:
    """The providers that BLOODCERT_* variables in `env` configure (what Settings.from_env would read)."""
    settings = ProviderSettings.from_env(env)
    return providers_from_settings(
        settings, demo=demo_enabled(env), http=http, clock=clock, demo_key=demo_key
    )


def alipay_config(env: ProviderSettings) -> AlipayConfig | None:
    """Alipay's settings, or None when none are given; ConfigError when incomplete or a key is unreadable."""
    found = _required(env, "Alipay", "ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY")
    if found is None:
        return None
    app_id, private_key, public_key = found
    _check_key(load_rsa_private_key, private_key, "ALIPAY_PRIVATE_KEY")
    _check_key(load_rsa_public_key, public_key, "ALIPAY_PUBLIC_KEY")
    return AlipayConfig(
        app_id=app_id,
        private_key=private_key,
        alipay_public_key=public_key,
        gateway=_get(env, "ALIPAY_GATEWAY") or DEFAULT_GATEWAY,
        authorize_url=_get(env, "ALIPAY_AUTHORIZE_URL") or DEFAULT_AUTHORIZE_URL,
    )


def wechat_config(env: ProviderSettings) -> WeChatConfig | None:
    """WeChat's settings, or None when none are given; ConfigError when incomplete."""
    found = _required(env, "WeChat", "WECHAT_APP_ID", "WECHAT_APP_SECRET")
    if found is None:
        if _get(env, "WECHAT_MINI_APP_ID"):
            raise ConfigError(f"{PREFIX}WECHAT_MINI_APP_ID needs {PREFIX}WECHAT_APP_ID and _APP_SECRET too")
        return None
    app_id, app_secret = found
    mini = _required(env, "the WeChat mini-program", "WECHAT_MINI_APP_ID", "WECHAT_MINI_APP_SECRET")
    return WeChatConfig(
        app_id=app_id,
        app_secret=app_secret,
        mini_app_id=mini[0] if mini else None,
        mini_app_secret=mini[1] if mini else None,
        open_base=_get(env, "WECHAT_OPEN_BASE") or DEFAULT_OPEN_BASE,
        api_base=_get(env, "WECHAT_API_BASE") or DEFAULT_API_BASE,
        realname_url=_get(env, "WECHAT_REALNAME_URL") or DEFAULT_REALNAME_URL,
    )


def baidu_config(env: ProviderSettings) -> BaiduConfig | None:
    """Baidu's settings (account OAuth and AI face verification), or None when none are given."""
    names = ("BAIDU_CLIENT_ID", "BAIDU_CLIENT_SECRET", "BAIDU_FACE_API_KEY", "BAIDU_FACE_SECRET_KEY")
    found = _required(env, "Baidu", *names, "BAIDU_FACE_PLAN_ID")
    if found is None:
        return None
    client_id, client_secret, api_key, secret_key, plan_id = found
    return BaiduConfig(
        client_id=client_id,
        client_secret=client_secret,
        face_api_key=api_key,
        face_secret_key=secret_key,
        face_plan_id=plan_id,
        min_face_score=_score(env),
        oauth_base=_get(env, "BAIDU_OAUTH_BASE") or DEFAULT_OAUTH_BASE,
        aip_base=_get(env, "BAIDU_AIP_BASE") or DEFAULT_AIP_BASE,
        face_page_url=_get(env, "BAIDU_FACE_PAGE_URL") or DEFAULT_FACE_PAGE_URL,
    )


def demo_enabled(env: Mapping[str, str]) -> bool:
    """True in demo mode (BLOODCERT_DEMO), the only mode in which the demo provider exists."""
    return (env.get(PREFIX + "DEMO") or "").strip().lower() in {"1", "true", "yes"}


def _demo_key(env: ProviderSettings) -> bytes:
    configured = _get(env, "DEMO_LOGIN_KEY")
    if not configured:
        # Fine for the single-process `bloodcert demo`; several workers need the setting to agree.
        return secrets.token_bytes(MIN_KEY_BYTES)
    try:
        key = bytes.fromhex(configured)
    except ValueError:
        raise ConfigError(f"{PREFIX}DEMO_LOGIN_KEY must be hex") from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{PREFIX}DEMO_LOGIN_KEY must hold at least {MIN_KEY_BYTES} bytes")
    return key


def _score(env: ProviderSettings) -> float:
    raw = _get(env, "BAIDU_FACE_MIN_SCORE")
    if raw is None:
        return DEFAULT_MIN_FACE_SCORE
    try:
        score = float(raw)
    except ValueError:
        score = -1.0
    if not 0 <= score <= 100:
        raise ConfigError(f"{PREFIX}BAIDU_FACE_MIN_SCORE must be a number from 0 to 100")
    return score


def _required(env: ProviderSettings, platform: str, *names: str) -> tuple[str, ...] | None:
    values = [_get(env, name) for name in names]
    if all(value is None for value in values):
        return None
    missing = [PREFIX + name for name, value in zip(names, values, strict=True) if value is None]
    if missing:
        raise ConfigError(f"{platform} login is half configured: set {', '.join(missing)} (or their _FILE)")
    return tuple(value for value in values if value is not None)


def _check_key(load: Callable[[str], object], text: str, name: str) -> None:
    try:
        load(text)
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} is not usable: {exc}") from None


def _get(settings: ProviderSettings, name: str) -> str | None:
    value: str | None = getattr(settings, name.lower())
    return value
