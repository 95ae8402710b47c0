"""Real-name login routes: the platforms on offer, their OAuth start and callback, the mini-program login."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Redirect

from bloodcert.errors import NotFound, Unauthorized
from bloodcert.identity.providers.base import ClaimedIdentity, IdentityProvider
from bloodcert.services import provider_login
from bloodcert.services.provider_login import Callback, ProviderUnavailable
from bloodcert.web.auth import donor_cookie, login_context
from bloodcert.web.security import json_only
from bloodcert.web.state import AppState

PATH = "/api/v1/auth/providers"
# Holds the secret that binds a started platform login to this browser, for the callback only.
BINDING_COOKIE = "bloodcert_oauth"


class ProviderOut(msgspec.Struct):
    name: str
    label: str
    start_url: str


class ProvidersOut(msgspec.Struct):
    providers: list[ProviderOut]


class MiniProgramIn(msgspec.Struct):
    js_code: Annotated[str, msgspec.Meta(max_length=128)]
    id_type: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    id_number: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    consent_code: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class TokenOut(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def _provider(request: Request[Any, Any, Any], name: str) -> IdentityProvider:
    provider = AppState.of(request).providers.get(name)
    if provider is None:
        raise NotFound("no such login provider")
    return provider


def _callback_url(request: Request[Any, Any, Any], name: str) -> str:
    return f"{AppState.of(request).settings.public_base_url}/api/v1/auth/providers/{name}/callback"


def _binding_cookie(request: Request[Any, Any, Any], secret: str, max_age: int) -> Cookie:
    # SameSite=Lax: the platform sends the browser back with a top-level GET, which carries Lax cookies.
    return Cookie(
        key=BINDING_COOKIE,
        value=secret,
        httponly=True,
        samesite="lax",
        path=PATH,
        secure=not AppState.of(request).settings.demo,
        max_age=max_age,
    )


@get("", sync_to_thread=False)
def list_providers(request: Request[Any, Any, Any]) -> ProvidersOut:
    """The real-name platforms this deployment offers (and the demo provider in demo mode)."""
    providers = AppState.of(request).providers
    return ProvidersOut(
        [ProviderOut(n, p.label, f"/api/v1/auth/providers/{n}/start") for n, p in providers.items()]
    )


@get("/{name:str}/start", sync_to_thread=True, status_code=302)
def start(request: Request[Any, Any, Any], name: FromPath[str]) -> Redirect:
    """Send the browser to the platform's authorisation page, with `state` (and PKCE where allowed)."""
    provider = _provider(request, name)
    try:
        started = provider_login.start(
            AppState.of(request).db,
            provider,
            callback_url=_callback_url(request, name),
            now=datetime.now(UTC),
        )
    except ProviderUnavailable as exc:
        raise Unauthorized("the login platform is not available now", slug="provider_error") from exc
    cookie = _binding_cookie(request, started.browser_secret, started.max_age)
    return Redirect(started.url, status_code=302, cookies=[cookie])


@get("/{name:str}/callback", sync_to_thread=True, status_code=303)
def callback(
    request: Request[Any, Any, Any],
    *,
    name: FromPath[str],
    code: Annotated[str | None, QueryParameter(max_length=2048)] = None,
    auth_code: Annotated[str | None, QueryParameter(max_length=2048)] = None,
    state_: Annotated[str | None, QueryParameter(name="state", max_length=200)] = None,
    error: Annotated[str | None, QueryParameter(max_length=100)] = None,
) -> Redirect:
    """Finish the platform login in this browser: state, code exchange and session, in one service call."""
    provider = _provider(request, name)
    back = Callback(
        code or auth_code, state_, error, request.cookies.get(BINDING_COOKIE)
    )  # Alipay: auth_code
    finished = provider_login.finish(
        AppState.of(request).db,
        provider,
        login_context(request),
        back,
        callback_url=_callback_url(request, name),
    )
    cookies = [_binding_cookie(request, "", 0)]
    if finished.outcome.grant is None:
        problem = "no_record" if finished.outcome.reason == "no_record" else "provider"
        return Redirect(f"/?login_error={problem}", status_code=303, cookies=cookies)
    cookies.append(donor_cookie(request, finished.outcome.grant))
    return Redirect(finished.redirect_to, status_code=303, cookies=cookies)


@post("/wechat/miniprogram", status_code=200, guards=[json_only])
async def wechat_mini_program(
    request: Request[Any, Any, Any], data: JSONBody[MiniProgramIn]
) -> Response[TokenOut]:
    """WeChat mini-program login: wx.login's code, checked against the claimed ID + name."""
    provider = _provider(request, "wechat")
    claimed = None
    if data.id_type and data.id_number and data.name:
        claimed = ClaimedIdentity(data.id_type, data.id_number, data.name)
    outcome = await anyio.to_thread.run_sync(
        lambda: provider_login.mini_program(
            AppState.of(request).db,
            provider,
            login_context(request),
            js_code=data.js_code,
            claimed=claimed,
            consent_code=data.consent_code,
        )
    )
    if outcome.grant is None:
        if outcome.reason == "provider_error":
            raise Unauthorized("the WeChat login could not be verified", slug="login_failed")
        raise Unauthorized("the details do not match a donation record", slug="login_failed")
    grant = outcome.grant
    return Response(TokenOut(grant.token, grant.expires_in), cookies=[donor_cookie(request, grant)])


providers_router = Router(
    path=PATH,
    route_handlers=[list_providers, start, callback, wechat_mini_program],
    cache_control=CacheControlHeader(no_store=True),
    tags=["donor"],
)
