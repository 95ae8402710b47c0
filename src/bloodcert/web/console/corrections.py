"""Donors' correction and back-fill requests in the console: the list the caller reaches (their station's,
their province's, or all), each with the donor (ID number masked), the conversation and the answer form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.staff import Role
from bloodcert.services import corrections as svc
from bloodcert.services.audit import AuditEvent
from bloodcert.web.clients import client_of
from bloodcert.web.console.auth import roles
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.console.stations import FORM_ERRORS
from bloodcert.web.state import AppState

ROLES = roles(Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR)
STATUSES = ("open", "need_info", "escalated", "resolved", "rejected")


def _page(request: Request[Any, Any, Any], *, error: str | None = None) -> Template:
    state = AppState.of(request)
    wanted = request.query_params.get("status", "")[:12]
    status = wanted if wanted in STATUSES else None
    principal = staff_of(request)
    with state.db.transaction() as uow:
        svc.escalate_overdue(uow, datetime.now(UTC), state.settings.audit_key)
        found = svc.console_requests(uow, principal, status)
    assert state.audit is not None
    state.audit.record(AuditEvent(principal.actor, "read:corrections", status or "all", client_of(request)))
    return console_page(
        request,
        "console/corrections.html",
        status=400 if error else 200,
        requests=found,
        statuses=STATUSES,
        current=status,
        error=error,
        done=request.query_params.get("done", "")[:20],
        now=datetime.now(UTC).replace(tzinfo=None),
    )


@get("/corrections", sync_to_thread=True, opt=ROLES)
def corrections_page(request: Request[Any, Any, Any]) -> Template:
    """The requests the caller reaches, oldest due first; `?status=` filters them."""
    return _page(request)


@post("/corrections/{correction_id:int}", sync_to_thread=True, status_code=303, opt=ROLES)
def answer_correction(
    request: Request[Any, Any, Any], correction_id: FromPath[int], data: FormBody
) -> Template | Redirect:
    """Answer a request: resolved (naming the donation), rejected, or a question to the donor."""
    state = AppState.of(request)
    try:
        with state.db.transaction() as uow:
            svc.console_answer(
                uow,
                staff_of(request),
                correction_id,
                action=field(data, "action", 16),
                message=field(data, "message", 1000),
                donation_no=field(data, "donation_no", 64) or None,
                client=client_of(request),
                audit_key=state.settings.audit_key,
                now=datetime.now(UTC),
            )
    except FORM_ERRORS as exc:
        return _page(request, error=exc.detail)
    return Redirect("/console/corrections?done=answered", status_code=303)


@get("/corrections/{correction_id:int}/photo", sync_to_thread=True, opt=ROLES)
def correction_photo(request: Request[Any, Any, Any], correction_id: FromPath[int]) -> Response[bytes]:
    """The photo of the paper certificate attached to a request the caller reaches."""
    state = AppState.of(request)
    principal = staff_of(request)
    with state.db.reading() as uow:
        row = svc.console_request(uow, principal, correction_id)
        media, body = svc.photo(uow, row)
    assert state.audit is not None
    state.audit.record(
        AuditEvent(principal.actor, "read:correction_photo", f"request {row.id}", client_of(request))
    )
    return Response(body, media_type=media, headers={"Cache-Control": "no-store"})


routes = [corrections_page, answer_correction, correction_photo]
