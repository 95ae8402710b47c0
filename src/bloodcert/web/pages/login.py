"""The login page (/): ID type, ID number, name and donation number, a captcha when the server asks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from bloodcert.domain.identity import IdType
from bloodcert.errors import Unauthorized
from bloodcert.services import donor_login, sessions
from bloodcert.services.donor_login import Credentials
from bloodcert.services.sessions import LoginOutcome
from bloodcert.web.auth import SESSION_COOKIE, donor, donor_cookie, donor_log_out, login_context
from bloodcert.web.pages.render import page
from bloodcert.web.state import AppState

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


@dataclass(frozen=True, slots=True)
class LoginForm:
    """What the donor typed; every field is cut to a sane length before anything reads it."""

    id_type: str = IdType.RESIDENT_ID.value
    id_number: str = ""
    name: str = ""
    donation_no: str = ""
    captcha_id: str = ""
    captcha_answer: str = ""
    new_captcha: bool = False

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> LoginForm:
        """Read the posted form (a repeated field keeps its first value)."""

        def field(name: str, limit: int = 64) -> str:
            value = data.get(name, "")
            value = value[0] if isinstance(value, list) and value else value
            return str(value).strip()[:limit] if isinstance(value, str) else ""

        return cls(
            field("id_type") or IdType.RESIDENT_ID.value,
            field("id_number"),
            field("name", 100),
            field("donation_no"),
            field("captcha_id"),
            field("captcha_answer", 16),
            bool(field("new_captcha")),
        )

    @property
    def complete(self) -> bool:
        """All four fields are filled in."""
        return all((self.id_type, self.id_number, self.name, self.donation_no))


def providers_of(state: AppState) -> list[Any]:
    """The configured real-name providers (each with `.name` and `.label`), if the app has any."""
    providers = getattr(state, "providers", None) or ()
    if isinstance(providers, Mapping):
        providers = providers.values()
    return [p for p in providers if getattr(p, "name", None) and getattr(p, "label", None)]


def _form_page(
    request: Request[Any, Any, Any],
    form: LoginForm,
    *,
    error: str | None = None,
    captcha: bool = False,
    status: int = 200,
) -> Template:
    captcha_id, image = "", ""
    if captcha:
        with AppState.of(request).db.transaction() as uow:
            issued = sessions.issue_captcha(uow, login_context(request))
        captcha_id, image = issued.captcha_id, issued.image
    return page(
        request,
        "login.html",
        form=form,
        id_types=[t.value for t in IdType],
        error=error,
        captcha_id=captcha_id,
        captcha_image=image,
        providers=providers_of(AppState.of(request)),
        signed_in=False,
        status=status,
    )


def login_required_page(request: Request[Any, Any, Any]) -> Template:
    """A page that needs a session, asked for without one: 401 with the login form, which leads to /me."""
    return _form_page(request, LoginForm(), error="login_required", status=401)


@get("/", sync_to_thread=True, name="login")
def login_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    """The login form; a donor who is already logged in goes straight to their history."""
    if request.cookies.get(SESSION_COOKIE):
        try:
            donor(request)
        except Unauthorized:
            pass
        else:
            return Redirect("/me", status_code=303)
    # A platform login (…/providers/{name}/callback) that did not open a session comes back here.
    came_back = request.query_params.get("login_error")
    error = f"login_error_{came_back}" if came_back in ("provider", "no_record") else None
    return _form_page(request, LoginForm(), error=error)


def _attempt(request: Request[Any, Any, Any], form: LoginForm) -> LoginOutcome:
    creds = Credentials(
        form.id_type,
        form.id_number,
        form.name,
        form.donation_no,
        form.captcha_id or None,
        form.captcha_answer or None,
    )
    with AppState.of(request).db.transaction() as uow:
        return donor_login.log_in(uow, login_context(request), creds)


@post("/", sync_to_thread=True, status_code=303)
def login_submit(request: Request[Any, Any, Any], data: FormBody) -> Template | Redirect:
    """Check the four fields like POST /api/v1/auth/login; on success the same session cookie, then /me."""
    form = LoginForm.of(data)
    in_captcha = bool(form.captcha_id)
    if form.new_captcha:
        return _form_page(request, form, captcha=True)
    # A form shown again with its message is a 200 page, as browsers expect (an error status would also
    # log a console error in the donor's browser for what is an ordinary typo).
    if not form.complete:
        return _form_page(request, form, error="login_missing", captcha=in_captcha)
    outcome = _attempt(request, form)
    if outcome.grant is not None:
        return Redirect("/me", status_code=303, cookies=[donor_cookie(request, outcome.grant)])
    if outcome.reason == "captcha":
        error = "captcha_wrong" if in_captcha else "captcha_required"
        return _form_page(request, form, error=error, captcha=True)
    # Once a captcha was asked for, the next try needs one too: show a fresh one straight away.
    return _form_page(request, form, error="login_failed", captcha=in_captcha)


@post("/logout", sync_to_thread=True, status_code=303)
def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End the session on the server, clear the cookie, and go back to the login page."""
    return Redirect("/", status_code=303, cookies=[donor_log_out(request)])
