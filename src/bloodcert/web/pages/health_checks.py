"""The health check before donating as pages: the questions (/me/health-check), a deferral explained, and
the pass full screen (/me/health-check/pass). Plain forms: every page works without JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from bloodcert.domain.clock import BEIJING
from bloodcert.errors import AppError, Conflict, NotEligible, NotFound, ValidationFailed
from bloodcert.services import health_checks as svc
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.pages.certificate import big_qr_svg
from bloodcert.web.pages.render import page, words_of
from bloodcert.web.pages.sites import refusal_text
from bloodcert.web.state import AppState

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _first(value: Any) -> str:
    value = value[0] if isinstance(value, list) and value else value
    return str(value)[:40] if isinstance(value, str) else ""


def _site_param(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= 2**53 else None


def _form(
    request: Request[Any, Any, Any], principal: DonorPrincipal, site_id: int | None, error: str | None = None
) -> Template:
    now = datetime.now(UTC)
    with AppState.of(request).db.reading() as uow:
        mine = svc.my_questions(uow, principal.person_ids, now)
        latest = svc.todays_check(uow, principal.person_ids, now)
        walk_in = uow.sites.by_id(site_id) if site_id is not None and mine.appointment is None else None
    audit_read(request, principal.actor, "read:health-check")
    return page(
        request,
        "health_check.html",
        mine=mine,
        latest=latest,
        walk_in=walk_in,
        error=error,
        signed_in=True,
    )


@get("/me/health-check", sync_to_thread=True, name="health_check")
def health_check_page(request: Request[Any, Any, Any]) -> Template:
    """The questions for my booking of today, or for walking in to a site (`?site=ID`)."""
    principal = donor(request)
    return _form(request, principal, _site_param(request.query_params.get("site", "")[:20]))


def _check_in(data: dict[str, Any]) -> svc.CheckIn:
    given = {
        name[2:]: _first(value) for name, value in data.items() if name.startswith("q_") and len(name) < 44
    }
    if any(value not in {"yes", "no"} for value in given.values()):
        raise ValidationFailed("every question needs a yes or a no")
    appointment = _site_param(_first(data.get("appointment_id")))
    site = _site_param(_first(data.get("site_id")))
    kind = _first(data.get("kind")) or "whole_blood"
    if kind not in {"whole_blood", "platelets", "plasma"}:
        raise ValidationFailed("kind is whole_blood, platelets or plasma")
    answers = {name: value == "yes" for name, value in given.items()}
    return svc.CheckIn(answers=answers, appointment_id=appointment, site_id=site, kind=kind)  # type: ignore[arg-type]


def _message(request: Request[Any, Any, Any], exc: AppError) -> str:
    t = words_of(request)
    if isinstance(exc, ValidationFailed):
        return t("hc_incomplete")
    if isinstance(exc, NotEligible):
        return refusal_text(request, exc)
    messages = {"not_today": "hc_not_today", "site_closed": "hc_site_closed", "not_found": "error_not_found"}
    return t(messages.get(exc.slug, "error_generic"))


@post("/me/health-check", sync_to_thread=True, status_code=303)
def health_check_submit(request: Request[Any, Any, Any], data: FormBody) -> Template | Redirect:
    """Judge my answers: a pass goes to the pass page; a deferral is explained, with when to come back."""
    principal = donor(request)
    state = AppState.of(request)
    site_id = _site_param(_first(data.get("site_id")))
    try:
        check_in = _check_in(data)
        with state.db.transaction() as uow:
            result = svc.submit(uow, principal.person_ids, state.signing, check_in, datetime.now(UTC))
    except (ValidationFailed, NotEligible, Conflict, NotFound) as exc:
        return _form(request, principal, site_id, _message(request, exc))
    audit_read(request, principal.actor, "answer:health-check", str(result.check_id))
    if result.issued is not None:
        return Redirect("/me/health-check/pass", status_code=303)
    return page(request, "health_check_result.html", assessment=result.assessment, signed_in=True)


@get("/me/health-check/pass", sync_to_thread=True, name="donor_pass")
def pass_page(request: Request[Any, Any, Any]) -> Template:
    """Today's pass, full screen for the staff to scan at check-in."""
    principal = donor(request)
    state = AppState.of(request)
    with state.db.reading() as uow:
        issued = svc.todays_pass(uow, principal.person_ids, state.signing, datetime.now(UTC))
    if issued is None:
        return page(request, "donor_pass.html", issued=None, signed_in=True)
    audit_read(request, principal.actor, "issue:pass")
    return page(
        request,
        "donor_pass.html",
        issued=issued,
        qr_svg=big_qr_svg(issued.qr, words_of(request)("pass_title")),
        until=issued.content.expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
        signed_in=True,
    )


handlers = [health_check_page, health_check_submit, pass_page]
