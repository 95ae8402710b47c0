"""The donor's honours (docs/honours.md): awards held and pending, progress, volunteer hours, honour card."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response, Router, get

from bloodcert.certs.statement_pdf import render_statement_pdf
from bloodcert.domain.clock import BEIJING
from bloodcert.services import honours as svc
from bloodcert.web.api.donor import NO_STORE
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.state import AppState


class AwardOut(msgspec.Struct):
    award: str  # bronze | silver | gold | lifetime
    cycle: str  # YYYY-YYYY
    status: str  # candidate | confirmed


class NextOut(msgspec.Struct):
    award: str
    donations_needed: int


class PerkConditionsOut(msgspec.Struct):
    """A tier is reached when any one of its conditions holds; a condition the tier does not use is null."""

    whole_blood_ml: int | None
    donations: int | None
    volunteer_hours: int | None
    award: str | None  # a confirmed national award at least this high


class PerkTierOut(msgspec.Struct):
    tier: str
    unlocks: list[str]
    any_of: PerkConditionsOut


class RegionPerksOut(msgspec.Struct):
    region: str  # GB/T 2260 prefix of the city or province
    region_name: str
    reached: list[PerkTierOut]
    next: PerkTierOut | None


class HonoursOut(msgspec.Struct):
    awards: list[AwardOut]
    count_toward_next: int
    next: NextOut | None
    volunteer_hours: int
    perks: list[RegionPerksOut]


def _tier(perk: svc.PerkView) -> PerkTierOut:
    rule = perk.rule
    conditions = PerkConditionsOut(
        rule.min_ml if rule else None,
        rule.min_count if rule else None,
        rule.min_hours if rule else None,
        rule.min_award if rule else None,
    )
    return PerkTierOut(perk.tier, list(perk.unlocks), conditions)


@get("/honours", sync_to_thread=True)
def honours_handler(request: Request[Any, Any, Any]) -> HonoursOut:
    """My national awards (奉献奖 / 终身荣誉奖) held and pending, the next one's need, my volunteer hours, and
    the local perk tiers I have reached, what they unlock and the next tier of each city or province."""
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        mine = svc.my_honours(uow, principal, datetime.now(UTC).astimezone(BEIJING).date())
    audit_read(request, principal.actor, "read:honours")
    following = None
    if mine.next_award is not None and mine.donations_needed is not None:
        following = NextOut(mine.next_award, mine.donations_needed)
    return HonoursOut(
        [AwardOut(a.award, a.cycle, a.status) for a in mine.awards],
        mine.count_toward_next,
        following,
        mine.volunteer_hours,
        [
            RegionPerksOut(
                r.region,
                r.region_name,
                [_tier(p) for p in r.reached],
                _tier(r.next_tier) if r.next_tier else None,
            )
            for r in mine.regions
        ],
    )


class HonourCardOut(msgspec.Struct):
    qr: str
    expires_at: str


@get("/honour-card", sync_to_thread=True)
def honour_card_handler(request: Request[Any, Any, Any]) -> HonourCardOut:
    """A freshly signed honour card (献血荣誉卡) to show at a gate; it replaces my previous one."""
    principal = donor(request)
    state = AppState.of(request)
    with state.db.transaction() as uow:
        card = svc.issue_honour_card(uow, principal, state.signing, datetime.now(UTC))
    audit_read(request, principal.actor, "issue:honour-card")
    return HonourCardOut(card.qr, card.content.expires_at.isoformat())


# The columns a volunteer-service registry (全国志愿服务信息系统) imports a batch of service records by.
HOURS_COLUMNS = ("姓名", "证件号码", "服务日期", "服务项目", "服务时长（小时）", "服务地点", "献血编号")
KIND_NAMES = {
    "whole_blood": "无偿献血（全血）",
    "platelets": "无偿献血（单采血小板）",
    "plasma": "无偿献血（血浆）",
}


@get("/volunteer-hours.csv", sync_to_thread=True, media_type="text/csv")
def volunteer_hours_csv(request: Request[Any, Any, Any]) -> Response[bytes]:
    """My donations as volunteer service records, with their hours, as CSV for a volunteer registry."""
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        lines = svc.volunteer_hours_lines(uow, principal)
    audit_read(request, principal.actor, "read:volunteer-hours")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HOURS_COLUMNS)
    for x in lines:
        kind = KIND_NAMES.get(x.kind, x.kind)
        writer.writerow(
            (x.name, x.id_number_masked, x.donated_on.isoformat(), kind, x.hours, x.place, x.donation_no)
        )
    disposition = 'attachment; filename="volunteer-hours.csv"'
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv",
        headers={"Content-Disposition": disposition},
    )


@get("/volunteer-hours.pdf", sync_to_thread=True, media_type="application/pdf")
def volunteer_hours_pdf(request: Request[Any, Any, Any]) -> Response[bytes]:
    """A signed statement of my volunteer hours (公益时证明), as a PDF: the hours by each region's conversion
    table, the donations counted, and a QR code that verifies at /verify and POST /api/v1/verify."""
    principal = donor(request)
    state = AppState.of(request)
    with state.db.transaction() as uow:
        issued = svc.issue_hours_statement(uow, principal, state.signing, datetime.now(UTC))
    audit_read(request, principal.actor, "issue:hours-statement", issued.view.content.serial)
    document = render_statement_pdf(issued.view)
    disposition = f'inline; filename="volunteer-hours-{issued.view.content.serial}.pdf"'
    return Response(document, media_type="application/pdf", headers={"Content-Disposition": disposition})


honours_router = Router(
    path="/api/v1/me",
    route_handlers=[honours_handler, honour_card_handler, volunteer_hours_csv, volunteer_hours_pdf],
    cache_control=NO_STORE,
    tags=["donor"],
    security=[{"donorSession": []}],
)
