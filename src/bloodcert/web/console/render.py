"""How a console page is rendered: the pages' renderer with the console's words and the signed-in staff."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from bloodcert.domain.staff import StaffPrincipal
from bloodcert.web.console.i18n import console_words
from bloodcert.web.pages.render import lang_of, page

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def staff_of(request: Request[Any, Any, Any]) -> StaffPrincipal:
    """The staff member the console guard let through (only on routes that need one)."""
    principal = request.state.get("staff")
    assert isinstance(principal, StaffPrincipal), "the console guard sets request.state.staff"
    return principal


def console_page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status: int = 200,
    cookies: Iterable[Cookie] = (),
    **context: Any,
) -> Template:
    """A console page: never cached, in the request's language, with `staff` for the frame."""
    principal = request.state.get("staff")
    return page(
        request,
        template,
        status=status,
        cookies=cookies,
        t=console_words(lang_of(request)),
        staff=principal if isinstance(principal, StaffPrincipal) else None,
        signed_in=False,
        **context,
    )


def field(data: Mapping[str, Any], name: str, limit: int = 64) -> str:
    """A posted form field, cut to `limit` characters (a repeated field keeps its first value)."""
    value = data.get(name, "")
    value = value[0] if isinstance(value, list) and value else value
    return str(value).strip()[:limit] if isinstance(value, str) else ""
