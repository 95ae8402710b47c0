"""The site finder (/sites), a site's slots and booking form, and the donor's bookings (/me/appointments).

Every page works without JavaScript: the finder searches by province with a plain form, and `near` is
an ordinary field the browser's location may fill in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import Kind
from bloodcert.domain.regions import mainland_provinces
from bloodcert.domain.sites import compass, haversine_km
from bloodcert.errors import AppError, Conflict, NotEligible, NotFound
from bloodcert.services import booking, surveys
from bloodcert.services import sites as svc
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.pages.render import page, words_of
from bloodcert.web.state import AppState

# Ids are positive and fit every database's integer (a larger one is simply not found, never a 500).
RowId = Annotated[int, Parameter(ge=1, le=2**53)]
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
NEAR = re.compile(r"^\s*(-?\d{1,2}(?:\.\d{1,8})?)\s*,\s*(-?\d{1,3}(?:\.\d{1,8})?)\s*$")
PROVINCE = re.compile(r"^\d{2}$")


@dataclass(frozen=True, slots=True)
class SiteCard:
    """One site in the finder, in words."""

    found: svc.FoundSite
    periods: list[str]
    directions: str | None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _near(text: str | None) -> tuple[float, float] | None:
    found = NEAR.match(text or "")
    if not found:
        return None
    lat, lon = float(found[1]), float(found[2])
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _card(
    request: Request[Any, Any, Any], found: svc.FoundSite, day: date, near: tuple[float, float] | None
) -> SiteCard:
    t = words_of(request)
    periods = [f"{a.strftime('%H:%M')}–{b.strftime('%H:%M')}" for a, b in found.row.site.hours_on(day)]
    directions = None
    if near is not None and found.distance_km is not None:
        bearing = t(f"compass_{compass(near, (found.lat, found.lon))}")
        directions = t(
            "sites_away", distance=f"{haversine_km(near, (found.lat, found.lon)):.1f}", bearing=bearing
        )
    return SiteCard(found, periods, directions)


@get("/sites", sync_to_thread=True, name="sites")
def sites_page(request: Request[Any, Any, Any]) -> Template:
    """Find a site by province and, when known, by distance from the donor; open on a chosen day."""
    q = request.query_params
    region = q.get("region") if PROVINCE.match(q.get("region") or "") else None
    today = datetime.now(BEIJING).date()
    day = _day(q.get("open_on")) or today
    near = _near(q.get("near"))
    with AppState.of(request).db.reading() as uow:
        found = svc.find_sites(uow, region=region, near=near, open_on=day, today=today)
    return page(
        request,
        "sites.html",
        cards=[_card(request, f, day, near) for f in found],
        provinces=mainland_provinces(),
        region=region or "",
        day=day,
        near=q.get("near") or "",
    )


def _site_page(
    request: Request[Any, Any, Any], site_id: int, day: date, error: str | None = None
) -> Template:
    with AppState.of(request).db.reading() as uow:
        site, slots = svc.site_slots(uow, site_id, day)
        scores = surveys.published_scores(uow, [site.station_id])
    periods = [f"{a.strftime('%H:%M')}–{b.strftime('%H:%M')}" for a, b in site.site.hours_on(day)]
    return page(
        request,
        "site.html",
        site=site,
        slots=slots,
        day=day,
        periods=periods,
        kinds=list(Kind),
        error=error,
        today=datetime.now(BEIJING).date(),
        score=scores[0] if scores else None,
    )


@get("/sites/{site_id:int}", sync_to_thread=True, name="site")
def site_page(request: Request[Any, Any, Any], site_id: RowId) -> Template:
    """A site's details and its slots on a day, with the booking form."""
    day = _day(request.query_params.get("date")) or datetime.now(BEIJING).date()
    return _site_page(request, site_id, day)


def refusal_text(request: Request[Any, Any, Any], exc: NotEligible) -> str:
    """Why the age limits or the intervals refuse a donation, in the page's words."""
    t = words_of(request)
    codes = {e.code for e in exc.errors}
    if "too_old" in codes or exc.eligible_from is None:
        return t("book_too_old")
    key = "book_too_young" if "too_young" in codes else "book_not_eligible"
    return t(key, day=t.date(date.fromisoformat(exc.eligible_from)))


def _refusal(request: Request[Any, Any, Any], exc: AppError) -> str:
    t = words_of(request)
    if isinstance(exc, NotEligible):
        return refusal_text(request, exc)
    messages = {"slot_full": "book_slot_full", "already_booked": "book_already", "slot_closed": "book_closed"}
    return t(messages.get(exc.slug, "error_generic"))


@post("/sites/{site_id:int}/book", sync_to_thread=True, status_code=303)
def book_submit(request: Request[Any, Any, Any], site_id: RowId, data: FormBody) -> Template | Redirect:
    """Book the chosen slot, then show my bookings; a refusal shows the site again with the reason."""
    principal = donor(request)
    slot_id, kind = str(data.get("slot_id", "")), str(data.get("kind", ""))
    if not slot_id.isdigit() or kind not in {k.value for k in Kind}:
        raise NotFound("no such slot")
    try:
        with AppState.of(request).db.transaction() as uow:
            booking.book(uow, principal.person_ids, int(slot_id), Kind(kind), datetime.now(UTC))
    except (Conflict, NotEligible) as exc:
        day = _day(str(data.get("date", ""))) or datetime.now(BEIJING).date()
        return _site_page(request, site_id, day, _refusal(request, exc))
    return Redirect("/me/appointments", status_code=303)


@get("/me/appointments", sync_to_thread=True, name="appointments")
def appointments_page(request: Request[Any, Any, Any]) -> Template:
    """My bookings, latest first, with the count of missed ones and a cancel button on upcoming ones."""
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        mine = booking.my_appointments(uow, principal.person_ids)
    audit_read(request, principal.actor, "read:appointments")
    return page(request, "appointments.html", mine=mine, today=datetime.now(BEIJING).date(), signed_in=True)


@post("/me/appointments/{appointment_id:int}/cancel", sync_to_thread=True, status_code=303)
def cancel_submit(request: Request[Any, Any, Any], appointment_id: RowId) -> Redirect:
    """Cancel one of my bookings."""
    principal = donor(request)
    with AppState.of(request).db.transaction() as uow:
        booking.cancel(uow, principal.person_ids, appointment_id, datetime.now(UTC))
    return Redirect("/me/appointments", status_code=303)


handlers = [sites_page, site_page, book_submit, appointments_page, cancel_submit]
