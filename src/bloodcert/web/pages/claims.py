"""The donor's registered relatives (/me/relatives) and online claims (/me/claims): plain forms that upload
their documents, the quote before filing, each claim's timeline and the answer to a request for more."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from bloodcert.domain.identity import IdType
from bloodcert.domain.waivers import COMPONENTS, RELATIONSHIPS
from bloodcert.errors import AppError
from bloodcert.services import claims as svc
from bloodcert.services import relatives as rel
from bloodcert.web.api.claims import CLAIM_BODY, RELATIVE_BODY, actor_of, read_form, rules
from bloodcert.web.auth import audit_read, donor
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState

FILE_ERRORS = {"unsupported_file_type", "malformed_file", "file_too_large", "too_many_files"}


def _error_key(exc: AppError) -> str:
    if exc.slug in FILE_ERRORS:
        return "claim_error_files"
    if exc.slug in ("invoice_conflict", "not_eligible"):
        return f"claim_error_{exc.slug}"
    return "claim_error_form"


def _relatives_page(request: Request[Any, Any, Any], error: AppError | None = None) -> Template:
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        mine = rel.of_donor(uow, principal.person_ids)
    audit_read(request, principal.actor, "read:relatives")
    return page(
        request,
        "relatives.html",
        relatives=mine,
        relationships=RELATIONSHIPS[1:],
        id_types=list(IdType),
        error=error,
        error_key=_error_key(error) if error else None,
        signed_in=True,
    )


@get("/me/relatives", sync_to_thread=True, name="relatives")
def relatives_page(request: Request[Any, Any, Any]) -> Template:
    """My registered relatives, their review, and the form to register one with a proof."""
    return _relatives_page(request)


@post("/me/relatives", status_code=303, request_max_body_size=RELATIVE_BODY)
async def relatives_submit(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Register a relative from the form; a refusal shows the page again with the reason."""
    principal = donor(request)
    form = await request.form()
    body = msgspec.json.encode(
        {k: str(form.get(k, "")) for k in ("name", "id_type", "id_number", "relationship")}
    )
    _, files, _ = await read_form(request, "relative", files_optional=True)

    def work() -> None:
        with AppState.of(request).db.transaction() as uow:
            rel.register(uow, actor_of(request, principal.actor), principal.person_ids, body, files)

    try:
        await anyio.to_thread.run_sync(work)
    except AppError as exc:
        return await anyio.to_thread.run_sync(_relatives_page, request, exc)
    return Redirect("/me/relatives", status_code=303)


@post("/me/relatives/{relative_id:str}/remove", status_code=303, sync_to_thread=True)
def relative_remove(request: Request[Any, Any, Any], relative_id: FromPath[str]) -> Redirect:
    """Remove a relative; waivers already drawn for them stay."""
    principal = donor(request)
    with AppState.of(request).db.transaction() as uow:
        rel.remove(uow, actor_of(request, principal.actor), principal.person_ids, relative_id)
    return Redirect("/me/relatives", status_code=303)


@post("/me/relatives/{relative_id:str}/answer", status_code=303, request_max_body_size=RELATIVE_BODY)
async def relative_answer(request: Request[Any, Any, Any], relative_id: FromPath[str]) -> Template | Redirect:
    """Answer the station's request for more on a registration: a message and, if asked, another proof."""
    principal = donor(request)
    _, files, message = await read_form(request, "message", files_optional=True)

    def work() -> None:
        with AppState.of(request).db.transaction() as uow:
            rel.answer(
                uow, actor_of(request, principal.actor), principal.person_ids, relative_id, message, files
            )

    try:
        await anyio.to_thread.run_sync(work)
    except AppError as exc:
        return await anyio.to_thread.run_sync(_relatives_page, request, exc)
    return Redirect("/me/relatives", status_code=303)


def _claims_page(request: Request[Any, Any, Any], error: AppError | None = None) -> Template:
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        mine = svc.of_donor(uow, principal.person_ids)
    audit_read(request, principal.actor, "read:claims")
    return page(
        request,
        "claims.html",
        claims=mine,
        error=error,
        error_key=_error_key(error) if error else None,
        signed_in=True,
    )


@get("/me/claims", sync_to_thread=True, name="claims")
def claims_page(request: Request[Any, Any, Any]) -> Template:
    """My claims, newest first: status, each station's share, the timeline and the documents."""
    return _claims_page(request)


def _new_claim_page(
    request: Request[Any, Any, Any],
    form: dict[str, str] | None = None,
    quote: Any = None,
    error: AppError | None = None,
) -> Template:
    principal = donor(request)
    with AppState.of(request).db.reading() as uow:
        approved = [r for r in rel.of_donor(uow, principal.person_ids) if r.status == "approved"]
        hospitals = uow.hospitals.all()
    return page(
        request,
        "claim_new.html",
        relatives=approved,
        hospitals=hospitals,
        components=COMPONENTS,
        form=form or {},
        quote=quote,
        error=error,
        error_key=_error_key(error) if error else None,
        signed_in=True,
    )


@get("/me/claims/new", sync_to_thread=True, name="claim_new")
def claim_new_page(request: Request[Any, Any, Any]) -> Template:
    """The claim form: patient, hospital, invoice, what was transfused and its cost, and the files."""
    return _new_claim_page(request)


FIELDS = (
    "beneficiary",
    "hospital_code",
    "hospital_name",
    "hospital_region",
    "invoice_no",
    "transfused_at",
    "component",
    "volume_ml",
    "units",
    "amount_yuan",
)


def _number(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def _fen(text: str) -> int | None:
    try:
        value = Decimal(text.strip()) * 100
    except InvalidOperation:
        return None
    return int(value) if value == value.to_integral_value() and value > 0 else None


def claim_json(form: dict[str, str]) -> bytes:
    """The `claim` part the API takes, from the page's fields (one transfused item, its cost in yuan)."""
    item = {
        "component": form.get("component", ""),
        "volume_ml": _number(form.get("volume_ml", "")),
        "units": _number(form.get("units", "")),
        "amount_fen": _fen(form.get("amount_yuan", "")),
    }
    part: dict[str, Any] = {
        "beneficiary": form.get("beneficiary") or "self",
        "invoice_no": form.get("invoice_no", ""),
        "transfused_at": form.get("transfused_at", ""),
        "items": [item],
    }
    if form.get("hospital_code"):
        part["hospital_code"] = form["hospital_code"]
    else:
        part |= {
            "hospital_name": form.get("hospital_name", ""),
            "hospital_region": form.get("hospital_region", ""),
        }
    return msgspec.json.encode(part)


@post("/me/claims/new", status_code=303, request_max_body_size=CLAIM_BODY)
async def claim_submit(request: Request[Any, Any, Any]) -> Template | Redirect:
    """`action=quote` shows what would be paid; `action=file` files the claim with its documents."""
    principal = donor(request)
    raw = await request.form()
    form = {k: str(raw.get(k, ""))[:200] for k in FIELDS}
    _, files, _ = await read_form(request, "claim", files_optional=True)
    body = claim_json(form)

    def work() -> Any:
        with AppState.of(request).db.transaction() as uow:
            if raw.get("action") == "quote":
                return svc.quote(uow, rules(request), principal.person_ids, principal.under_review, body)
            who = actor_of(request, principal.actor)
            return svc.file_claim(
                uow, who, rules(request), principal.person_ids, principal.under_review, body, files
            )

    try:
        result = await anyio.to_thread.run_sync(work)
    except AppError as exc:
        return await anyio.to_thread.run_sync(partial(_new_claim_page, request, form, error=exc))
    if raw.get("action") == "quote":
        return await anyio.to_thread.run_sync(partial(_new_claim_page, request, form, quote=result))
    return Redirect("/me/claims", status_code=303)


@post("/me/claims/{claim_id:str}/answer", status_code=303, request_max_body_size=CLAIM_BODY)
async def claim_answer(request: Request[Any, Any, Any], claim_id: FromPath[str]) -> Template | Redirect:
    """Answer a station's request for more: a message and any further documents."""
    principal = donor(request)
    _, files, message = await read_form(request, "message", files_optional=True)

    def work() -> None:
        with AppState.of(request).db.transaction() as uow:
            who = actor_of(request, principal.actor)
            svc.answer(uow, who, principal.person_ids, claim_id, message, files)

    try:
        await anyio.to_thread.run_sync(work)
    except AppError as exc:
        return await anyio.to_thread.run_sync(_claims_page, request, exc)
    return Redirect("/me/claims", status_code=303)


handlers = [
    relatives_page,
    relatives_submit,
    relative_remove,
    relative_answer,
    claims_page,
    claim_new_page,
    claim_submit,
    claim_answer,
]
