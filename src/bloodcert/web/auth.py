"""Who is calling: the donor session behind a Bearer token or the session cookie, and the audit of reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request

from bloodcert.identity.login import DonorPrincipal, resolve
from bloodcert.services.audit import AuditEvent
from bloodcert.web.clients import client_of
from bloodcert.web.state import AppState

__all__ = ["SESSION_COOKIE", "audit_read", "bearer_or_cookie", "client_of", "donor"]

SESSION_COOKIE = "bloodcert_session"


def bearer_or_cookie(request: Request[Any, Any, Any]) -> str | None:
    """The session token from `Authorization: Bearer …` or the session cookie."""
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def donor(request: Request[Any, Any, Any]) -> DonorPrincipal:
    """The donor behind this request, or Unauthorized (401)."""
    state = AppState.of(request)
    now = datetime.now(UTC)
    token = bearer_or_cookie(request)
    with state.db.donor_reads() as reads:
        principal, touch = resolve(reads, token, now)
    if touch:
        with state.db.transaction() as uow:
            uow.identity.touch_session(principal.session_id, now.replace(tzinfo=None))
    return principal


def audit_read(request: Request[Any, Any, Any], actor: str, action: str, obj: str | None = None) -> None:
    """Record a read of personal data: who, what, when, and from where."""
    sink = AppState.of(request).audit
    assert sink is not None
    sink.record(AuditEvent(actor, action, obj, client_of(request)))
