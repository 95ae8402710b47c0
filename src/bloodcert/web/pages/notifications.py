"""The donor's messages (/me/inbox) and what they want to be told, and how (/me/notifications)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from bloodcert.domain.notifications import Channel, Preferences, Topic
from bloodcert.domain.regions import is_known_region, mainland_provinces, prefectures
from bloodcert.services import notifications as svc
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.pages.render import lang_of, page
from bloodcert.web.state import AppState

RowId = Annotated[int, Parameter(ge=1, le=2**53)]
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
PHONE = re.compile(r"^1[3-9]\d{9}$")
CHOOSABLE = [t for t in Topic if t is not Topic.SECURITY] + [Topic.SECURITY]


@get("/me/inbox", sync_to_thread=True, name="inbox")
def inbox_page(request: Request[Any, Any, Any]) -> Template:
    """My messages, newest first, with how far each went through SMS, WeChat or Alipay."""
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        entries = svc.inbox(uow, principal.person_ids, lang_of(request))
    audit_read(request, principal.actor, "read:notifications")
    unread = sum(1 for e in entries if not e.read)
    return page(request, "inbox.html", entries=entries, unread=unread, signed_in=True)


@post("/me/inbox/read", sync_to_thread=True, status_code=303)
def mark_read_submit(request: Request[Any, Any, Any], data: FormBody) -> Redirect:
    """Mark one message (`id`) or all of them read."""
    principal = donor(request)
    raw = str(data.get("id", ""))
    notification_id = int(raw) if raw.isdigit() and 0 < int(raw) <= 2**53 else None
    with AppState.of(request).db.transaction() as uow:
        svc.mark_read(uow, principal.person_ids, notification_id, datetime.now(UTC))
    return Redirect("/me/inbox", status_code=303)


def _prefs_page(
    request: Request[Any, Any, Any],
    prefs: Preferences,
    linked: dict[str, bool],
    *,
    saved: bool = False,
    error: str | None = None,
) -> Template:
    policy = AppState.of(request).settings.notify
    return page(
        request,
        "notification_prefs.html",
        prefs=prefs,
        topics=CHOOSABLE,
        channels=list(Channel),
        linked=linked,
        provinces=[(p, prefectures(p.code[:2])) for p in mainland_provinces()],
        quiet=(policy.quiet_start.strftime("%H:%M"), policy.quiet_end.strftime("%H:%M")),
        cap=policy.daily_cap,
        saved=saved,
        error=error,
        signed_in=True,
    )


@get("/me/notifications", sync_to_thread=True, name="notification_prefs")
def prefs_page(request: Request[Any, Any, Any]) -> Template:
    """Which messages I want, through which channels; my SMS number and where I live."""
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        prefs, linked = svc.settings_of(uow, min(principal.person_ids))
    audit_read(request, principal.actor, "read:notification_prefs")
    return _prefs_page(request, prefs, linked, saved=request.query_params.get("saved") == "1")


def _wanted(data: dict[str, Any], home: str | None, phone: str | None) -> Preferences:
    choices = {
        topic: frozenset(c for c in Channel if data.get(f"c_{topic.value}_{c.value}") == "on")
        for topic in Topic
    }
    return Preferences(choices, phone, home)


@post("/me/notifications", sync_to_thread=True, status_code=303)
def prefs_submit(request: Request[Any, Any, Any], data: FormBody) -> Template | Redirect:
    """Save my choices; a malformed phone number shows the form again with the reason."""
    principal = donor(request)
    phone = re.sub(r"[\s-]", "", str(data.get("phone", ""))) or None
    home = str(data.get("home_region", "")) or None
    home = home if home and len(home) == 6 and is_known_region(home) else None
    wanted = _wanted(data, home, phone)
    if phone is not None and not PHONE.match(phone):
        with AppState.of(request).db.reading() as uow:
            _, linked = svc.settings_of(uow, min(principal.person_ids))
        return _prefs_page(request, wanted, linked, error="prefs_phone_bad")
    with AppState.of(request).db.transaction() as uow:
        svc.save_preferences(uow, min(principal.person_ids), wanted, datetime.now(UTC))
    audit_read(request, principal.actor, "update:notification_prefs")
    return Redirect("/me/notifications?saved=1", status_code=303)


handlers = [inbox_page, mark_read_submit, prefs_page, prefs_submit]
