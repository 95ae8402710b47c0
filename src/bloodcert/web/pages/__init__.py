"""Server-rendered pages (H5, mobile first): login, history, certificate, and the public verifier.

Every page works without JavaScript; the bundles in static/dist only enhance them (region selects, the
camera and photo QR decoding on /verify, full screen in show mode).
"""

from __future__ import annotations

import hmac
from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.static_files import create_static_files_router

from bloodcert.config import Settings
from bloodcert.errors import AppError, NotFound, Unauthorized
from bloodcert.web.pages import (
    certificate,
    claims,
    corrections,
    demo_login,
    entitlements,
    health_checks,
    history,
    honours,
    learn,
    login,
    notifications,
    scorecards,
    sites,
    supply,
    survey,
    verify,
)
from bloodcert.web.pages.render import page, template_config

__all__ = ["csrf_config", "router", "static_files", "template_config"]

CSRF_COOKIE = "bloodcert_csrf"


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors on a page are pages: without a session, the login form itself (401); others a plain message."""
    if isinstance(exc, Unauthorized | NotAuthorizedException):
        return login.login_required_page(request)
    status = exc.status if isinstance(exc, AppError) else getattr(exc, "status_code", 500)
    if isinstance(exc, AppError) and exc.slug == "certificate_pending":
        return page(request, "pending.html", status=int(status), signed_in=True)
    if isinstance(exc, PermissionDeniedException):
        message = "error_csrf"
    elif isinstance(exc, NotFound) or status == 404:
        message = "error_not_found"
    else:
        message = "error_generic"
    return page(request, "error.html", status=int(status), message=message, signed_in=False)


router = Router(
    path="/",
    route_handlers=[
        login.login_page,
        login.login_submit,
        login.logout,
        history.history_page,
        history.regions,
        entitlements.entitlements_page,
        honours.honours_page,
        honours.honour_card_page,
        certificate.certificate_page,
        verify.verify_page,
        verify.verify_submit,
        demo_login.demo_login_page,
        demo_login.demo_login_submit,
        *sites.handlers,
        *health_checks.handlers,
        *claims.handlers,
        *notifications.handlers,
        *supply.handlers,
        *learn.handlers,
        *survey.handlers,
        *scorecards.handlers,
        *corrections.handlers,
    ],
    exception_handlers={AppError: _error_page, HTTPException: _error_page},
    include_in_schema=False,
)


def static_files() -> Router:
    """`/static/…`: the stylesheet, the bundles and images, all from the package (no CDN)."""
    directory = Path(str(files("bloodcert.web").joinpath("static")))
    # Pages link assets with a content hash in the query, so a long cache never serves a stale one.
    return create_static_files_router(
        path="/static",
        directories=[directory],
        cache_control=CacheControlHeader(public=True, max_age=7 * 24 * 3600),
        include_in_schema=False,
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    """CSRF tokens for the cookie-authenticated page forms; /api/ uses Bearer tokens or JSON bodies."""
    # Derived from the index key, so every worker (and every restart) agrees without another secret.
    secret = hmac.new(settings.index_key or b"bloodcert", b"bloodcert csrf", "sha256").hexdigest()
    return CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        cookie_secure=not settings.demo,
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=["^/api/", "^/static/", "^/\\.well-known/", "^/healthz$", "^/readyz$", "^/favicon\\.ico$"],
    )
