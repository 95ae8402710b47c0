"""The staff console (/console, 管理控制台): server-rendered pages for administrators, operators and auditors.

Every route passes the staff guard (web/console/auth.py); refusals are pages with 401 or 403, and each is
recorded in the audit log (one entry per client and window, web/problems.py record_refusal).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException

from bloodcert.errors import AppError, Forbidden, NotFound, Unauthorized
from bloodcert.web.console import (
    claims,
    conflicts,
    corrections,
    honours,
    login,
    quality,
    scorecards,
    screens,
    sites,
    stations,
    statistics,
    supply,
    waivers,
)
from bloodcert.web.console.auth import STAFF_COOKIE, audit_denial, cleared_cookie, staff_guard
from bloodcert.web.console.render import console_page
from bloodcert.web.problems import too_many

__all__ = ["router"]


def _message(exc: Exception, status: int) -> str:
    if isinstance(exc, Unauthorized | NotAuthorizedException):
        return "console_401"
    if isinstance(exc, Forbidden):
        return "console_403"
    if isinstance(exc, PermissionDeniedException):
        return "error_csrf"  # the CSRF middleware's refusal
    if isinstance(exc, NotFound) or status == 404:
        return "error_not_found"
    return "error_generic"


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Refusals and errors on a console page are pages; every 401 and 403 is counted and audited."""
    status = int(exc.status if isinstance(exc, AppError) else getattr(exc, "status_code", 500))
    if status in (401, 403) and (wait := audit_denial(request, status)) is not None:
        return too_many(wait)
    # A stale cookie is dropped, so that the browser stops sending it.
    stale = status == 401 and bool(request.cookies.get(STAFF_COOKIE))
    return console_page(
        request,
        "console/error.html",
        status=status,
        cookies=[cleared_cookie(request)] if stale else [],
        message=_message(exc, status),
        login_next=request.url.path if request.method == "GET" else "/console",
    )


router = Router(
    path="/console",
    route_handlers=[
        login.login_page,
        login.login_submit,
        login.logout,
        screens.home_page,
        stations.stations_page,
        stations.add_station,
        stations.station_page,
        stations.add_key,
        stations.revoke_key,
        *quality.routes,
        *corrections.routes,
        *conflicts.routes,
        *scorecards.routes,
        *statistics.routes,
        screens.audit_page,
        screens.status_page,
        *waivers.routes,
        *sites.routes,
        *honours.routes,
        *claims.routes,
        *supply.routes,
    ],
    guards=[staff_guard],
    exception_handlers={AppError: _error_page, HTTPException: _error_page},
    include_in_schema=False,
)
