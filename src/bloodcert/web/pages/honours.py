"""The donor's honours page (/me/honours): awards, progress, volunteer hours, perks and the honour card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get
from litestar.response import Template

from bloodcert.domain.clock import BEIJING
from bloodcert.services import honours as svc
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState


@get("/me/honours", sync_to_thread=True, name="honours")
def honours_page(request: Request[Any, Any, Any]) -> Template:
    """My awards held and pending, what the next one needs, my volunteer hours and the perks they unlock."""
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        mine = svc.my_honours(uow, principal, datetime.now(BEIJING).date())
    audit_read(request, principal.actor, "read:honours")
    return page(request, "honours.html", honours=mine, signed_in=True)
