"""The donor's honours page (/me/honours): awards, progress, volunteer hours, perks and the honour card."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, get
from litestar.response import Template

from bloodcert.domain.clock import BEIJING
from bloodcert.services import honours as svc
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.pages.certificate import big_qr_svg
from bloodcert.web.pages.render import page, words_of
from bloodcert.web.state import AppState


@get("/me/honours", sync_to_thread=True, name="honours")
def honours_page(request: Request[Any, Any, Any]) -> Template:
    """My awards held and pending, what the next one needs, my volunteer hours and the perks they unlock."""
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        mine = svc.my_honours(uow, principal, datetime.now(BEIJING).date())
    audit_read(request, principal.actor, "read:honours")
    return page(request, "honours.html", honours=mine, signed_in=True)


@get("/me/honour-card", sync_to_thread=True, name="honour_card")
def honour_card_page(request: Request[Any, Any, Any]) -> Template:
    """My honour card, full screen for scanning: a fresh card each time, which replaces the previous one."""
    principal = donor(request)
    state = AppState.of(request)
    with state.db.transaction() as uow:
        card = svc.issue_honour_card(uow, principal, state.signing, datetime.now(UTC))
    audit_read(request, principal.actor, "issue:honour-card")
    label = words_of(request)("card_title")
    return page(
        request,
        "honour_card.html",
        card=card.content,
        qr_svg=big_qr_svg(card.qr, label),
        until=card.content.expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
        signed_in=True,
    )
