"""Hospitals and blood-fee waivers in the console: register hospitals and their keys; what stations pay."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.staff import Role
from bloodcert.services import hospitals as svc
from bloodcert.services import waivers
from bloodcert.services.station_auth import signature_algorithms
from bloodcert.web.console.auth import roles, station_roles
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.console.stations import FORM_ERRORS, _caller
from bloodcert.web.state import AppState


def _hospitals(
    request: Request[Any, Any, Any], *, error: str | None = None, form: dict[str, str] | None = None
) -> Template:
    with AppState.of(request).db.reading() as uow:
        items = svc.console_hospitals(uow, staff_of(request))
    return console_page(
        request,
        "console/hospitals.html",
        items=items,
        algs=list(signature_algorithms()),
        done=request.query_params.get("done", "")[:20],
        done_key=request.query_params.get("key", "")[:64],
        form=form or {},
        error=error,
    )


@get("/hospitals", sync_to_thread=True, opt=roles(Role.NATIONAL_ADMIN))
def hospitals_page(request: Request[Any, Any, Any]) -> Template:
    """Every hospital that waives blood fees, with its keys and the forms to add and revoke them."""
    return _hospitals(request)


@post("/hospitals", sync_to_thread=True, status_code=303, opt=roles(Role.NATIONAL_ADMIN))
def add_hospital(request: Request[Any, Any, Any], data: FormBody) -> Template | Redirect:
    """Register a hospital; the form comes back with the reason when it cannot be."""
    form = {name: field(data, name, 100) for name in ("code", "name", "region")}
    try:
        with AppState.of(request).db.transaction() as uow:
            svc.console_add_hospital(uow, _caller(request), **form)
    except FORM_ERRORS as exc:
        return _hospitals(request, error=exc.detail, form=form)
    return Redirect("/console/hospitals?done=hospital_added", status_code=303)


@post("/hospitals/{code:str}/keys", sync_to_thread=True, status_code=303, opt=roles(Role.NATIONAL_ADMIN))
def add_hospital_key(
    request: Request[Any, Any, Any], code: FromPath[str], data: FormBody
) -> Template | Redirect:
    """Register a public key for a hospital."""
    pem, alg = field(data, "public_key_pem", 4096), field(data, "alg", 32)
    try:
        with AppState.of(request).db.transaction() as uow:
            key_id = svc.console_add_hospital_key(
                uow, _caller(request), code, public_key_pem=pem.encode(), alg=alg
            )
    except FORM_ERRORS as exc:
        return _hospitals(request, error=exc.detail)
    return Redirect("/console/hospitals?" + urlencode({"done": "key_added", "key": key_id}), status_code=303)


@post(
    "/hospitals/{code:str}/keys/{key_id:str}/revoke",
    sync_to_thread=True,
    status_code=303,
    opt=roles(Role.NATIONAL_ADMIN),
)
def revoke_hospital_key(
    request: Request[Any, Any, Any], code: FromPath[str], key_id: FromPath[str]
) -> Redirect:
    """Revoke one of a hospital's keys at once."""
    with AppState.of(request).db.transaction() as uow:
        svc.console_revoke_hospital_key(uow, _caller(request), code, key_id)
    return Redirect(
        "/console/hospitals?" + urlencode({"done": "key_revoked", "key": key_id[:64]}), status_code=303
    )


def _report(request: Request[Any, Any, Any], code: str | None) -> Template | Response[str]:
    with AppState.of(request).db.reading() as uow:
        report = waivers.waivers_paid(uow, staff_of(request), code)
    if request.query_params.get("format") == "csv":
        name = f"waivers-{report.station.code if report.station else 'national'}.csv"
        return Response(
            waivers.paid_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
    return console_page(request, "console/waivers.html", report=report)


@get("/waivers", sync_to_thread=True, opt=roles(Role.NATIONAL_ADMIN, Role.AUDITOR))
def national_waivers_page(request: Request[Any, Any, Any]) -> Template | Response[str]:
    """Waivers paid by every station, by hospital and month; `?format=csv` exports them."""
    return _report(request, None)


@get("/stations/{code:str}/waivers", sync_to_thread=True, opt=station_roles())
def station_waivers_page(request: Request[Any, Any, Any], code: FromPath[str]) -> Template | Response[str]:
    """Waivers one station pays, by hospital and month; `?format=csv` exports them."""
    return _report(request, code)


routes = [
    hospitals_page,
    add_hospital,
    add_hospital_key,
    revoke_hospital_key,
    national_waivers_page,
    station_waivers_page,
]
