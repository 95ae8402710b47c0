"""The demo provider's "platform" page (/auth/demo, `make demo` only): pick a demo donor, as Alipay would.

The demo provider sends the browser here with the OAuth parameters; the visitor types an ID and a name,
and the page returns to the provider's callback with a code only the server can sign (DemoProvider).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from bloodcert.domain.identity import IdType
from bloodcert.errors import NotFound, ValidationFailed
from bloodcert.web.pages.login import LoginForm
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
CALLBACK_PATH = "/api/v1/auth/providers/demo/callback"
OAUTH_FIELDS = ("redirect_uri", "state", "code_challenge")


def _demo_provider(request: Request[Any, Any, Any]) -> Any:
    provider = AppState.of(request).providers.get("demo")
    if provider is None:
        raise NotFound("the demo login is only there in demo mode")
    return provider


def _oauth(request: Request[Any, Any, Any], values: dict[str, Any]) -> dict[str, str]:
    """The OAuth parameters, refused unless they return to our own demo callback (no open redirect)."""
    oauth = {k: str(values.get(k, ""))[:512] for k in OAUTH_FIELDS}
    target = urlsplit(oauth["redirect_uri"])
    base = AppState.of(request).settings.public_base_url
    ours = not target.netloc or oauth["redirect_uri"].startswith(base + "/")
    if target.path != CALLBACK_PATH or not ours or not oauth["state"]:
        raise ValidationFailed("the demo login link is not valid; start again from the login page")
    return oauth


def _page(
    request: Request[Any, Any, Any], oauth: dict[str, str], form: LoginForm, error: str | None
) -> Template:
    id_types = [t.value for t in IdType]
    return page(request, "demo_login.html", oauth=oauth, form=form, id_types=id_types, error=error)


@get("/auth/demo", sync_to_thread=False, name="demo_login")
def demo_login_page(request: Request[Any, Any, Any]) -> Template:
    """The demo platform's consent page."""
    _demo_provider(request)
    oauth = _oauth(request, dict(request.query_params))
    return page(
        request,
        "demo_login.html",
        oauth=oauth,
        form=LoginForm(),
        id_types=[t.value for t in IdType],
        error=None,
    )


@post("/auth/demo", sync_to_thread=False, status_code=303)
def demo_login_submit(request: Request[Any, Any, Any], data: FormBody) -> Template | Redirect:
    """Sign a code for the typed identity and return to the callback; the callback checks the record."""
    provider = _demo_provider(request)
    oauth = _oauth(request, data)
    form = LoginForm.of(data)
    try:
        code = provider.issue_code(
            form.id_type,
            form.id_number,
            form.name,
            redirect_uri=oauth["redirect_uri"],
            code_challenge=oauth["code_challenge"],
        )
    except ValueError:
        return page(
            request,
            "demo_login.html",
            oauth=oauth,
            form=form,
            id_types=[t.value for t in IdType],
            error="login_missing",
        )
    query = urlencode({"code": code, "state": oauth["state"]})
    return Redirect(f"{oauth['redirect_uri']}?{query}", status_code=303)
