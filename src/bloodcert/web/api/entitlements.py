"""The donor's blood-fee waiver entitlements (用血权益): pools per donating province and what was drawn."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Request, Response, get

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.waivers import builtin_rule_book
from bloodcert.services import waivers
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.state import AppState


class ReasonOut(msgspec.Struct):
    code: str
    message: str


class PoolOut(msgspec.Struct):
    pool: str
    unit: str
    unlimited: bool
    entitled: int
    drawn: int
    remaining: int | None
    reasons: list[ReasonOut]


class ProvinceOut(msgspec.Struct):
    province: str
    name: str
    rule: str
    source: str
    effective_from: date
    relatives_covered: list[str]
    pools: list[PoolOut]


class DrawOut(msgspec.Struct):
    province: str
    pool: str
    hospital: str
    transfused_at: date
    recorded_at: datetime
    relationship: str
    waived_ml: int
    waived_fen: int
    reversed: bool


class EntitlementsOut(msgspec.Struct):
    on: date
    provinces: list[ProvinceOut]
    waivers: list[DrawOut]


def entitlements_out(result: waivers.DonorEntitlements) -> EntitlementsOut:
    """The API shape of a donor's entitlements."""
    provinces = [
        ProvinceOut(
            p.province,
            p.name,
            p.rule,
            p.source,
            p.effective_from,
            list(p.covered),
            [
                PoolOut(
                    x.pool,
                    x.unit,
                    x.unlimited,
                    x.entitled,
                    x.drawn,
                    x.remaining,
                    [ReasonOut(r.code, r.message) for r in x.reasons],
                )
                for x in p.pools
            ],
        )
        for p in result.provinces
    ]
    draws = [
        DrawOut(
            d.province,
            d.pool,
            d.hospital,
            d.transfused_on,
            d.created_at,
            d.relationship,
            d.ml,
            d.fen,
            d.reversed,
        )
        for d in result.waivers
    ]
    return EntitlementsOut(result.on, provinces, draws)


def read_entitlements(request: Request[Any, Any, Any]) -> waivers.DonorEntitlements:
    """The signed-in donor's entitlements today (Beijing time); the read is audited."""
    principal = donor(request)
    today = datetime.now(BEIJING).date()
    with AppState.of(request).db.reading() as uow:
        result = waivers.donor_entitlements(uow, builtin_rule_book(), principal.person_ids, today)
    audit_read(request, principal.actor, "read:entitlements")
    return result


@get("/api/v1/me/entitlements", sync_to_thread=True, tags=["donor"], security=[{"donorSession": []}])
def entitlements_handler(request: Request[Any, Any, Any]) -> Response[EntitlementsOut]:
    """My waiver pools in each province where I donated, what is left, and every waiver drawn on them."""
    return Response(entitlements_out(read_entitlements(request)), headers={"Cache-Control": "no-store"})
