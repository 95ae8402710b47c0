"""A station's supply screen in the console: publish its stock by type, and see its call-ups with how many
donors each reached and how many booked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.supply import ABO_TYPES, RHD_TYPES, Level
from bloodcert.services import console as console_svc
from bloodcert.services import supply as svc
from bloodcert.web.clients import client_of
from bloodcert.web.console.auth import station_roles
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.state import AppState

TYPES = [(abo, rhd, abo + ("+" if rhd == "positive" else "-")) for rhd in RHD_TYPES for abo in ABO_TYPES]


@get("/stations/{code:str}/supply", sync_to_thread=True, opt=station_roles())
def supply_page(request: Request[Any, Any, Any], code: FromPath[str]) -> Template:
    """The station's levels in force, the form to publish new ones, and its call-ups."""
    with AppState.of(request).db.reading() as uow:
        view = svc.console_view(uow, staff_of(request), code)
    return console_page(
        request,
        "console/supply.html",
        view=view,
        types=TYPES,
        levels=[lv.value for lv in Level],
        done=request.query_params.get("done", "")[:20],
    )


@post("/stations/{code:str}/supply", sync_to_thread=True, status_code=303, opt=station_roles())
def publish_levels(request: Request[Any, Any, Any], code: FromPath[str], data: FormBody) -> Redirect:
    """Publish the levels chosen on the form (a type left unset is not reported)."""
    chosen = [(abo, rhd, field(data, label, 10)) for abo, rhd, label in TYPES]
    levels = [(abo, rhd, Level(value)) for abo, rhd, value in chosen if value in Level.__members__.values()]
    state = AppState.of(request)
    caller = console_svc.Caller(
        staff_of(request), client_of(request), state.settings.audit_key, datetime.now(UTC)
    )
    with state.db.transaction() as uow:
        svc.publish_from_console(
            uow,
            caller,
            code,
            levels,
            monthly_cap=state.settings.notify.callups_per_month,
            index_key=state.settings.index_key,
        )
    return Redirect(f"/console/stations/{quote(code, safe='')}/supply?done=published", status_code=303)


routes = [supply_page, publish_levels]
