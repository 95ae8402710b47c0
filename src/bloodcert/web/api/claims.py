"""Online claims and registered relatives (docs/online-claims.md): the donor's multipart uploads and
lists, the documents behind random tokens, and the stations' signed review of their shares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.datastructures import CacheControlHeader, UploadFile
from litestar.params import FromPath, QueryParameter

from bloodcert.domain.claims import MAX_FILE_BYTES, MAX_FILES
from bloodcert.domain.waivers import builtin_rule_book
from bloodcert.errors import UnsupportedMediaType, ValidationFailed
from bloodcert.services import claims as svc
from bloodcert.services import relatives as rel
from bloodcert.services.relatives import Actor
from bloodcert.services.uploads import CLAIM_KINDS, Document, Upload
from bloodcert.storage.repositories.claims import FileMeta
from bloodcert.web.auth import audit_read, donor_guard, guarded_donor
from bloodcert.web.clients import client_of
from bloodcert.web.signed import signed_request, signing_station
from bloodcert.web.state import AppState

# Five files of 10 MiB and the form around them; one proof document and its form.
CLAIM_BODY = MAX_FILES * MAX_FILE_BYTES + 64 * 1024
RELATIVE_BODY = MAX_FILE_BYTES + 64 * 1024
NO_STORE = CacheControlHeader(no_store=True)


class DocumentOut(msgspec.Struct):
    kind: str
    media_type: str
    size: int
    url: str
    uploaded_at: datetime


class RelativeOut(msgspec.Struct):
    id: str
    name: str
    id_type: str
    id_number_masked: str
    relationship: str
    status: str
    message: str | None
    station_code: str
    created_at: datetime
    decided_at: datetime | None
    documents: list[DocumentOut]


class RelativesOut(msgspec.Struct):
    relatives: list[RelativeOut]


class CreatedOut(msgspec.Struct):
    id: str
    status: str


class ShareOut(msgspec.Struct):
    station_code: str
    station_name: str
    province: str
    status: str
    planned_ml: int
    planned_fen: int
    approved_ml: int | None
    approved_fen: int | None
    payout_reference: str | None
    decided_at: datetime | None


class EventOut(msgspec.Struct):
    at: datetime
    actor: str
    kind: str
    station_code: str | None
    message: str | None


class ItemOut(msgspec.Struct):
    component: str
    volume_ml: int | None
    units: int | None
    amount_fen: int


class ClaimOut(msgspec.Struct):
    id: str
    status: str
    beneficiary: str
    relationship: str
    patient_name: str | None
    hospital_code: str | None
    hospital_name: str
    hospital_region: str
    invoice_no: str
    transfused_at: date
    items: list[ItemOut]
    billed_fen: int
    created_at: datetime
    due_at: datetime
    overdue: bool
    escalated_at: datetime | None
    shares: list[ShareOut]
    messages: list[EventOut]
    documents: list[DocumentOut]


class ClaimsOut(msgspec.Struct):
    claims: list[ClaimOut]


class QueueItemOut(msgspec.Struct):
    claim_id: str
    share: ShareOut
    claim: ClaimOut


class QueueOut(msgspec.Struct):
    shares: list[QueueItemOut]


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


class QuoteOut(msgspec.Struct):
    eligible: bool
    waivable_fen: int
    waivable_ml: int
    unlimited: bool
    reasons: list[ReasonOut]
    basis: list[BasisOut]


# ---- shapes


def _documents(files: Sequence[FileMeta], base: str) -> list[DocumentOut]:
    return [DocumentOut(f.kind, f.media_type, f.size, f"{base}/{f.token}", f.created_at) for f in files]


def relative_out(r: rel.RelativeView) -> RelativeOut:
    """The API shape of a registered relative."""
    return RelativeOut(
        r.id,
        r.name,
        r.id_type,
        r.id_number_masked,
        r.relationship,
        r.status,
        r.message,
        r.station_code,
        r.created_at,
        r.decided_at,
        _documents(r.documents, "/api/v1/me/documents"),
    )


def _share_out(s: svc.ShareView) -> ShareOut:
    return ShareOut(
        s.station_code,
        s.station_name,
        s.province,
        s.status,
        s.planned_ml,
        s.planned_fen,
        s.approved_ml,
        s.approved_fen,
        s.payout_reference,
        s.decided_at,
    )


def claim_out(c: svc.ClaimView, documents_base: str = "/api/v1/me/documents") -> ClaimOut:
    """The API shape of a claim (documents linked under `documents_base`)."""
    return ClaimOut(
        c.id,
        c.status,
        c.beneficiary,
        c.relationship,
        c.patient_name,
        c.hospital_code,
        c.hospital_name,
        c.hospital_region,
        c.invoice_no,
        c.transfused_on,
        [ItemOut(**i) for i in c.items],
        c.billed_fen,
        c.created_at,
        c.due_at,
        c.overdue,
        c.escalated_at,
        [_share_out(s) for s in c.shares],
        [EventOut(e.at, e.actor, e.kind, e.station_code, e.message) for e in c.events],
        _documents(c.documents, documents_base),
    )


def document_response(doc: Document, *, no_store: bool = False) -> Response[bytes]:
    """A stored document, never sniffed (nosniff is on every response), named by its kind; `no_store` where
    the router does not already forbid caching."""
    headers = {"Content-Disposition": f'inline; filename="{doc.filename}"'}
    if no_store:
        headers["Cache-Control"] = "no-store"
    return Response(doc.content, media_type=doc.meta.media_type, headers=headers)


# ---- the donor


def actor_of(request: Request[Any, Any, Any], actor: str) -> Actor:
    """Who acts, with the keys and the clock of the claims service."""
    settings = AppState.of(request).settings
    return Actor(actor, client_of(request), settings.index_key, settings.audit_key, svc.now())


def rules(request: Request[Any, Any, Any]) -> svc.Rules:
    """The waiver rules, the holiday calendar and the review period of the settings."""
    settings = AppState.of(request).settings
    return svc.rules_of(builtin_rule_book(), settings.holiday_calendar, settings.claim_due_working_days)


async def read_form(
    request: Request[Any, Any, Any], json_part: str, *, files_optional: bool = False
) -> tuple[bytes, list[Upload], str]:
    """A multipart body: the JSON (or text) part `json_part`, the file parts, and any `message` part.
    With `files_optional` (a page's form), a form without files may come URL-encoded."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if files_optional and media == "application/x-www-form-urlencoded":
        form = await request.form()
        message = form.get("message")
        return b"", [], message if isinstance(message, str) else ""
    if media != "multipart/form-data":
        raise UnsupportedMediaType("send the body as multipart/form-data")
    form = await request.form()
    part = form.get(json_part)
    if isinstance(part, UploadFile):
        part = (await part.read()).decode("utf-8", "replace")
    uploads = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name not in (*CLAIM_KINDS, "proof") or name == json_part:
                raise ValidationFailed(f"unexpected file part {name[:40]!r}")
            content = await value.read()
            if not value.filename and not content:
                continue  # a file input of a page form left empty
            uploads.append(Upload(name, value.filename or "", content))
    message = form.get("message")
    return (part or "").encode(), uploads, message if isinstance(message, str) else ""


@post("/relatives", status_code=201, request_max_body_size=RELATIVE_BODY)
async def register_relative(request: Request[Any, Any, Any]) -> CreatedOut:
    """Register a relative: a `relative` part (JSON) and the proof of kinship as the file part `proof`."""
    body, files, _ = await read_form(request, "relative")
    me = guarded_donor(request)

    def work() -> rel.RelativeView:
        with AppState.of(request).db.transaction() as uow:
            return rel.register(uow, actor_of(request, me.actor), me.person_ids, body, files)

    view = await anyio.to_thread.run_sync(work)
    return CreatedOut(view.id, view.status)


@get("/relatives", sync_to_thread=True)
def list_relatives(request: Request[Any, Any, Any]) -> RelativesOut:
    """My registered relatives and where their review stands."""
    with AppState.of(request).db.reading() as uow:
        found = rel.of_donor(uow, guarded_donor(request).person_ids)
    audit_read(request, guarded_donor(request).actor, "read:relatives")
    return RelativesOut([relative_out(r) for r in found])


@delete("/relatives/{relative_id:str}", status_code=204, sync_to_thread=True)
def remove_relative(request: Request[Any, Any, Any], relative_id: FromPath[str]) -> None:
    """Remove a relative; waivers already drawn for them stay."""
    me = guarded_donor(request)
    with AppState.of(request).db.transaction() as uow:
        rel.remove(uow, actor_of(request, me.actor), me.person_ids, relative_id)


@post("/relatives/{relative_id:str}/answer", request_max_body_size=RELATIVE_BODY)
async def answer_relative(request: Request[Any, Any, Any], relative_id: FromPath[str]) -> RelativeOut:
    """Answer the station's request for more: a `message` part and, if asked, another `proof`."""
    _, files, message = await read_form(request, "message")
    me = guarded_donor(request)

    def work() -> rel.RelativeView:
        with AppState.of(request).db.transaction() as uow:
            return rel.answer(uow, actor_of(request, me.actor), me.person_ids, relative_id, message, files)

    return relative_out(await anyio.to_thread.run_sync(work))


@post("/claims/quote", status_code=200)
async def quote_claim(request: Request[Any, Any, Any]) -> QuoteOut:
    """What a claim with this body (the `claim` part's JSON) would be paid if every station approved."""
    me = guarded_donor(request)
    body = await request.body()

    def work() -> Any:
        with AppState.of(request).db.reading() as uow:
            return svc.quote(uow, rules(request), me.person_ids, me.under_review, body)

    q = await anyio.to_thread.run_sync(work)
    basis = [
        BasisOut(b.province, b.pool, b.rule, b.unlimited, b.remaining_before_ml, b.remaining_before_fen)
        for b in q.basis
    ]
    reasons = [ReasonOut(r.code, r.message) for r in q.reasons]
    return QuoteOut(q.eligible, q.waivable_fen, q.waivable_ml, q.unlimited, reasons, basis)


class FiledShareOut(msgspec.Struct):
    station_code: str
    province: str
    status: str


class FiledOut(msgspec.Struct):
    id: str
    status: str
    due_at: datetime
    shares: list[FiledShareOut]


@post("/claims", status_code=201, request_max_body_size=CLAIM_BODY)
async def file_claim(request: Request[Any, Any, Any]) -> FiledOut:
    """File a claim: a `claim` part (JSON) and the files `invoice` and `itemised_bill` (PDF, JPEG or PNG)."""
    body, files, _ = await read_form(request, "claim")
    me = guarded_donor(request)

    def work() -> svc.ClaimView:
        with AppState.of(request).db.transaction() as uow:
            who = actor_of(request, me.actor)
            return svc.file_claim(uow, who, rules(request), me.person_ids, me.under_review, body, files)

    view = await anyio.to_thread.run_sync(work)
    shares = [FiledShareOut(s.station_code, s.province, s.status) for s in view.shares]
    return FiledOut(view.id, view.status, view.due_at, shares)


@get("/claims", sync_to_thread=True)
def list_claims(request: Request[Any, Any, Any]) -> ClaimsOut:
    """My claims, newest first, with status, shares, messages, documents and deadlines."""
    with AppState.of(request).db.reading() as uow:
        found = svc.of_donor(uow, guarded_donor(request).person_ids)
    audit_read(request, guarded_donor(request).actor, "read:claims")
    return ClaimsOut([claim_out(c) for c in found])


@post("/claims/{claim_id:str}/answer", request_max_body_size=CLAIM_BODY)
async def answer_claim(request: Request[Any, Any, Any], claim_id: FromPath[str]) -> ClaimOut:
    """Answer a station's request for more: a `message` part and any further documents."""
    _, files, message = await read_form(request, "message")
    me = guarded_donor(request)

    def work() -> svc.ClaimView:
        with AppState.of(request).db.transaction() as uow:
            return svc.answer(uow, actor_of(request, me.actor), me.person_ids, claim_id, message, files)

    return claim_out(await anyio.to_thread.run_sync(work))


@get("/documents/{token:str}", sync_to_thread=True)
def my_document(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[bytes]:
    """One of my uploaded documents (a claim's or a relative's proof); the read is audited."""
    with AppState.of(request).db.reading() as uow:
        doc = svc.donor_document(uow, guarded_donor(request).person_ids, token)
    audit_read(request, guarded_donor(request).actor, "read:document", f"{doc.meta.kind} {doc.meta.id}")
    return document_response(doc)


donor_router = Router(
    path="/api/v1/me",
    route_handlers=[
        register_relative,
        list_relatives,
        remove_relative,
        answer_relative,
        quote_claim,
        file_claim,
        list_claims,
        answer_claim,
        my_document,
    ],
    guards=[donor_guard],
    cache_control=NO_STORE,
    tags=["donor"],
    security=[{"donorSession": []}],
)


# ---- the stations (signed like the donation batch)


@get("", sync_to_thread=True)
def station_claims(
    request: Request[Any, Any, Any],
    status: Annotated[str | None, QueryParameter(pattern="^(submitted|approved|rejected|need_info)$")] = None,
    overdue: Annotated[bool, QueryParameter(description="only shares past their due date")] = False,
) -> QueueOut:
    """The calling station's shares of claims, soonest due first (`status`, or only `overdue` ones)."""
    with AppState.of(request).db.transaction() as uow:
        key = signing_station(uow, request, signed_request(request, b""))
        items = svc.queue(uow, svc.Scope(key.station_id), status=status, only_overdue=overdue)
    audit_read(request, f"station:{key.station_code}", "read:claims", f"{len(items)} shares")
    base = "/api/v1/station/claims/documents"
    return QueueOut([QueueItemOut(i.claim.id, _share_out(i.share), claim_out(i.claim, base)) for i in items])


@get("/documents/{token:str}", sync_to_thread=True)
def station_document(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[bytes]:
    """A document of a claim the calling station reviews; the read is audited."""
    with AppState.of(request).db.transaction() as uow:
        key = signing_station(uow, request, signed_request(request, b""))
        doc = svc.station_document(uow, key.station_id, token)
    audit_read(request, f"station:{key.station_code}", "read:document", f"{doc.meta.kind} {doc.meta.id}")
    return document_response(doc)


@post("/{claim_id:str}/decision", status_code=200)
async def decide_share(request: Request[Any, Any, Any], claim_id: FromPath[str]) -> QueueItemOut:
    """Decide the calling station's share: `{"decision": "approve|reject|need_info", "message",
    "payout_reference"?}`; an approval draws on the waiver ledger."""
    signed = signed_request(request, await request.body())

    def work() -> svc.QueueItem:
        with AppState.of(request).db.transaction() as uow:
            key = signing_station(uow, request, signed)
            try:
                data = msgspec.json.decode(signed.body)
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise ValidationFailed("the body is not valid JSON") from exc
            who = actor_of(request, f"station:{key.station_code}")
            return svc.decide(uow, who, rules(request), key.station_id, claim_id, data)

    item = await anyio.to_thread.run_sync(work)
    base = "/api/v1/station/claims/documents"
    return QueueItemOut(item.claim.id, _share_out(item.share), claim_out(item.claim, base))


station_router = Router(
    path="/api/v1/station/claims",
    route_handlers=[station_claims, station_document, decide_share],
    cache_control=NO_STORE,
    tags=["station"],
    security=[{"stationSignature": []}],
)


# ---- the OpenAPI description of the bodies read by hand (multipart forms, the signed decision)

_FILE = {"type": "string", "format": "binary", "description": "PDF, JPEG or PNG, at most 10 MiB"}
_ITEM = {
    "type": "object",
    "required": ["component", "amount_fen"],
    "properties": {
        "component": {
            "type": "string",
            "enum": ["red_cells", "whole_blood", "plasma", "platelets", "cryoprecipitate"],
        },
        "volume_ml": {"type": ["integer", "null"]},
        "units": {"type": ["integer", "null"]},
        "amount_fen": {"type": "integer"},
    },
}
CLAIM_PART = {
    "type": "object",
    "required": ["beneficiary", "invoice_no", "transfused_at", "items"],
    "properties": {
        "beneficiary": {"type": "string", "description": "`self` or the id of an approved relative"},
        "hospital_code": {"type": "string", "description": "A registered hospital; or name and region"},
        "hospital_name": {"type": "string", "maxLength": 100},
        "hospital_region": {"type": "string", "pattern": "^[0-9]{6}$"},
        "invoice_no": {"type": "string", "maxLength": 64},
        "transfused_at": {"type": "string", "format": "date"},
        "items": {"type": "array", "items": _ITEM},
    },
}
RELATIVE_PART = {
    "type": "object",
    "required": ["name", "id_type", "id_number", "relationship"],
    "properties": {
        "name": {"type": "string"},
        "id_type": {"type": "string"},
        "id_number": {"type": "string"},
        "relationship": {
            "type": "string",
            "enum": ["spouse", "parent", "child", "sibling", "grandparent", "spouse_parent"],
        },
    },
}
DECISION = {
    "type": "object",
    "required": ["decision"],
    "properties": {
        "decision": {"type": "string", "enum": ["approve", "reject", "need_info"]},
        "message": {"type": "string", "maxLength": 1000, "description": "Required unless approving"},
        "payout_reference": {"type": "string", "maxLength": 64, "description": "The bank transfer's id"},
    },
}


def _multipart(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/api/v1/me/relatives", "post"): _multipart(
        {"relative": {**RELATIVE_PART, "description": "A JSON part"}, "proof": _FILE}, ["relative", "proof"]
    ),
    ("/api/v1/me/relatives/{relative_id}/answer", "post"): _multipart(
        {"message": {"type": "string"}, "proof": _FILE}, []
    ),
    ("/api/v1/me/claims", "post"): _multipart(
        {
            "claim": {**CLAIM_PART, "description": "A JSON part"},
            "invoice": _FILE,
            "itemised_bill": _FILE,
            "other": {"type": "array", "items": _FILE, "maxItems": 3},
        },
        ["claim", "invoice", "itemised_bill"],
    ),
    ("/api/v1/me/claims/{claim_id}/answer", "post"): _multipart(
        {"message": {"type": "string"}, "other": {"type": "array", "items": _FILE}}, []
    ),
    ("/api/v1/me/claims/quote", "post"): {
        "required": True,
        "content": {"application/json": {"schema": CLAIM_PART}},
    },
    ("/api/v1/station/claims/{claim_id}/decision", "post"): {
        "required": True,
        "description": "The exact bytes the Content-Digest and the signature cover",
        "content": {"application/json": {"schema": DECISION}},
    },
}


def describe_bodies(doc: dict[str, Any]) -> None:
    """Add the request bodies these handlers read by hand to an OpenAPI document."""
    paths = doc.get("paths", {})
    for (path, method), body in REQUEST_BODIES.items():
        operation = paths.get(path, {}).get(method)
        if operation is not None:
            operation["requestBody"] = body
