"""The hospital API: blood-fee waivers at the counter (医院直免), signed like the station API (RFC 9421)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter

from bloodcert import metrics
from bloodcert.domain.waivers import builtin_rule_book
from bloodcert.services import waivers
from bloodcert.web.signed import signed_request
from bloodcert.web.state import AppState

SECURITY: list[dict[str, list[str]]] = [{"hospitalSignature": []}]


class ReasonOut(msgspec.Struct):
    code: str
    message: str


class BasisOut(msgspec.Struct):
    province: str
    pool: str
    rule: str
    unlimited: bool
    remaining_before_ml: int | None
    remaining_before_fen: int | None
    waived_ml: int | None = None
    waived_fen: int | None = None
    paying_station: str | None = None


class QuoteOut(msgspec.Struct):
    eligible: bool
    waivable_fen: int
    waivable_ml: int
    unlimited: bool
    reasons: list[ReasonOut]
    basis: list[BasisOut]


class WaiverOut(msgspec.Struct):
    waiver_id: str
    invoice_no: str
    relationship: str
    transfused_at: date
    billed_fen: int
    waived_fen: int
    waived_ml: int
    unlimited: bool
    created_at: datetime
    reversed_at: datetime | None
    basis: list[BasisOut]


class WaiverListOut(msgspec.Struct):
    waivers: list[WaiverOut]


def _context(request: Request[Any, Any, Any]) -> tuple[AppState, waivers.Context]:
    state = AppState.of(request)
    ctx = waivers.Context(
        book=builtin_rule_book(),
        index_key=state.settings.index_key,
        audit_key=state.settings.audit_key,
        window_s=state.settings.signature_window_s,
        sink=state.audit,
        client=request.client.host if request.client else None,
    )
    return state, ctx


def _basis(b: waivers.Basis, drawn: bool) -> BasisOut:
    out = BasisOut(b.province, b.pool, b.rule, b.unlimited, b.remaining_before_ml, b.remaining_before_fen)
    if drawn:
        out.waived_ml, out.waived_fen, out.paying_station = b.ml, b.fen, b.station
    return out


def _waiver(w: waivers.Waiver) -> WaiverOut:
    return WaiverOut(
        w.waiver_id,
        w.invoice_no,
        w.relationship,
        w.transfused_on,
        w.billed_fen,
        w.waived_fen,
        w.waived_ml,
        w.unlimited,
        w.created_at,
        w.reversed_at,
        [_basis(b, True) for b in w.basis],
    )


NO_STORE = {"Cache-Control": "no-store"}


@post(
    "/api/v1/hospital/waivers/quote",
    status_code=200,
    tags=["hospital"],
    security=SECURITY,
)
async def quote_waiver(request: Request[Any, Any, Any]) -> Response[QuoteOut]:
    """What a claim with this body would waive; changes nothing."""
    state, ctx = _context(request)
    signed = signed_request(request, await request.body())
    q = await anyio.to_thread.run_sync(waivers.quote, state.db, ctx, signed)
    reasons = [ReasonOut(r.code, r.message) for r in q.reasons]
    out = QuoteOut(
        q.eligible, q.waivable_fen, q.waivable_ml, q.unlimited, reasons, [_basis(b, False) for b in q.basis]
    )
    return Response(out, headers=NO_STORE)


@post(
    "/api/v1/hospital/waivers",
    status_code=201,
    tags=["hospital"],
    security=SECURITY,
)
async def claim_waiver(request: Request[Any, Any, Any]) -> Response[WaiverOut]:
    """Waive the fee; 201 for a new waiver, 200 when the same invoice and body were claimed before."""
    state, ctx = _context(request)
    signed = signed_request(request, await request.body())
    claimed = await anyio.to_thread.run_sync(waivers.claim, state.db, ctx, signed)
    metrics.observe_waiver("claimed" if claimed.created else "replayed")
    return Response(_waiver(claimed.waiver), status_code=201 if claimed.created else 200, headers=NO_STORE)


@post(
    "/api/v1/hospital/waivers/{waiver_id:str}/reverse",
    status_code=200,
    tags=["hospital"],
    security=SECURITY,
)
async def reverse_waiver(request: Request[Any, Any, Any], waiver_id: FromPath[str]) -> Response[WaiverOut]:
    """Reverse a waiver (a cancelled bill): what it drew goes back to the pools."""
    state, ctx = _context(request)
    signed = signed_request(request, await request.body())
    reversed_waiver = await anyio.to_thread.run_sync(waivers.reverse, state.db, ctx, signed, waiver_id)
    metrics.observe_waiver("reversed")
    return Response(_waiver(reversed_waiver), headers=NO_STORE)


@get("/api/v1/hospital/waivers", tags=["hospital"], sync_to_thread=True, security=SECURITY)
def list_waivers(
    request: Request[Any, Any, Any],
    since: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
    until: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
) -> Response[WaiverListOut]:
    """The calling hospital's waivers recorded between two days (Beijing time), for reconciliation."""
    state, ctx = _context(request)
    found = waivers.list_waivers(state.db, ctx, signed_request(request, b""), since, until)
    return Response(WaiverListOut([_waiver(w) for w in found]), headers=NO_STORE)


routes = [quote_waiver, claim_waiver, reverse_waiver, list_waivers]
