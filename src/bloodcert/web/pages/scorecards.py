"""Stations' public scorecards (站点信息公开): the national list and one page per station, for anyone.

The figures come from the process's scorecard cache (services/scorecards.py); no page holds personal data.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from bloodcert.domain.regions import mainland_provinces
from bloodcert.services import scorecards as svc
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState

PROVINCE = re.compile(r"^\d{2}$")


@get("/stations", sync_to_thread=True, name="scorecards")
def scorecards_page(request: Request[Any, Any, Any]) -> Template:
    """Every station's scorecard, by province; `?province=33` shows one province."""
    state = AppState.of(request)
    wanted = request.query_params.get("province", "")[:2]
    province = wanted if PROVINCE.fullmatch(wanted) else None
    cards = svc.national_list(state.scorecards.get(state.db), province)
    return page(
        request,
        "scorecards.html",
        cards=cards,
        province=province,
        provinces=mainland_provinces(),
    )


@get("/stations/{code:str}", sync_to_thread=True, name="scorecard")
def scorecard_page(request: Request[Any, Any, Any], code: FromPath[str]) -> Template:
    """One station's scorecard: its sites, twelve months of donations, delays, rejections and requests."""
    state = AppState.of(request)
    card = svc.one(state.scorecards.get(state.db), code)
    peak = max((n for _, n in card.months), default=0) or 1
    return page(request, "scorecard.html", card=card, peak=peak)


handlers = [scorecards_page, scorecard_page]
