"""Donor API (docs/donor-api.md): login, captcha, logout, and the donor's own history and certificates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody, QueryParameter

from bloodcert.certs.render import CertificateView
from bloodcert.domain.clock import BEIJING
from bloodcert.errors import NotFound
from bloodcert.services import donor_login, replica_reads, sessions
from bloodcert.services import history as svc
from bloodcert.services.donor_login import Credentials
from bloodcert.web.auth import audit_read, donor, donor_and, donor_cookie, donor_log_out, login_context
from bloodcert.web.security import json_only
from bloodcert.web.state import AppState

DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
REGION = r"^[0-9]{2}([0-9]{2}){0,2}$"
Short = Annotated[str, msgspec.Meta(max_length=64)]
Name = Annotated[str, msgspec.Meta(max_length=100)]


class LoginIn(msgspec.Struct):
    id_type: Short
    id_number: Short
    name: Name
    donation_no: Short
    captcha_id: Short | None = None
    captcha_answer: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class TokenOut(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


class CaptchaOut(msgspec.Struct):
    captcha_id: str
    image: str


class SummaryOut(msgspec.Struct):
    count: int
    whole_blood_ml: int
    platelet_units: int
    plasma_ml: int
    first_at: str | None
    last_at: str | None


class MeOut(msgspec.Struct):
    name: str
    id_type: str
    id_number_masked: str
    abo: str
    rhd: str | None
    under_review: bool
    summary: SummaryOut


class StationOut(msgspec.Struct):
    code: str
    name: str


class SiteOut(msgspec.Struct):
    name: str
    type: str
    region: str
    region_name: str


class DonationOut(msgspec.Struct):
    certificate_no: str | None
    donation_no: str
    donated_at: str
    kind: str
    volume_ml: int | None
    units: int | None
    station: StationOut
    site: SiteOut
    test_result: str
    under_review: bool


class GroupOut(msgspec.Struct):
    key: str
    label: str
    count: int
    whole_blood_ml: int
    platelet_units: int
    plasma_ml: int


class HistoryOut(msgspec.Struct):
    summary: SummaryOut
    donations: list[DonationOut]
    groups: list[GroupOut]


class CertificateOut(msgspec.Struct):
    certificate_no: str
    status: str
    donation_no: str
    donated_at: str
    kind: str
    volume_ml: int | None
    units: int | None
    station: StationOut
    site_name: str
    holder_name: str
    id_number_masked: str
    abo: str
    rhd: str | None
    qr: str


def _iso(when: datetime | None) -> str | None:
    return when.replace(tzinfo=UTC).astimezone(BEIJING).isoformat() if when else None


def _summary(s: svc.Summary) -> SummaryOut:
    return SummaryOut(
        s.count, s.whole_blood_ml, s.platelet_units, s.plasma_ml, _iso(s.first_at), _iso(s.last_at)
    )


@post("/login", status_code=200, sync_to_thread=True, guards=[json_only])
def login_handler(request: Request[Any, Any, Any], data: JSONBody[LoginIn]) -> Response[TokenOut]:
    """Log in with ID type + ID number + name + any one donation number; a captcha after 3 failures."""
    creds = Credentials(
        data.id_type, data.id_number, data.name, data.donation_no, data.captcha_id, data.captcha_answer
    )
    with AppState.of(request).db.transaction() as uow:
        outcome = donor_login.log_in(uow, login_context(request), creds)
    if outcome.grant is None:
        raise donor_login.refusal(outcome)
    grant = outcome.grant
    return Response(TokenOut(grant.token, grant.expires_in), cookies=[donor_cookie(request, grant)])


@post("/captcha", status_code=200, sync_to_thread=True)
def captcha_handler(request: Request[Any, Any, Any]) -> CaptchaOut:
    """A new single-use captcha that expires in 120 s (a client keeps only its newest few)."""
    with AppState.of(request).db.transaction() as uow:
        issued = sessions.issue_captcha(uow, login_context(request))
    return CaptchaOut(issued.captcha_id, issued.image)


@post("/logout", status_code=204, sync_to_thread=True)
def logout_handler(request: Request[Any, Any, Any]) -> Response[None]:
    """End the session on the server; the token is dead from now on."""
    return Response(None, status_code=204, cookies=[donor_log_out(request)])


# The donor's reads run on the event loop: a few indexed queries on the worker's own connection cost less
# than handing them to a thread.
@get("", sync_to_thread=False)
def me_handler(request: Request[Any, Any, Any]) -> MeOut:
    """Who I am (masked) and my lifetime totals."""
    principal = donor(request)
    me = replica_reads.read(AppState.of(request).db, principal, lambda reads: svc.me(reads, principal))
    audit_read(request, principal.actor, "read:me")
    return MeOut(
        me.name, me.id_type, me.id_number_masked, me.abo, me.rhd, me.under_review, _summary(me.summary)
    )


@get("/donations", sync_to_thread=False)
def donations_handler(
    request: Request[Any, Any, Any],
    since: Annotated[str | None, QueryParameter(name="from", format="date", pattern=DATE)] = None,
    until: Annotated[str | None, QueryParameter(name="to", format="date", pattern=DATE)] = None,
    region: Annotated[str | None, QueryParameter(pattern=REGION, description="GB/T 2260 prefix")] = None,
    group_by: Annotated[Literal["year", "province"] | None, QueryParameter()] = None,
) -> HistoryOut:
    """My donations, newest first, filtered by date and region prefix, optionally grouped."""
    filters = svc.parse_filters(since, until, region, group_by)
    principal, result = donor_and(
        request, lambda reads, token, now: svc.my_history(reads, token, now, filters)
    )
    audit_read(request, principal.actor, "read:donations")
    return HistoryOut(
        _summary(result.summary),
        [_donation(r, result.under_review) for r in result.donations],
        [
            GroupOut(g.key, g.label, g.count, g.whole_blood_ml, g.platelet_units, g.plasma_ml)
            for g in result.groups
        ],
    )


def _donation(row: Any, under_review: bool) -> DonationOut:
    return DonationOut(
        certificate_no=row.certificate_no,
        donation_no=row.donation_no,
        donated_at=svc.local_time(row).isoformat(),
        kind=row.kind,
        volume_ml=row.volume_ml,
        units=row.units,
        station=StationOut(row.station_code, row.station_name),
        site=SiteOut(row.site_name, row.site_type, row.site_region, svc.region_name(row.site_region)),
        test_result=row.test_result,
        under_review=under_review,
    )


@get("/certificates/{certificate_no:str}")
async def certificate_handler(
    request: Request[Any, Any, Any], certificate_no: FromPath[str]
) -> Response[Any]:
    """One of my certificates as JSON (with its `BC1:` QR text), or rendered: append .svg or .pdf."""
    number, _, fmt = certificate_no.partition(".")
    principal = donor(request)
    db = AppState.of(request).db
    cert = replica_reads.read(db, principal, lambda reads: svc.certificate(reads, principal, number[:20]))
    audit_read(request, principal.actor, "read:certificate", number)
    if fmt in ("svg", "pdf"):
        return await _rendered(AppState.of(request), cert, fmt)
    if fmt:
        raise NotFound("no such certificate")
    c = cert.content
    return Response(
        CertificateOut(
            c.certificate_no,
            cert.status,
            c.donation_no,
            cert.donated_at.isoformat(),
            c.kind,
            c.volume_ml,
            c.units,
            StationOut(c.station_code, c.station_name),
            cert.site_name,
            c.holder_name,
            c.id_number_masked,
            c.abo,
            c.rhd,
            cert.qr,
        )
    )


async def _rendered(state: AppState, cert: svc.DonorCertificate, fmt: str) -> Response[Any]:
    # Drawing takes tens of milliseconds (a PDF much more): cached by content, off the event loop.
    view = CertificateView.of(cert.content, site_name=cert.site_name, qr=cert.qr, status=cert.status)
    assert state.renders is not None
    document = await state.renders.render(view, fmt)
    if fmt == "svg":
        return Response(document, media_type="image/svg+xml")
    disposition = f'inline; filename="certificate-{view.certificate_no}.pdf"'
    return Response(document, media_type="application/pdf", headers={"Content-Disposition": disposition})


NO_STORE = CacheControlHeader(no_store=True)

auth_router = Router(
    path="/api/v1/auth",
    route_handlers=[login_handler, captcha_handler, logout_handler],
    cache_control=NO_STORE,
    tags=["donor"],
)
me_router = Router(
    path="/api/v1/me",
    route_handlers=[me_handler, donations_handler, certificate_handler],
    cache_control=NO_STORE,
    tags=["donor"],
    security=[{"donorSession": []}],
)
