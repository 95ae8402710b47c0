"""The commendation review in the console: a cycle's candidates per station and per province, each with
the donations that count and where they were made, and the forms to confirm or reject (with a reason)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.regions import mainland_provinces
from bloodcert.domain.staff import Role
from bloodcert.errors import ProblemField, ValidationFailed
from bloodcert.services import honour_review as svc
from bloodcert.services.honours import parse_cycle
from bloodcert.web.console.auth import roles, station_roles
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.console.screens import _audit_read
from bloodcert.web.console.stations import FORM_ERRORS, _caller, _page_number
from bloodcert.web.state import AppState

# Opens the scope of a list (a station or a province) in a unit of work, checking the caller may reach it.
ScopeOf = Callable[[Any], svc.Scope]


def _today() -> date:
    return datetime.now(BEIJING).date()


def _cycle(request: Request[Any, Any, Any]) -> str:
    return request.query_params.get("cycle", "")[:9] or svc.default_cycle(_today())


def _list(
    request: Request[Any, Any, Any],
    scope_of: ScopeOf,
    base: str,
    *,
    cycle: str | None = None,
    error: str | None = None,
) -> Template | Response[bytes]:
    cycle = cycle or _cycle(request)
    number = _page_number(request)
    if request.query_params.get("format") == "csv" and error is None:
        return _csv(request, scope_of, cycle)
    with AppState.of(request).db.reading() as uow:
        scope = scope_of(uow)
        review = svc.review_page(uow, scope, cycle, number)
    _audit_read(request, "read:honour_candidates", f"{review.cycle} {scope.label} page {number}")
    return console_page(
        request,
        "console/honours.html",
        review=review,
        base=base,
        cycles=svc.recent_cycles(_today()),
        link=lambda n: base + "?" + urlencode({"cycle": review.cycle, "page": n}),
        done=request.query_params.get("done", "")[:20],
        error=error,
    )


def _csv(request: Request[Any, Any, Any], scope_of: ScopeOf, cycle: str) -> Response[bytes]:
    label = parse_cycle(cycle).label
    with AppState.of(request).db.reading() as uow:
        scope = scope_of(uow)
        text = svc.review_csv(uow, scope, label)
    _audit_read(request, "export:honour_candidates", f"{label} {scope.label}")
    name = f"candidates-{label}-{scope.station.code if scope.station else scope.province}.csv"
    return Response(
        text.encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _decision(data: dict[str, Any]) -> svc.ReviewDecision:
    person = field(data, "person_ref", 12)
    if not person.isdigit():
        raise ValidationFailed(
            "no such candidate", errors=[ProblemField("person_ref", "invalid_value", "a number")]
        )
    return svc.ReviewDecision(
        int(person),
        field(data, "cycle", 9),
        field(data, "award", 16),
        field(data, "decision", 8) == "confirm",
        field(data, "reason", svc.MAX_REASON),
    )


def _decide(
    request: Request[Any, Any, Any], scope_of: ScopeOf, base: str, data: dict[str, Any]
) -> Template | Response[bytes] | Redirect:
    decision: svc.ReviewDecision | None = None
    try:
        decision = _decision(data)
        with AppState.of(request).db.transaction() as uow:
            svc.decide(uow, _caller(request), scope_of(uow), decision)
    except FORM_ERRORS as exc:
        return _list(request, scope_of, base, cycle=decision.cycle if decision else None, error=exc.detail)
    page = field(data, "page", 6)
    query = {
        "cycle": decision.cycle,
        "page": page if page.isdigit() else "1",
        "done": "confirmed" if decision.confirm else "rejected",
    }
    return Redirect(f"{base}?{urlencode(query)}", status_code=303)


@get("/honours", sync_to_thread=False, opt=roles(Role.NATIONAL_ADMIN))
def honours_index(request: Request[Any, Any, Any]) -> Template:
    """Where a national administrator picks a province's candidate list (a station's is on its page)."""
    cycle = parse_cycle(_cycle(request)).label
    return console_page(
        request,
        "console/honours_index.html",
        provinces=mainland_provinces(),
        cycle=cycle,
        cycles=svc.recent_cycles(_today()),
    )


@get("/honours/provinces/{province:str}", sync_to_thread=True, opt=roles(Role.NATIONAL_ADMIN))
def province_review(request: Request[Any, Any, Any], province: FromPath[str]) -> Template | Response[bytes]:
    """A cycle's candidates among the donors who gave in a province, 50 a page; `?format=csv` exports all."""
    principal = staff_of(request)
    return _list(
        request,
        lambda _uow: svc.province_scope(principal, province[:2]),
        f"/console/honours/provinces/{quote(province[:2], safe='')}",
    )


@post(
    "/honours/provinces/{province:str}",
    sync_to_thread=True,
    status_code=303,
    opt=roles(Role.NATIONAL_ADMIN),
)
def province_decide(
    request: Request[Any, Any, Any], province: FromPath[str], data: FormBody
) -> Template | Response[bytes] | Redirect:
    """Confirm or reject a candidate of the province's list."""
    principal = staff_of(request)
    return _decide(
        request,
        lambda _uow: svc.province_scope(principal, province[:2]),
        f"/console/honours/provinces/{quote(province[:2], safe='')}",
        data,
    )


@get("/stations/{code:str}/honours", sync_to_thread=True, opt=station_roles())
def station_review(request: Request[Any, Any, Any], code: FromPath[str]) -> Template | Response[bytes]:
    """A cycle's candidates among the station's donors, 50 a page; `?format=csv` exports them all."""
    principal = staff_of(request)
    return _list(
        request,
        lambda uow: svc.station_scope(uow, principal, code),
        f"/console/stations/{quote(code[:16], safe='')}/honours",
    )


@post("/stations/{code:str}/honours", sync_to_thread=True, status_code=303, opt=station_roles())
def station_decide(
    request: Request[Any, Any, Any], code: FromPath[str], data: FormBody
) -> Template | Response[bytes] | Redirect:
    """Confirm or reject a candidate of the station's list."""
    principal = staff_of(request)
    return _decide(
        request,
        lambda uow: svc.station_scope(uow, principal, code),
        f"/console/stations/{quote(code[:16], safe='')}/honours",
        data,
    )


routes = [honours_index, province_review, province_decide, station_review, station_decide]
