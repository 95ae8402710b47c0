"""Who may reach a console route: the staff session cookie, the guard, and the audit of every refusal.

Every console route handler declares in its `opt` either `public=True` (the login form) or the `roles`
that may use it; the guard fails closed, so a route that declares neither admits nobody. Object-level
checks (is this station the operator's own?) are made by the services on every id from the client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers import BaseRouteHandler

from bloodcert.domain.staff import Role, StaffPrincipal, require_role
from bloodcert.services import sessions
from bloodcert.web.problems import ANONYMOUS, record_refusal
from bloodcert.web.state import AppState

STAFF_COOKIE = "bloodcert_staff"
COOKIE_PATH = "/console"
ALL_ROLES = tuple(Role)


def roles(*allowed: Role) -> dict[str, Any]:
    """The `opt` of a route that these roles may use."""
    return {"roles": tuple(allowed)}


def station_roles(*, provincial: bool = True) -> dict[str, Any]:
    """The `opt` of a route about one station (its `{code}`): the national administrators, the province's
    administrators (unless `provincial` is False) and that station's operator."""
    allowed: tuple[Role, ...] = (Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR)
    if not provincial:
        allowed = (Role.NATIONAL_ADMIN, Role.STATION_OPERATOR)
    return {"roles": allowed, "station_scoped": True}


PUBLIC: dict[str, Any] = {"public": True}
# A path is the client's text: a run of digits as long as an ID number is masked before it is audited.
_ID_LIKE = re.compile(r"\d{14,}[\dXx]?")


def state_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AppState:
    """The AppState of the app serving this connection."""
    state: AppState = connection.app.state["bloodcert"]
    return state


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Let a request through only with a live staff session whose role the route lists (or a public route)."""
    if handler.opt.get("public"):
        return
    state = state_of(connection)
    token = connection.cookies.get(STAFF_COOKIE)
    now = datetime.now(UTC)

    def work() -> StaffPrincipal:
        with state.db.transaction() as uow:
            return sessions.resolve_staff(uow, token, now)

    principal = await anyio.to_thread.run_sync(work)
    connection.state.staff = principal
    allowed: Iterable[Role] = handler.opt.get("roles") or ()
    require_role(principal, allowed)


def audit_denial(request: Request[Any, Any, Any], status: int) -> int | None:
    """Count and record a refused console request: who (if known), which path, from where, 401 or 403.

    Returns the seconds to wait when the client is over its limit of refusals (nothing is recorded then).
    """
    principal = request.state.get("staff")
    actor = principal.actor if isinstance(principal, StaffPrincipal) else ANONYMOUS
    path = _ID_LIKE.sub(lambda m: m.group()[:3] + "***" + m.group()[-4:], request.url.path)[:128]
    return record_refusal(request, actor, "console.denied", path, str(status))


def session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    """The staff session cookie: HttpOnly, SameSite=Strict, only for /console, Secure outside the demo."""
    return Cookie(
        key=STAFF_COOKIE,
        value=token,
        httponly=True,
        samesite="strict",
        path=COOKIE_PATH,
        secure=not AppState.of(request).settings.demo,
        max_age=max_age,
    )


def cleared_cookie(request: Request[Any, Any, Any]) -> Cookie:
    """A cookie that removes the staff session cookie from the browser."""
    return session_cookie(request, "", 0)
