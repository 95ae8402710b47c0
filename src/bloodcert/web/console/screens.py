"""The console's read-only screens: home, the audit log and the system status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, get
from litestar.response import Template

from bloodcert.domain.staff import Role
from bloodcert.services import console as svc
from bloodcert.services.audit import AuditEvent
from bloodcert.web.clients import client_of
from bloodcert.web.console.auth import ALL_ROLES, roles
from bloodcert.web.console.render import console_page, staff_of
from bloodcert.web.state import AppState


def _audit_read(request: Request[Any, Any, Any], action: str, obj: str | None) -> None:
    sink = AppState.of(request).audit
    assert sink is not None
    sink.record(AuditEvent(staff_of(request).actor, action, obj, client_of(request)))


@get("/", sync_to_thread=False, opt=roles(*ALL_ROLES), name="console_home")
def home_page(request: Request[Any, Any, Any]) -> Template:
    """Where each role starts: links to what that role may do, and nothing else."""
    return console_page(request, "console/home.html")


@get("/audit", sync_to_thread=True, opt=roles(Role.AUDITOR))
def audit_page(request: Request[Any, Any, Any]) -> Template:
    """The audit log, newest first, 50 entries a page; reading it is itself audited."""
    text = request.query_params.get("page", "1")[:6]
    number = int(text) if text.isdigit() else 1
    with AppState.of(request).db.reading() as uow:
        result = svc.audit_page(uow, staff_of(request), number)
    _audit_read(request, "read:audit_log", f"page {result.page}")
    return console_page(request, "console/audit.html", result=result)


@get("/status", sync_to_thread=True, opt=roles(Role.NATIONAL_ADMIN))
def status_page(request: Request[Any, Any, Any]) -> Template:
    """The database, the certificate signing keys and the status lists."""
    state = AppState.of(request)
    status = svc.system_status(state.db, state.signing, staff_of(request), datetime.now(UTC))
    return console_page(request, "console/status.html", system=status)
