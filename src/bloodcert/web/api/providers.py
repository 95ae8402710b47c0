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
from bloodcert.identity.federated import remember_start, sign_in, take_pending
from bloodcert.identity.login import Grant
from bloodcert.identity.providers.base import ClaimedIdentity, IdentityProvider, ProviderError
from bloodcert.services import audit
from bloodcert.services.audit import AuditEvent
from bloodcert.web.auth import SESSION_COOKIE, client_of
from bloodcert.web.state import AppState


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


def _session_cookie(request: Request[Any, Any, Any], grant: Grant) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=grant.token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=not AppState.of(request).settings.demo,
        max_age=12 * 3600,
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
        auth = provider.authorization(_callback_url(request, name))
    except ProviderError as exc:
        raise Unauthorized("the login platform is not available now", slug="provider_error") from exc
    state = AppState.of(request)
    with state.db.transaction() as uow:
        remember_start(
            uow,
            provider=name,
            state=auth.state,
            code_verifier=auth.code_verifier,
            redirect_to="/me",
            now=datetime.now(UTC),
        )
    return Redirect(auth.url, status_code=302)


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
    """Finish the platform login: check the state, fetch the verified identity, open a session."""
    provider = _provider(request, name)
    state = AppState.of(request)
    now = datetime.now(UTC)
    with state.db.transaction() as uow:
        pending = take_pending(uow, name, state_ or "", now)
    given = code or auth_code  # Alipay names it auth_code
    if pending is None or error or not given:
        return Redirect("/?login_error=provider", status_code=303)
    try:
        identity = provider.identity(
            given, redirect_uri=_callback_url(request, name), code_verifier=pending.code_verifier
        )
    except ProviderError:
        return Redirect("/?login_error=provider", status_code=303)
    with state.db.transaction() as uow:
        grant = sign_in(uow, identity, index_key=state.settings.index_key, now=now)
        audit.append(
            uow,
            state.settings.audit_key,
            AuditEvent(f"donor:{name}", "login", None, client_of(request), "ok" if grant else "no_record"),
        )
    if grant is None:
        return Redirect("/?login_error=no_record", status_code=303)
    return Redirect(pending.redirect_to, status_code=303, cookies=[_session_cookie(request, grant)])


@post("/wechat/miniprogram", status_code=200)
async def wechat_mini_program(
    request: Request[Any, Any, Any], data: JSONBody[MiniProgramIn]
) -> Response[TokenOut]:
    """WeChat mini-program login: wx.login's code, checked against the claimed ID + name."""
    provider: Any = _provider(request, "wechat")
    if not getattr(provider, "has_mini_program", False):
        raise NotFound("no WeChat mini-program is configured")
    claimed = None
    if data.id_type and data.id_number and data.name:
        claimed = ClaimedIdentity(data.id_type, data.id_number, data.name)
    try:
        identity = await anyio.to_thread.run_sync(
            lambda: provider.mini_program_identity(
                data.js_code, claimed=claimed, consent_code=data.consent_code
            )
        )
    except ProviderError as exc:
        raise Unauthorized("the WeChat login could not be verified", slug="login_failed") from exc
    state = AppState.of(request)
    with state.db.transaction() as uow:
        grant = sign_in(uow, identity, index_key=state.settings.index_key, now=datetime.now(UTC))
    if grant is None:
        raise Unauthorized("the details do not match a donation record", slug="login_failed")
    return Response(TokenOut(grant.token, grant.expires_in), cookies=[_session_cookie(request, grant)])


providers_router = Router(
    path="/api/v1/auth/providers",
    route_handlers=[list_providers, start, callback, wechat_mini_program],
    cache_control=CacheControlHeader(no_store=True),
    tags=["donor"],
)
