"""National statistics in the console: donations and donors by province, month, kind and ABO type, with
first-time and repeat donors; `?format=csv` exports the detailed groups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get
from litestar.response import Template

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.regions import mainland_provinces, province_name
from bloodcert.domain.staff import Role
from bloodcert.services import statistics as svc
from bloodcert.services.audit import AuditEvent
from bloodcert.web.clients import client_of
from bloodcert.web.console.auth import roles
from bloodcert.web.console.render import console_page, staff_of
from bloodcert.web.state import AppState


@get("/statistics", sync_to_thread=True, opt=roles(Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN))
def statistics_page(request: Request[Any, Any, Any]) -> Template | Response[str]:
    """The statistics for a span of months (`from`, `to` as YYYY-MM) and, nationally, a province."""
    state = AppState.of(request)
    query = request.query_params
    since, until = svc.parse_span(
        query.get("from", "")[:7], query.get("to", "")[:7], datetime.now(BEIJING).date()
    )
    province = query.get("province", "")[:2] or None
    principal = staff_of(request)
    with state.db.reading() as uow:
        result = svc.national_statistics(uow, principal, since=since, until=until, province=province)
    assert state.audit is not None
    obj = f"{since:%Y-%m}..{until:%Y-%m} {result.province or 'national'}"
    state.audit.record(AuditEvent(principal.actor, "read:statistics", obj, client_of(request)))
    if query.get("format") == "csv":
        name = f"statistics-{result.province or 'national'}-{since:%Y%m}-{until:%Y%m}.csv"
        return Response(
            svc.to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
    return console_page(
        request,
        "console/statistics.html",
        result=result,
        provinces=mainland_provinces() if principal.role is Role.NATIONAL_ADMIN else [],
        province_name=lambda code: province_name(code or "") or code,
        generated=datetime.now(UTC),
    )


routes = [statistics_page]
