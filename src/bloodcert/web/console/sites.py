"""A station's donation sites in the console: list and add, a site's description, schedule and slots, the
day's bookings with attendance, and the health checks answered there (for the station's own operators)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Request, get, post
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template

from bloodcert.domain.clock import BEIJING
from bloodcert.errors import AppError
from bloodcert.services import health_checks
from bloodcert.services import site_console as svc
from bloodcert.web.console.auth import station_roles
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.console.screens import _audit_read
from bloodcert.web.console.stations import FORM_ERRORS, _caller
from bloodcert.web.state import AppState

RowId = Annotated[int, Parameter(ge=1, le=2**53)]
SITE_FIELDS = ("site_code", "name", "type", "region", "lat", "lon", "address")


def _day(text: str | None) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return datetime.now(BEIJING).date()


def _form(data: Any) -> svc.SiteForm:
    values = {name: field(data, name, 200) for name in SITE_FIELDS}
    return svc.SiteForm(**values, hours=field(data, "hours", 8000), schedule=field(data, "schedule", 40000))


def _problem_text(exc: AppError) -> str:
    return "; ".join([exc.detail, *(f"{e.field}: {e.message}" for e in exc.errors[:10])])


def _sites_page(
    request: Request[Any, Any, Any], code: str, *, error: str | None = None, form: Any = None
) -> Template:
    with AppState.of(request).db.reading() as uow:
        listed = svc.station_sites(uow, staff_of(request), code)
    return console_page(
        request,
        "console/sites.html",
        listed=listed,
        form=form,
        error=error,
        today=datetime.now(BEIJING).date(),
    )


@get("/stations/{code:str}/sites", sync_to_thread=True, opt=station_roles())
def sites_page(request: Request[Any, Any, Any], code: FromPath[str]) -> Template:
    """The station's sites, and the form to add one."""
    return _sites_page(request, code)


@post("/stations/{code:str}/sites", sync_to_thread=True, status_code=303, opt=station_roles())
def save_site(request: Request[Any, Any, Any], code: FromPath[str], data: FormBody) -> Template | Redirect:
    """Add a site, or replace one with the same code; the form comes back with the reasons when invalid."""
    form = _form(data)
    try:
        with AppState.of(request).db.transaction() as uow:
            saved = svc.save_site(uow, _caller(request), code, form)
    except FORM_ERRORS as exc:
        if field(data, "back", 8) == "site":
            return _site_page(request, code, form.site_code, error=_problem_text(exc), form=form)
        return _sites_page(request, code, error=_problem_text(exc), form=form)
    path = f"/console/stations/{quote(code, safe='')}/sites/{quote(saved.site.code, safe='')}"
    return Redirect(path + "?done=site_saved", status_code=303)


def _site_page(
    request: Request[Any, Any, Any], code: str, site_code: str, *, error: str | None = None, form: Any = None
) -> Template:
    day = _day(request.query_params.get("date"))
    principal = staff_of(request)
    with AppState.of(request).db.reading() as uow:
        shown = svc.site_day(uow, principal, code, site_code, day)
    _audit_read(request, "read:bookings", f"{shown.station.code}/{shown.site.site.code} {day.isoformat()}")
    if shown.checks is not None:
        _audit_read(
            request, "read:health-checks", f"{shown.station.code}/{shown.site.site.code} {day.isoformat()}"
        )
    return console_page(
        request,
        "console/site.html",
        shown=shown,
        form=form,
        error=error,
        done=request.query_params.get("done", "")[:20],
        defers=health_checks.deferring_answers,
        question=health_checks.question_text,
    )


@get("/stations/{code:str}/sites/{site_code:str}", sync_to_thread=True, opt=station_roles())
def site_page(request: Request[Any, Any, Any], code: FromPath[str], site_code: FromPath[str]) -> Template:
    """One site: its description and schedule to edit, a day's slots, bookings and health checks."""
    return _site_page(request, code, site_code)


def _back(code: str, site_code: str, day: date, done: str) -> Redirect:
    path = f"/console/stations/{quote(code, safe='')}/sites/{quote(site_code, safe='')}"
    return Redirect(f"{path}?{urlencode({'date': day.isoformat(), 'done': done})}", status_code=303)


@post(
    "/stations/{code:str}/sites/{site_code:str}/slots",
    sync_to_thread=True,
    status_code=303,
    opt=station_roles(),
)
def set_slots(
    request: Request[Any, Any, Any], code: FromPath[str], site_code: FromPath[str], data: FormBody
) -> Template | Redirect:
    """Set a day's slots and their capacity ("HH:MM capacity" a line)."""
    day = _day(field(data, "date", 10))
    try:
        with AppState.of(request).db.transaction() as uow:
            svc.set_slots(uow, _caller(request), code, site_code, day=day, lines=field(data, "slots", 4000))
    except FORM_ERRORS as exc:
        return _site_page(request, code, site_code, error=_problem_text(exc))
    return _back(code, site_code, day, "slots_saved")


@post(
    "/stations/{code:str}/sites/{site_code:str}/bookings/{appointment_id:int}",
    sync_to_thread=True,
    status_code=303,
    opt=station_roles(),
)
def mark_attendance(
    request: Request[Any, Any, Any],
    code: FromPath[str],
    site_code: FromPath[str],
    appointment_id: RowId,
    data: FormBody,
) -> Template | Redirect:
    """Record that a booked donor came, or did not."""
    status = field(data, "status", 10)
    day = _day(field(data, "date", 10))
    try:
        with AppState.of(request).db.transaction() as uow:
            svc.mark_attendance(
                uow, _caller(request), code, site_code, appointment_id=appointment_id, status=status
            )
    except FORM_ERRORS as exc:
        return _site_page(request, code, site_code, error=_problem_text(exc))
    return _back(code, site_code, day, "attendance_saved")


routes = [sites_page, save_site, site_page, set_slots, mark_attendance]
