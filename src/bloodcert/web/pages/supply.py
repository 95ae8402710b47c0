"""The public supply page (/supply): every province's stock by type; and the page behind a call-up's link
(/callups/{token}), which offers the site finder and a one-click stop of call-ups, without a login."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Template

from bloodcert.domain.supply import ABO_TYPES, RHD_TYPES
from bloodcert.services import supply as svc
from bloodcert.services.audit import AuditEvent
from bloodcert.web.clients import client_of
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState

Token = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
PROVINCE = re.compile(r"^\d{2}$")
TYPES = [abo + ("+" if rhd == "positive" else "-") for rhd in RHD_TYPES for abo in ABO_TYPES]


@get("/supply", sync_to_thread=True, name="supply")
def supply_page(request: Request[Any, Any, Any]) -> Template:
    """Every province's stock by station and blood type, as the stations last published it."""
    with AppState.of(request).db.reading() as uow:
        provinces = svc.national_levels(uow)
    return page(request, "supply.html", provinces=provinces, types=TYPES)


def _region(request: Request[Any, Any, Any]) -> str:
    region = request.query_params.get("region") or ""
    return region if PROVINCE.match(region) else ""


@get("/callups/{token:str}", sync_to_thread=True)
def callup_page(request: Request[Any, Any, Any], token: Token) -> Template:
    """Where a call-up's link lands: find a site nearby, or stop call-ups with one button."""
    return page(request, "callup.html", token=token, region=_region(request), stopped=False)


@post("/callups/{token:str}/stop", sync_to_thread=True, status_code=200)
def callup_stop(request: Request[Any, Any, Any], token: Token) -> Template:
    """Stop the call-ups of the donor the link names; other messages stay as they were."""
    state = AppState.of(request)
    with state.db.transaction() as uow:
        svc.stop_callups(uow, state.settings.index_key, token, datetime.now(UTC))
    assert state.audit is not None
    # The link names the donor by its token alone; the audit keeps that a call-up link changed a choice.
    state.audit.record(AuditEvent("callup-link", "update:callups_stopped", None, client_of(request)))
    return page(request, "callup.html", token=token, region="", stopped=True)


handlers = [supply_page, callup_page, callup_stop]
