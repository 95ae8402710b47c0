"""Stations' scorecards in the console: the public figures of the stations the caller reaches, each linking
to its data-quality page (month by month, and the open issues) for the drill-down."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from bloodcert.domain.staff import Role
from bloodcert.services import scorecards as svc
from bloodcert.web.console.auth import roles
from bloodcert.web.console.render import console_page, staff_of
from bloodcert.web.state import AppState


@get(
    "/scorecards",
    sync_to_thread=True,
    opt=roles(Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN, Role.STATION_OPERATOR),
)
def scorecards_page(request: Request[Any, Any, Any]) -> Template:
    """The scorecards of every station the caller reaches (national, the province's, or the own one)."""
    state = AppState.of(request)
    cards = state.scorecards.get(state.db)
    with state.db.reading() as uow:
        ids = {s.code: s.id for s in uow.stations.all()}
    return console_page(request, "console/scorecards.html", cards=svc.visible(cards, staff_of(request), ids))


routes = [scorecards_page]
