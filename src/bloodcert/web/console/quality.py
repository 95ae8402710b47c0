"""A station's data quality in the console: open issues with what each means and what to do, the forms that
close them (fixed or accepted), and the closed ones' history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.quality import issue_codes
from bloodcert.errors import NotFound
from bloodcert.services import console as svc
from bloodcert.services import quality
from bloodcert.services.audit import AuditEvent
from bloodcert.web.clients import client_of
from bloodcert.web.console import views
from bloodcert.web.console.auth import station_roles
from bloodcert.web.console.i18n import console_words
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.console.stations import FORM_ERRORS, _caller
from bloodcert.web.pages.render import lang_of
from bloodcert.web.state import AppState


def _audit_read(request: Request[Any, Any, Any], action: str, obj: str | None) -> None:
    sink = AppState.of(request).audit
    assert sink is not None
    sink.record(AuditEvent(staff_of(request).actor, action, obj, client_of(request)))


def _page(request: Request[Any, Any, Any], code: str, *, error: str | None = None) -> Template:
    with AppState.of(request).db.reading() as uow:
        report = svc.quality_report(uow, staff_of(request), code, datetime.now(UTC))
        closed = quality.closed_history(uow, report.station.id)
    _audit_read(request, "read:quality", report.station.code)
    t = console_words(lang_of(request))
    return console_page(
        request,
        "console/quality.html",
        status=400 if error else 200,
        report=report,
        issues=quality.labelled(report.issues),
        closed=closed,
        codes=issue_codes(),
        error=error,
        done=request.query_params.get("done", "")[:20],
        rejection=views.rejection_chart(report.months, t),
        delay=views.delay_chart(report.months, t),
        shown=svc.ISSUES_SHOWN,
    )


@get("/stations/{code:str}/quality", sync_to_thread=True, opt=station_roles())
def quality_page(request: Request[Any, Any, Any], code: FromPath[str]) -> Template:
    """A station's open issues (labelled, with what to do), a year of rejection rates and reporting delays
    as charts, and the recently closed issues."""
    return _page(request, code)


@post(
    "/stations/{code:str}/quality/{issue_id:int}", sync_to_thread=True, status_code=303, opt=station_roles()
)
def close_issue(
    request: Request[Any, Any, Any], code: FromPath[str], issue_id: FromPath[int], data: FormBody
) -> Template | Redirect:
    """Close an issue: `fixed` with the corrected donation's number, or `accepted` with a note."""
    try:
        with AppState.of(request).db.transaction() as uow:
            quality.close_issue(
                uow,
                _caller(request),
                code,
                issue_id,
                action=field(data, "action", 16),
                donation_no=field(data, "donation_no", 64),
                note=field(data, "note", 400),
            )
    except (*FORM_ERRORS, NotFound) as exc:
        if isinstance(exc, NotFound) and "issue" in exc.detail:
            raise
        return _page(request, code, error=exc.detail)
    return Redirect(f"/console/stations/{quote(code, safe='')}/quality?done=closed", status_code=303)


routes = [quality_page, close_issue]
