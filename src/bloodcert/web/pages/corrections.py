"""The donor's correction and back-fill requests as pages (/me/corrections): file one ("记录有误" from a
donation, "补录" for a missing one), follow its status and conversation, answer a station's question.

Every page works without JavaScript; the forms carry the CSRF token like every other form."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from bloodcert.domain.corrections import FIELDS
from bloodcert.domain.regions import mainland_provinces
from bloodcert.errors import Conflict, ValidationFailed
from bloodcert.services import corrections as svc
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.clients import client_of
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState

RowId = Annotated[int, Parameter(ge=1, le=2**53)]
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
# The request form may carry a photo of the paper certificate, so it is multipart (a plain form parses too).
UploadBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
MAX_BODY = 2 * 1024 * 1024
MAX_PHOTO = 1024 * 1024
FORM_FIELDS = {
    "kind": 20,
    "message": 1000,
    "donation_no": 64,
    "field": 32,
    "proposed": 200,
    "station_code": 16,
    "region": 6,
    "donated_on": 10,
    "site": 100,
    "volume_ml": 4,
}


def _actor(request: Request[Any, Any, Any], principal: DonorPrincipal) -> svc.Actor:
    return svc.Actor("donor", principal.actor, client_of(request), AppState.of(request).settings.audit_key)


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name, "")
    value = value[0] if isinstance(value, list) and value else value
    return str(value).strip()[:limit] if isinstance(value, str) else ""


def _page(
    request: Request[Any, Any, Any],
    principal: DonorPrincipal,
    *,
    error: ValidationFailed | Conflict | None = None,
    form: dict[str, str] | None = None,
) -> Template:
    state = AppState.of(request)
    with state.db.transaction() as uow:
        svc.escalate_overdue(uow, datetime.now(UTC), state.settings.audit_key)
        mine = svc.my_requests(uow, principal)
        donations = uow.history.donations_of_persons(principal.person_ids)
        stations = sorted(uow.stations.all(), key=lambda s: (s.region, s.code))
    audit_read(request, principal.actor, "read:corrections")
    wanted = form or {"donation_no": request.query_params.get("donation_no", "")[:64]}
    kind = form.get("kind") if form else ("wrong_record" if wanted.get("donation_no") else "")
    return page(
        request,
        "corrections.html",
        status=400 if error else 200,
        requests=mine,
        donations=donations,
        stations=stations,
        provinces=mainland_provinces(),
        fields=FIELDS,
        form=wanted,
        kind=kind,
        error=error,
        done=request.query_params.get("done", "")[:12],
        signed_in=True,
    )


@get("/me/corrections", sync_to_thread=True, name="corrections")
def corrections_page(request: Request[Any, Any, Any]) -> Template:
    """My requests with their status and conversation, and the two forms to file one."""
    return _page(request, donor(request))


def _photo(data: dict[str, Any]) -> str | None:
    """The uploaded photo as base64 (the service checks it is a JPEG or PNG), None when none was chosen."""
    upload = data.get("photo")
    if not isinstance(upload, UploadFile):
        return None
    content = upload.file.read(MAX_PHOTO + 1)
    return base64.b64encode(content).decode() if content else None


@post("/me/corrections", sync_to_thread=True, status_code=303, request_max_body_size=MAX_BODY)
def file_submit(request: Request[Any, Any, Any], data: UploadBody) -> Template | Redirect:
    """File a request (with an optional photo of the paper certificate); the form comes back with the
    reasons when it is not complete."""
    principal = donor(request)
    form = {name: _text(data, name, limit) for name, limit in FORM_FIELDS.items()}
    body: dict[str, object] = {k: v for k, v in form.items() if v and k != "volume_ml"}
    if form["volume_ml"]:
        body["volume_ml"] = int(form["volume_ml"]) if form["volume_ml"].isdigit() else form["volume_ml"]
    if (photo := _photo(data)) is not None:
        body["photo"] = photo
    state = AppState.of(request)
    try:
        with state.db.transaction() as uow:
            svc.file_request(
                uow,
                principal,
                body,
                actor=_actor(request, principal),
                now=datetime.now(UTC),
                due_days=state.settings.correction_due_days,
            )
    except (ValidationFailed, Conflict) as exc:
        return _page(request, principal, error=exc, form=form)
    return Redirect("/me/corrections?done=filed", status_code=303)


@post("/me/corrections/{correction_id:int}/reply", sync_to_thread=True, status_code=303)
def reply_submit(
    request: Request[Any, Any, Any], correction_id: RowId, data: FormBody
) -> Template | Redirect:
    """Answer a station's question on one of my requests."""
    principal = donor(request)
    try:
        with AppState.of(request).db.transaction() as uow:
            svc.reply(
                uow,
                principal,
                correction_id,
                _text(data, "message", 1000),
                actor=_actor(request, principal),
                now=datetime.now(UTC),
            )
    except (ValidationFailed, Conflict) as exc:
        return _page(request, principal, error=exc)
    return Redirect("/me/corrections?done=replied", status_code=303)


handlers = [corrections_page, file_submit, reply_submit]
