"""Online claims and registered relatives in the console: each station's review queue with its filters,
the documents, decisions with their reasons, and claim volumes with the time to decision.

Operators review their own station's shares and registrations; administrators see every station's
(and the overdue ones escalated to them) but decide nothing for a station, a provincial administrator the
shares their province's stations pay; auditors see the volumes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.staff import Role
from bloodcert.errors import AppError
from bloodcert.services import claims as svc
from bloodcert.services import relatives as rel
from bloodcert.web.api.claims import actor_of, document_response, rules
from bloodcert.web.auth import audit_read
from bloodcert.web.console.auth import roles
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.state import AppState

REVIEWERS = roles(Role.NATIONAL_ADMIN, Role.STATION_OPERATOR)
# Provincial administrators follow their province's claims (escalations are theirs), and decide nothing.
CLAIM_READERS = roles(Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR)
STATUSES = ("submitted", "need_info", "approved", "rejected")


def _reasons(exc: AppError) -> str:
    return " ".join([exc.detail, *(f"{e.field}: {e.message}" for e in exc.errors)])


@get("/claims", sync_to_thread=True, opt=CLAIM_READERS)
def claims_queue(request: Request[Any, Any, Any]) -> Template:
    """The review queue, soonest due first: by status, only overdue, and (administrators) by station."""
    q = request.query_params
    status = q.get("status") if q.get("status") in STATUSES else None
    only_overdue = q.get("overdue") == "1"
    station = (q.get("station") or "")[:16]
    province = q.get("province") if re.fullmatch(r"[0-9]{2}", q.get("province") or "") else None
    principal = staff_of(request)
    with AppState.of(request).db.reading() as uow:
        scope = svc.console_scope(uow, principal, station)
        items = svc.queue(uow, scope, status=status, only_overdue=only_overdue, province=province)
    audit_read(request, principal.actor, "read:claims", f"{len(items)} shares")
    return console_page(
        request,
        "console/claims.html",
        items=items,
        statuses=STATUSES,
        chosen=status or "",
        overdue=only_overdue,
        station=station,
        province=province or "",
    )


@get("/claims/{claim_id:str}", sync_to_thread=True, opt=CLAIM_READERS)
def claim_page(request: Request[Any, Any, Any], claim_id: FromPath[str]) -> Template:
    """One claim: the patient, the items, every share, the timeline, the documents and the decision form."""
    return _claim_page(request, claim_id)


def _claim_page(request: Request[Any, Any, Any], claim_id: str, error: str | None = None) -> Template:
    principal = staff_of(request)
    with AppState.of(request).db.reading() as uow:
        scope = svc.console_scope(uow, principal, None)
        claim = svc.claim_for_station(uow, scope, claim_id)
    audit_read(request, principal.actor, "read:claim", claim.id)
    mine = next((s for s in claim.shares if s.station_code == principal.station_code), None)
    return console_page(
        request,
        "console/claim.html",
        claim=claim,
        mine=mine,
        error=error,
        done=request.query_params.get("done", "")[:20],
    )


@post(
    "/claims/{claim_id:str}/decision", sync_to_thread=True, status_code=303, opt=roles(Role.STATION_OPERATOR)
)
def decide_claim(
    request: Request[Any, Any, Any], claim_id: FromPath[str], data: FormBody
) -> Template | Redirect:
    """Approve (with the payout reference), reject or ask for more on my station's share, with a reason."""
    principal = staff_of(request)
    form: dict[str, Any] = {"decision": field(data, "decision", 16), "message": field(data, "message", 1000)}
    if payout := field(data, "payout_reference", 64):
        form["payout_reference"] = payout
    try:
        with AppState.of(request).db.transaction() as uow:
            who = actor_of(request, principal.actor)
            svc.decide_in_console(uow, who, rules(request), principal, claim_id, form)
    except AppError as exc:
        if exc.status == 404:
            raise
        return _claim_page(request, claim_id, error=_reasons(exc))
    return Redirect(f"/console/claims/{claim_id[:40]}?done=decided", status_code=303)


@get("/claims/documents/{token:str}", sync_to_thread=True, opt=roles(Role.STATION_OPERATOR))
def claim_document(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[bytes]:
    """A document of a claim or registration my station reviews; audited. Only the reviewing stations (and
    the donor) read documents: an administrator sees that they are there, not what they show."""
    principal = staff_of(request)
    with AppState.of(request).db.reading() as uow:
        doc = svc.station_document(uow, svc.console_scope(uow, principal, None).station_id, token)
    audit_read(request, principal.actor, "read:document", f"{doc.meta.kind} {doc.meta.id}")
    return document_response(doc, no_store=True)


@get("/relatives", sync_to_thread=True, opt=REVIEWERS)
def relatives_queue(request: Request[Any, Any, Any]) -> Template:
    """Registrations of relatives to review (pending first), with their proofs and the decision forms."""
    return _relatives(request)


def _relatives(request: Request[Any, Any, Any], error: str | None = None) -> Template:
    status = request.query_params.get("status")
    status = status if status in ("pending", "need_info", "approved", "rejected") else "pending"
    principal = staff_of(request)
    with AppState.of(request).db.reading() as uow:
        scope = svc.console_scope(uow, principal, None)
        items = rel.queue(uow, scope.station_id, status)
    audit_read(request, principal.actor, "read:relatives", f"{len(items)} registrations")
    return console_page(request, "console/relatives.html", items=items, chosen=status, error=error)


@post(
    "/relatives/{relative_id:str}/decision",
    sync_to_thread=True,
    status_code=303,
    opt=roles(Role.STATION_OPERATOR),
)
def decide_relative(
    request: Request[Any, Any, Any], relative_id: FromPath[str], data: FormBody
) -> Template | Redirect:
    """Approve, reject or ask for more on a registration my station reviews."""
    principal = staff_of(request)
    try:
        with AppState.of(request).db.transaction() as uow:
            who = actor_of(request, principal.actor)
            rel.decide(
                uow,
                who,
                principal.station_id,
                relative_id,
                field(data, "decision", 16),
                field(data, "message", 1000),
            )
    except AppError as exc:
        if exc.status == 404:
            raise
        return _relatives(request, error=_reasons(exc))
    return Redirect("/console/relatives?" + urlencode({"status": "pending"}), status_code=303)


@get(
    "/claims-volumes",
    sync_to_thread=True,
    opt=roles(Role.NATIONAL_ADMIN, Role.AUDITOR, Role.STATION_OPERATOR),
)
def volumes_page(request: Request[Any, Any, Any]) -> Template:
    """Claim volumes per station and nationally, with the median time to a decision."""
    with AppState.of(request).db.reading() as uow:
        report = svc.volumes(uow, staff_of(request))
    return console_page(request, "console/claim_volumes.html", report=report)


routes = [
    claims_queue,
    claim_document,
    claim_page,
    decide_claim,
    relatives_queue,
    decide_relative,
    volumes_page,
]
