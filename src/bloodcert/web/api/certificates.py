"""Public certificate endpoints: verification, the signed trust list, and the status lists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody

from bloodcert.certs.statement import HoursStatementContent
from bloodcert.certs.verify import Verification
from bloodcert.errors import NotFound
from bloodcert.services.certificates import status_list_document, trust_list_document
from bloodcert.web.state import AppState

MAX_QR = 4096


class VerifyIn(msgspec.Struct):
    qr: str


class CertificateOut(msgspec.Struct):
    certificate_no: str
    donated_at: str
    kind: str
    volume_ml: int | None
    units: int | None
    station_name: str
    holder_name: str
    id_number_masked: str
    abo: str
    rhd: str | None


class HonourCardOut(msgspec.Struct):
    holder_name: str  # masked
    highest_award: str | None  # bronze | silver | gold | lifetime
    perks: list[str]  # the perk tiers reached, e.g. "武汉市 一级"
    volunteer_hours: int
    expires_at: str


class PassOut(msgspec.Struct):
    holder_name: str  # masked
    id_number_masked: str
    station_code: str
    site_name: str
    date: str  # the Beijing day the health check was for
    kind: str
    starts_at: str | None  # the booked slot, null for a donor walking in
    expires_at: str


class HoursTableOut(msgspec.Struct):
    table: str  # the conversion table's region, e.g. 渭南市, or 全国（默认）
    donations: int
    hours: int


class HoursStatementOut(msgspec.Struct):
    holder_name: str
    id_number_masked: str
    hours: int
    donations: int
    first_on: str | None  # YYYY-MM-DD
    last_on: str | None
    tables: list[HoursTableOut]
    issued_at: str | None
    expires_at: str


class VerifyOut(msgspec.Struct):
    valid: bool
    reason: str
    certificate: CertificateOut | None
    notes: list[str] = []
    # donation (a certificate) | honour (an honour card) | pass (a donation pass) | hours (a statement)
    type: str = "donation"
    honour: HonourCardOut | None = None  # an honour card's fields, when it is one
    donor_pass: PassOut | None = msgspec.field(default=None, name="pass")  # a pass's fields, when it is one
    hours: HoursStatementOut | None = None  # a volunteer-hours statement's fields, when it is one


def _hours_out(s: HoursStatementContent, issued_at: datetime | None) -> HoursStatementOut:
    return HoursStatementOut(
        s.holder_name,
        s.id_number_masked,
        s.hours,
        s.donations,
        s.first_on.isoformat() if s.first_on else None,
        s.last_on.isoformat() if s.last_on else None,
        [HoursTableOut(t.table, t.donations, t.hours) for t in s.tables],
        issued_at.isoformat() if issued_at else None,
        s.expires_at.isoformat(),
    )


@post("/api/v1/verify", status_code=200, tags=["verify"], sync_to_thread=False)
def verify(request: Request[Any, Any, Any], data: JSONBody[VerifyIn]) -> VerifyOut:
    """Verify a certificate's `BC1:` text: valid, or the reason it is not. Public, no login."""
    state = AppState.of(request)
    result = state.verifier.verify(data.qr[: MAX_QR + 1])
    certificate = None
    if result.valid and result.content is not None:
        c = result.content
        certificate = CertificateOut(
            c.certificate_no,
            c.donated_on.isoformat(),
            c.kind,
            c.volume_ml,
            c.units,
            c.station_name,
            c.holder_name,
            c.id_number_masked,
            c.abo,
            c.rhd,
        )
    honour = None
    if result.honour is not None:
        h = result.honour
        honour = HonourCardOut(
            h.holder_name, h.highest_award, list(h.perks), h.volunteer_hours, h.expires_at.isoformat()
        )
    hours = _hours_out(result.hours, result.issued_at) if result.hours is not None else None
    return VerifyOut(
        result.valid,
        result.reason,
        certificate,
        list(result.notes),
        result.type,
        honour,
        _pass_out(result),
        hours,
    )


def _pass_out(result: Verification) -> PassOut | None:
    p = result.donor_pass
    if p is None:
        return None
    return PassOut(
        p.holder_name,
        p.id_number_masked,
        p.station_code,
        p.site_name,
        p.day.isoformat(),
        p.kind,
        p.starts_at,
        p.expires_at.isoformat(),
    )


@get("/.well-known/bloodcert/trust-list.json", tags=["verify"], sync_to_thread=False)
def trust_list(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The issuer's document-signing keys, signed by the root key; mirrors may serve it as is."""
    state = AppState.of(request)
    with state.db.reading() as uow:
        document = trust_list_document(uow, state.signing, datetime.now(UTC))
    return Response(document, headers={"Cache-Control": "public, max-age=300"})


@get("/.well-known/bloodcert/status/{list_id:str}", tags=["verify"], sync_to_thread=False)
def status_list(request: Request[Any, Any, Any], list_id: FromPath[str]) -> Response[dict[str, Any]]:
    """A W3C Bitstring Status List (revocation), signed by the root key."""
    state = AppState.of(request)
    with state.db.reading() as uow:
        document = status_list_document(
            uow, state.signing, list_id[:16], base_url=state.settings.public_base_url
        )
    if document is None:
        raise NotFound("no such status list")
    return Response(document, headers={"Cache-Control": "public, max-age=60"})
