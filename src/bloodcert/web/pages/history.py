"""The donor's history page (/me): summary cards, filters, a chart per year, groups and the list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.regions import counties, prefectures
from bloodcert.services import history as svc
from bloodcert.services import portal
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.pages import views
from bloodcert.web.pages.render import page, words_of
from bloodcert.web.state import AppState


@get("/me", sync_to_thread=True, name="history")
def history_page(request: Request[Any, Any, Any]) -> Template:
    """My national history, filtered by date range and region, listed or grouped by year or province."""
    principal = donor(request)
    query = views.history_query(list(request.query_params.multi_items()))
    filters, problems = query.filters()
    with AppState.of(request).db.reading() as uow:
        model = portal.history_page(uow, principal, filters, datetime.now(BEIJING).date())
    shown = model.shown
    audit_read(request, principal.actor, "read:donations")
    bars = views.year_bars(shown.donations)
    return page(
        request,
        "history.html",
        me=model.me,
        query=query,
        problems=problems,
        filtered=filters != svc.Filters(group_by=filters.group_by),
        next_dates=views.next_dates(model.everything.donations, datetime.now(BEIJING).date()),
        shown=shown,
        honours=model.honours,
        bars=bars,
        bars_text=views.bars_text(bars, words_of(request).lang),
        chart=views.CHART,
        items=views.donation_items(shown.donations),
        sections=views.sections(shown, filters.group_by),
        region_label=views.region_label(filters.region),
        signed_in=True,
    )


@get("/regions", sync_to_thread=False, name="regions")
def regions(
    parent: Annotated[str, QueryParameter(min_length=2, max_length=4, pattern=r"^\d+$")],
) -> Response[list[dict[str, str]]]:
    """The cities of a province (2 digits) or the counties of a city (4), for the history filter's selects."""
    children = prefectures(parent) if len(parent) == 2 else counties(parent) if len(parent) == 4 else []
    body = [{"code": r.code[: len(parent) + 2], "name": r.name} for r in children]
    return Response(body, headers={"Cache-Control": "public, max-age=86400"})
