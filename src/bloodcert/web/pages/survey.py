"""The satisfaction survey behind a single-use link (/survey/{token}): one question and a comment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Template

from bloodcert.errors import Conflict
from bloodcert.services import surveys as svc
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState

Token = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _closed(request: Request[Any, Any, Any], exc: Conflict) -> Template:
    return page(request, "survey.html", state=exc.slug, token="", station="", status=410)


@get("/survey/{token:str}", sync_to_thread=True)
def survey_page(request: Request[Any, Any, Any], token: Token) -> Template:
    """The question, unless the link was used or has expired."""
    try:
        with AppState.of(request).db.reading() as uow:
            found = svc.open_link(uow, token, datetime.now(UTC))
    except Conflict as exc:
        return _closed(request, exc)
    return page(request, "survey.html", state="open", token=token, station=found.station_name)


@post("/survey/{token:str}", sync_to_thread=True, status_code=200)
def survey_submit(request: Request[Any, Any, Any], token: Token, data: FormBody) -> Template:
    """Take the answer once; a second submission is told the link was used."""
    raw = str(data.get("score", ""))
    score = int(raw) if raw.isdigit() and len(raw) == 1 else 0
    try:
        with AppState.of(request).db.transaction() as uow:
            svc.answer(uow, token, score, str(data.get("comment", "")), datetime.now(UTC))
    except Conflict as exc:
        return _closed(request, exc)
    return page(request, "survey.html", state="thanks", token="", station="")


handlers = [survey_page, survey_submit]
