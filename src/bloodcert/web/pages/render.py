"""How a page is rendered: the Jinja2 environment, the language of the request, and the common context."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from litestar import Request
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from bloodcert.web.auth import SESSION_COOKIE
from bloodcert.web.pages.i18n import DEFAULT_LANG, LANGS, Words, words

LANG_COOKIE = "lang"
LANG_COOKIE_AGE = 365 * 24 * 3600
NO_STORE = {"Cache-Control": "no-store"}


@cache
def asset_url(path: str) -> str:
    """`/static/PATH?v=HASH`: the hash changes with the content, so browsers never keep a stale bundle."""
    data = files("bloodcert.web").joinpath("static", path).read_bytes()
    return f"/static/{path}?v={hashlib.sha256(data).hexdigest()[:10]}"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The pages' Jinja2 templates, from the package, autoescaped, failing loudly on a missing name."""
    env = Environment(
        loader=PackageLoader("bloodcert.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.globals["asset"] = asset_url
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def lang_of(request: Request[Any, Any, Any]) -> str:
    """`?lang=` first (the switch link), then the `lang` cookie, then Simplified Chinese."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return str(asked)
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGS else DEFAULT_LANG


def words_of(request: Request[Any, Any, Any]) -> Words:
    """The Words of the request's language."""
    return words(lang_of(request))


def switch_url(request: Request[Any, Any, Any], lang: str) -> str:
    """This page in the other language (a GET page keeps its query; a form result goes back to its form)."""
    other = "en" if lang == "zh" else "zh"
    query: list[tuple[str, str]] = []
    if request.method == "GET":
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + "?" + urlencode([*query, ("lang", other)])


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status: int = 200,
    cookies: Iterable[Cookie] = (),
    **context: Any,
) -> Template:
    """A rendered page with the context every template uses; never cached, since pages hold personal data."""
    lang = lang_of(request)
    jar = list(cookies)
    if request.query_params.get("lang") in LANGS:
        jar.append(Cookie(key=LANG_COOKIE, value=lang, max_age=LANG_COOKIE_AGE, path="/", samesite="lax"))
    common = {
        "t": words(lang),
        "lang": lang,
        "switch_url": switch_url(request, lang),
        "signed_in": bool(request.cookies.get(SESSION_COOKIE)),
        "path": request.url.path,
    }
    return Template(
        template_name=template,
        context={**common, **context},
        status_code=status,
        cookies=jar,
        headers=NO_STORE,
        media_type="text/html",
    )
