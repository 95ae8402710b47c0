"""Health education pages (/learn, /learn/{topic}), public, in both languages."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import Parameter
from litestar.response import Template

from bloodcert.errors import NotFound
from bloodcert.web.pages.learn_content import TOPICS
from bloodcert.web.pages.render import lang_of, page

Topic = Annotated[str, Parameter(pattern=r"^[a-z-]{1,32}$")]


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


@get("/learn", sync_to_thread=False, name="learn")
def learn_index(request: Request[Any, Any, Any]) -> Template:
    """The list of health education pages."""
    lang = lang_of(request)
    return page(request, "learn.html", topic=None, items=[(k, _pick(v[0], lang)) for k, v in TOPICS.items()])


@get("/learn/{topic:str}", sync_to_thread=False)
def learn_page(request: Request[Any, Any, Any], topic: Topic) -> Template:
    """One health education page."""
    found = TOPICS.get(topic)
    if found is None:
        raise NotFound("no such page")
    lang = lang_of(request)
    title, paragraphs = found
    others = [(k, _pick(v[0], lang)) for k, v in TOPICS.items() if k != topic]
    return page(
        request,
        "learn.html",
        topic=topic,
        title=_pick(title, lang),
        paragraphs=[_pick(p, lang) for p in paragraphs],
        items=others,
    )


handlers = [learn_index, learn_page]
