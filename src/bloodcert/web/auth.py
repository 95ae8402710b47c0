"""Who is calling: the donor session behind a Bearer token or the session cookie, its cookie, the logout
that the API and the pages share, and the audit of reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler

from bloodcert.services import replica_reads, sessions
from bloodcert.services.audit import AuditEvent
from bloodcert.services.sessions import DONOR, DonorPrincipal, Grant, LoginContext
from bloodcert.storage.uow import DonorReads
from bloodcert.web.clients import client_of
from bloodcert.web.state import AppState

SESSION_COOKIE = "bloodcert_session"
T = TypeVar("T")
# A read with the donor's session token at a time: the donor, whether to move the session's idle deadline,
# and what was read (services.history.my_history, for one).
DonorRead = Callable[[DonorReads, str | None, datetime], tuple[DonorPrincipal, bool, T]]


def login_context(request: Request[Any, Any, Any]) -> LoginContext:
    """What every login, logout and captcha needs: the client, the keys and the time."""
    settings = AppState.of(request).settings
    return LoginContext(client_of(request), settings.index_key, settings.audit_key, datetime.now(UTC))


def bearer_or_cookie(request: Request[Any, Any, Any]) -> str | None:
    """The session token from `Authorization: Bearer …` or the session cookie."""
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def donor_cookie(request: Request[Any, Any, Any], grant: Grant | None) -> Cookie:
    """The donor session cookie for a grant (HttpOnly, SameSite=Lax, Secure outside the demo), or the
    cookie that clears it when `grant` is None."""
    return Cookie(
        key=SESSION_COOKIE,
        value=grant.token if grant else "",
        httponly=True,
        samesite="lax",
        path="/",
        secure=not AppState.of(request).settings.demo,
        max_age=grant.max_age if grant else 0,
    )


def donor_log_out(request: Request[Any, Any, Any]) -> Cookie:
    """End the donor's session on the server (audited) and return the cookie that clears it."""
    state = AppState.of(request)
    with state.db.transaction() as uow:
        sessions.log_out(uow, login_context(request), DONOR, bearer_or_cookie(request))
    return donor_cookie(request, None)


def donor(request: Request[Any, Any, Any]) -> DonorPrincipal:
    """The donor behind this request, or Unauthorized (401)."""
    principal, _ = donor_and(request, sessions.donor_session)
    return principal


def donor_and(request: Request[Any, Any, Any], read: DonorRead[T]) -> tuple[DonorPrincipal, T]:
    """The donor behind this request and what `read` read with their session (one query, when it can), or
    Unauthorized (401). The reads go to the read replica when it has what the donor must see."""
    state = AppState.of(request)
    now = datetime.now(UTC)
    token = bearer_or_cookie(request)
    principal, touch, value = replica_reads.session_read(
        state.db, token, lambda reads: read(reads, token, now)
    )
    if touch:
        assert state.touches is not None
        state.touches.touch(principal.session_id, now)
    return principal, value


def donor_guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """A route guard for donors' APIs: an anonymous caller gets 401 before the body is even read, and the
    donor found is kept for the handler (`guarded_donor`)."""
    connection.state.donor = donor(cast(Request[Any, Any, Any], connection))


def guarded_donor(request: Request[Any, Any, Any]) -> DonorPrincipal:
    """The donor that `donor_guard` found for this request."""
    return cast(DonorPrincipal, request.state.donor)


def audit_read(request: Request[Any, Any, Any], actor: str, action: str, obj: str | None = None) -> None:
    """Record a read of personal data: who, what, when, and from where."""
    sink = AppState.of(request).audit
    assert sink is not None
    sink.record(AuditEvent(actor, action, obj, client_of(request)))
