"""Identity conflicts in the console: both sides (ID numbers masked), the forms to merge them or keep them
apart with the evidence noted, and the decisions with their undo."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.staff import Role
from bloodcert.services import identity_review as svc
from bloodcert.services.audit import AuditEvent
from bloodcert.web.clients import client_of
from bloodcert.web.console.auth import roles
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.console.stations import FORM_ERRORS, _caller
from bloodcert.web.state import AppState

ROLES = roles(Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN)


def _page(request: Request[Any, Any, Any], *, error: str | None = None) -> Template:
    state = AppState.of(request)
    principal = staff_of(request)
    with state.db.reading() as uow:
        found = svc.conflicts(uow, principal)
        decided = svc.decisions(uow, principal)
    assert state.audit is not None
    state.audit.record(AuditEvent(principal.actor, "read:identity_conflicts", None, client_of(request)))
    return console_page(
        request,
        "console/conflicts.html",
        status=400 if error else 200,
        conflicts=found,
        decisions=decided,
        error=error,
        done=request.query_params.get("done", "")[:20],
    )


@get("/conflicts", sync_to_thread=True, opt=ROLES)
def conflicts_page(request: Request[Any, Any, Any]) -> Template:
    """The open identity conflicts the caller may decide, and the latest decisions."""
    return _page(request)


def _ids(data: dict[str, Any]) -> tuple[int, int]:
    """(kept, other) from the conflict's pair of person ids and the one to keep; (0, 0) when malformed."""
    first, _, second = field(data, "pair", 41).partition("-")
    keep = field(data, "keep", 20)
    if not (first.isdigit() and second.isdigit() and keep in (first, second)):
        return 0, 0
    return int(keep), int(second if keep == first else first)


@post("/conflicts/decide", sync_to_thread=True, status_code=303, opt=ROLES)
def decide(request: Request[Any, Any, Any], data: FormBody) -> Template | Redirect:
    """Decide a conflict: `decision` merge (keep one side, merge the other into it) or separate."""
    keep, other = _ids(data)
    evidence, decision = field(data, "evidence", 600), field(data, "decision", 16)
    state = AppState.of(request)
    try:
        with state.db.transaction() as uow:
            if decision == svc.MERGE:
                svc.merge(
                    uow, _caller(request), state.signing, keep_id=keep, other_id=other, evidence=evidence
                )
            elif decision == svc.SEPARATE:
                svc.separate(uow, _caller(request), keep_id=keep, other_id=other, evidence=evidence)
            else:
                return _page(request, error="merge or separate")
    except FORM_ERRORS as exc:
        return _page(request, error=exc.detail)
    return Redirect(f"/console/conflicts?done={decision}", status_code=303)


@post("/conflicts/decisions/{decision_id:int}/undo", sync_to_thread=True, status_code=303, opt=ROLES)
def undo(request: Request[Any, Any, Any], decision_id: FromPath[int]) -> Template | Redirect:
    """Undo a decision (a merge is split again, a separation goes back under review)."""
    state = AppState.of(request)
    try:
        with state.db.transaction() as uow:
            svc.undo(uow, _caller(request), state.signing, decision_id)
    except FORM_ERRORS as exc:
        return _page(request, error=exc.detail)
    return Redirect("/console/conflicts?done=undone", status_code=303)


routes = [conflicts_page, decide, undo]
