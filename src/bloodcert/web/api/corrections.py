"""Correction and back-fill requests over the API (docs/corrections.md): the donor files and follows them
under /api/v1/me/corrections; a station lists and answers its own under /api/v1/station/corrections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import anyio.to_thread
import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import JSONBody, Parameter, QueryParameter

from bloodcert.domain.clock import BEIJING
from bloodcert.services import corrections as svc
from bloodcert.services.sites import decode
from bloodcert.storage.rows import CorrectionRow
from bloodcert.web.api.donor import NO_STORE
from bloodcert.web.auth import audit_read, donor_guard, guarded_donor
from bloodcert.web.clients import client_of
from bloodcert.web.signed import signed_request, signing_station
from bloodcert.web.state import AppState

RowId = Annotated[int, Parameter(ge=1, le=2**53)]
Short = Annotated[str, msgspec.Meta(max_length=64)]
Text = Annotated[str, msgspec.Meta(max_length=1000)]
StatusFilter = Literal["open", "need_info", "resolved", "rejected", "escalated"]


class CorrectionIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["wrong_record", "missing_donation"]
    message: Text
    donation_no: Short | None = None
    field: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    proposed: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    station_code: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    region: Annotated[str, msgspec.Meta(max_length=6)] | None = None
    donated_on: Annotated[str, msgspec.Meta(max_length=10)] | None = None
    site: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    volume_ml: int | None = None
    photo: Annotated[str, msgspec.Meta(max_length=1_400_000)] | None = None


class ReplyIn(msgspec.Struct, forbid_unknown_fields=True):
    message: Text


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    action: Literal["resolved", "rejected", "need_info"]
    message: Text
    donation_no: Short | None = None


class FiledOut(msgspec.Struct):
    id: int
    status: str
    station_code: str
    due_at: str


class MessageOut(msgspec.Struct):
    author: str
    action: str
    message: str
    at: str


class HolderOut(msgspec.Struct):
    name: str
    id_type: str
    id_number_masked: str
    abo: str


class CorrectionOut(msgspec.Struct):
    id: int
    kind: str
    status: str
    station: dict[str, str]
    donation_no: str | None
    field: str | None
    proposed: str | None
    donated_on: str | None
    site: str | None
    due_at: str
    escalated_at: str | None
    resolved_donation_no: str | None
    created_at: str
    has_photo: bool
    messages: list[MessageOut]
    donor: HolderOut | None = None


class CorrectionsOut(msgspec.Struct):
    corrections: list[CorrectionOut]


def _iso(when: datetime | None) -> str | None:
    return when.replace(tzinfo=UTC).astimezone(BEIJING).isoformat() if when else None


def _out(request: svc.Request) -> CorrectionOut:
    r = request.row
    holder = request.holder
    return CorrectionOut(
        id=r.id,
        kind=r.kind,
        status=r.status,
        station={"code": r.station_code, "name": r.station_name},
        donation_no=r.donation_no,
        field=r.field,
        proposed=r.proposed,
        donated_on=r.donated_on.isoformat() if r.donated_on else None,
        site=r.site,
        due_at=_iso(r.due_at) or "",
        escalated_at=_iso(r.escalated_at),
        resolved_donation_no=r.resolved_donation_no,
        created_at=_iso(r.created_at) or "",
        has_photo=r.photo_type is not None,
        # A station's or an administrator's name is theirs to show; a donor is "donor" to the station.
        messages=[
            MessageOut(m.author, m.action, m.message, _iso(m.created_at) or "") for m in request.messages
        ],
        donor=HolderOut(holder.name, holder.id_type, holder.id_number_masked, holder.abo) if holder else None,
    )


def _filed(row: CorrectionRow) -> FiledOut:
    return FiledOut(row.id, row.status, row.station_code, _iso(row.due_at) or "")


# ---- the donor -------------------------------------------------------------------------------------------


def _donor_actor(request: Request[Any, Any, Any]) -> svc.Actor:
    state = AppState.of(request)
    return svc.Actor("donor", guarded_donor(request).actor, client_of(request), state.settings.audit_key)


# A photo of the paper certificate (up to 1 MiB, base64) makes the body larger than a form's.
MAX_BODY = 2 * 1024 * 1024


@post("", status_code=201, sync_to_thread=True, request_max_body_size=MAX_BODY)
def file_correction(request: Request[Any, Any, Any], data: JSONBody[CorrectionIn]) -> FiledOut:
    """File a request: a wrong record (which donation, which field, what it should be) or a missing
    donation (the day, the station or the province, the site, optionally a photo of the paper certificate);
    routed to its station, due in 15 days."""
    state = AppState.of(request)
    with state.db.transaction() as uow:
        row = svc.file_request(
            uow,
            guarded_donor(request),
            msgspec.structs.asdict(data),
            actor=_donor_actor(request),
            now=datetime.now(UTC),
            due_days=state.settings.correction_due_days,
        )
    return _filed(row)


@get("", sync_to_thread=True)
def my_corrections(request: Request[Any, Any, Any]) -> CorrectionsOut:
    """My requests, newest first, each with its status and its conversation."""
    state = AppState.of(request)
    with state.db.transaction() as uow:
        svc.escalate_overdue(uow, datetime.now(UTC), state.settings.audit_key)
        mine = svc.my_requests(uow, guarded_donor(request))
    audit_read(request, guarded_donor(request).actor, "read:corrections")
    return CorrectionsOut([_out(r) for r in mine])


@post("/{correction_id:int}/reply", status_code=200, sync_to_thread=True)
def reply_correction(
    request: Request[Any, Any, Any], correction_id: RowId, data: JSONBody[ReplyIn]
) -> FiledOut:
    """Answer the station's question on one of my requests; it is open again."""
    with AppState.of(request).db.transaction() as uow:
        row = svc.reply(
            uow,
            guarded_donor(request),
            correction_id,
            data.message,
            actor=_donor_actor(request),
            now=datetime.now(UTC),
        )
    return _filed(row)


donor_router = Router(
    path="/api/v1/me/corrections",
    route_handlers=[file_correction, my_corrections, reply_correction],
    guards=[donor_guard],
    cache_control=NO_STORE,
    tags=["donor"],
    security=[{"donorSession": []}],
)


# ---- stations (signed like the donation batch) -------------------------------------------------------------


@get("", sync_to_thread=True)
def station_corrections(
    request: Request[Any, Any, Any],
    status: Annotated[StatusFilter | None, QueryParameter()] = None,
) -> Response[CorrectionsOut]:
    """The calling station's requests (of one status if asked), oldest due first, with the donor (ID
    number masked) and the conversation."""
    state = AppState.of(request)
    with state.db.transaction() as uow:
        key = signing_station(uow, request, signed_request(request, b""))
        svc.escalate_overdue(uow, datetime.now(UTC), state.settings.audit_key)
        found = svc.of_station(uow, key.station_id, status)
    audit_read(request, f"station:{key.station_code}", "read:corrections", status or "all")
    return Response(CorrectionsOut([_out(r) for r in found]), headers={"Cache-Control": "no-store"})


@post("/{correction_id:int}", status_code=200)
async def answer_correction(request: Request[Any, Any, Any], correction_id: RowId) -> Response[CorrectionOut]:
    """Answer one of the calling station's requests: `{"action": "resolved" | "rejected" | "need_info",
    "message", "donation_no"?}`; a resolution names the donation the station reported or corrected."""
    state = AppState.of(request)
    signed = signed_request(request, await request.body())

    def work() -> svc.Request:
        with state.db.transaction() as uow:
            key = signing_station(uow, request, signed)
            body = decode(signed.body, AnswerIn)
            row = svc.station_request(uow, key.station_id, correction_id)
            actor = svc.Actor(
                "station", f"station:{key.station_code}", client_of(request), state.settings.audit_key
            )
            done = svc.answer(
                uow,
                row,
                action=body.action,
                message=body.message,
                donation_no=body.donation_no,
                actor=actor,
                now=datetime.now(UTC),
            )
            return svc.Request(done, uow.corrections.messages_of([done.id])[done.id])

    answered = await anyio.to_thread.run_sync(work)
    return Response(_out(answered), headers={"Cache-Control": "no-store"})


@get("/{correction_id:int}/photo", sync_to_thread=True, media_type="image/jpeg")
def station_photo(request: Request[Any, Any, Any], correction_id: RowId) -> Response[bytes]:
    """The photo of the paper certificate the donor attached to one of the calling station's requests."""
    with AppState.of(request).db.transaction() as uow:
        key = signing_station(uow, request, signed_request(request, b""))
        row = svc.station_request(uow, key.station_id, correction_id)
        media, body = svc.photo(uow, row)
    audit_read(request, f"station:{key.station_code}", "read:correction_photo", f"request {row.id}")
    return Response(body, media_type=media, headers={"Cache-Control": "no-store"})


station_router = Router(
    path="/api/v1/station/corrections",
    route_handlers=[station_corrections, answer_correction, station_photo],
    tags=["station"],
    security=[{"stationSignature": []}],
)
