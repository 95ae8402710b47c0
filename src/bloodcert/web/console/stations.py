"""Stations and their keys in the console: list, register, detail, add a public key, revoke a key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.staff import Role
from bloodcert.domain.stations import TIERS
from bloodcert.errors import Conflict, ValidationFailed
from bloodcert.services import console as svc
from bloodcert.services.station_auth import signature_algorithms
from bloodcert.web.clients import client_of
from bloodcert.web.console.auth import roles, station_roles
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.state import AppState

PER_PAGE = 50
# What a form may fail on and be shown again with its message; 403 and 404 go to the error pages.
FORM_ERRORS = (ValidationFailed, Conflict)


def _caller(request: Request[Any, Any, Any]) -> svc.Caller:
    state = AppState.of(request)
    return svc.Caller(staff_of(request), client_of(request), state.settings.audit_key, datetime.now(UTC))


def _page_number(request: Request[Any, Any, Any]) -> int:
    text = request.query_params.get("page", "1")[:6]
    return max(1, int(text)) if text.isdigit() else 1


def _list(
    request: Request[Any, Any, Any], *, error: str | None = None, form: dict[str, str] | None = None
) -> Template:
    query = request.query_params.get("q", "")[:32]
    number = _page_number(request)
    with AppState.of(request).db.reading() as uow:
        items = svc.visible_stations(uow, staff_of(request), query)
    shown = items[(number - 1) * PER_PAGE : number * PER_PAGE]
    return console_page(
        request,
        "console/stations.html",
        items=shown,
        total=len(items),
        page_no=number,
        has_next=number * PER_PAGE < len(items),
        query=query,
        link=lambda n: "/console/stations?" + urlencode([*([("q", query)] if query else []), ("page", n)]),
        tiers=sorted(TIERS),
        form=form or {},
        error=error,
    )


@get(
    "/stations",
    sync_to_thread=True,
    opt=roles(Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR),
)
def stations_page(request: Request[Any, Any, Any]) -> Template:
    """Every station for an administrator (50 a page, searchable); an operator's own station for them."""
    return _list(request)


@post("/stations", sync_to_thread=True, status_code=303, opt=roles(Role.NATIONAL_ADMIN))
def add_station(request: Request[Any, Any, Any], data: FormBody) -> Template | Redirect:
    """Register a station; the form comes back with the reason when it cannot be."""
    form = {name: field(data, name, 100) for name in ("code", "name", "region", "tier")}
    try:
        with AppState.of(request).db.transaction() as uow:
            station = svc.add_station(uow, _caller(request), **form)
    except FORM_ERRORS as exc:
        return _list(request, error=exc.detail, form=form)
    return Redirect(f"/console/stations/{quote(station.code, safe='')}?done=station_added", status_code=303)


def _detail(
    request: Request[Any, Any, Any], code: str, *, error: str | None = None, pem: str = ""
) -> Template:
    with AppState.of(request).db.reading() as uow:
        detail = svc.station_detail(uow, staff_of(request), code)
    return console_page(
        request,
        "console/station.html",
        detail=detail,
        algs=list(signature_algorithms()),
        done=request.query_params.get("done", "")[:20],
        done_key=request.query_params.get("key", "")[:64],
        error=error,
        pem=pem,
    )


@get("/stations/{code:str}", sync_to_thread=True, opt=station_roles())
def station_page(request: Request[Any, Any, Any], code: FromPath[str]) -> Template:
    """One station: its keys, the forms to add and revoke them, and a link to its data quality."""
    return _detail(request, code)


@post("/stations/{code:str}/keys", sync_to_thread=True, status_code=303, opt=station_roles(provincial=False))
def add_key(request: Request[Any, Any, Any], code: FromPath[str], data: FormBody) -> Template | Redirect:
    """Register a public key for the station."""
    pem, alg = field(data, "public_key_pem", 4096), field(data, "alg", 32)
    try:
        with AppState.of(request).db.transaction() as uow:
            key_id = svc.add_key(uow, _caller(request), code, public_key_pem=pem.encode(), alg=alg)
    except FORM_ERRORS as exc:
        return _detail(request, code, error=exc.detail, pem=pem)
    query = urlencode({"done": "key_added", "key": key_id})
    return Redirect(f"/console/stations/{quote(code, safe='')}?{query}", status_code=303)


@post(
    "/stations/{code:str}/keys/{key_id:str}/revoke",
    sync_to_thread=True,
    status_code=303,
    opt=station_roles(provincial=False),
)
def revoke_key(request: Request[Any, Any, Any], code: FromPath[str], key_id: FromPath[str]) -> Redirect:
    """Revoke one of the station's keys at once."""
    with AppState.of(request).db.transaction() as uow:
        svc.revoke_key(uow, _caller(request), code, key_id)
    query = urlencode({"done": "key_revoked", "key": key_id[:64]})
    return Redirect(f"/console/stations/{quote(code, safe='')}?{query}", status_code=303)
