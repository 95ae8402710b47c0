"""The console login (/console/login): username, password and TOTP code; a captcha when throttled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from bloodcert.services import sessions, staff
from bloodcert.services.sessions import STAFF, Captcha, LoginOutcome
from bloodcert.web.auth import login_context
from bloodcert.web.console.auth import ALL_ROLES, PUBLIC, STAFF_COOKIE, cleared_cookie, roles, session_cookie
from bloodcert.web.console.render import FormBody, console_page, field, staff_of
from bloodcert.web.state import AppState

HOME = "/console"
ERRORS = {"blocked": "console_blocked"}


def safe_next(value: str) -> str:
    """Where to go after the login: a console page of ours, never another site (no open redirect)."""
    ours = value.startswith(HOME) and not value.startswith(HOME + "/login")
    if not ours or "//" in value or "\\" in value or len(value) > 200:
        return HOME
    return value


@dataclass(frozen=True, slots=True)
class StaffLoginForm:
    """What was typed; the password and code are never shown again."""

    username: str = ""
    password: str = ""
    code: str = ""
    captcha_id: str = ""
    captcha_answer: str = ""
    new_captcha: bool = False
    next: str = HOME

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> StaffLoginForm:
        """Read the posted form."""
        return cls(
            field(data, "username", 32),
            field(data, "password", 129),
            field(data, "code", 16),
            field(data, "captcha_id"),
            field(data, "captcha_answer", 16),
            bool(field(data, "new_captcha")),
            safe_next(field(data, "next", 200)),
        )

    @property
    def complete(self) -> bool:
        """Username, password and code are all there."""
        return all((self.username, self.password, self.code))


def _form(
    request: Request[Any, Any, Any], form: StaffLoginForm, *, error: str | None, captcha: Captcha | None
) -> Template:
    return console_page(
        request,
        "console/login.html",
        username=form.username,
        next=form.next,
        error=error,
        captcha_id=captcha.captcha_id if captcha else "",
        captcha_image=captcha.image if captcha else "",
    )


def _new_captcha(request: Request[Any, Any, Any]) -> Captcha:
    with AppState.of(request).db.transaction() as uow:
        return sessions.issue_captcha(uow, login_context(request))


@get("/login", sync_to_thread=True, opt=PUBLIC, name="console_login")
def login_page(request: Request[Any, Any, Any]) -> Template:
    """The login form (with a captcha straight away when this client is throttled)."""
    with AppState.of(request).db.transaction() as uow:
        captcha = staff.login_captcha(uow, login_context(request))
    form = StaffLoginForm(next=safe_next(request.query_params.get("next", HOME)))
    return _form(request, form, error=None, captcha=captcha)


def _attempt(request: Request[Any, Any, Any], form: StaffLoginForm) -> LoginOutcome:
    attempt = staff.LoginAttempt(
        form.username, form.password, form.code, form.captcha_id or None, form.captcha_answer or None
    )
    with AppState.of(request).db.transaction() as uow:
        return staff.log_in(uow, login_context(request), attempt)


@post("/login", sync_to_thread=True, status_code=303, opt=PUBLIC)
def login_submit(request: Request[Any, Any, Any], data: FormBody) -> Template | Redirect:
    """Check the three fields; on success the staff cookie and the page asked for."""
    form = StaffLoginForm.of(data)
    if form.new_captcha:
        return _form(request, form, error=None, captcha=_new_captcha(request))
    if not form.complete:
        captcha = _new_captcha(request) if form.captcha_id else None
        return _form(request, form, error="console_login_missing", captcha=captcha)
    outcome = _attempt(request, form)
    if outcome.grant is not None:
        cookie = session_cookie(request, outcome.grant.token, outcome.grant.max_age)
        return Redirect(form.next, status_code=303, cookies=[cookie])
    if outcome.reason == "captcha":
        error = "captcha_wrong" if form.captcha_id else "captcha_required"
    else:
        error = ERRORS.get(outcome.reason, "console_login_failed")
    return _form(request, form, error=error, captcha=_new_captcha(request) if outcome.captcha_next else None)


@post("/logout", sync_to_thread=True, status_code=303, opt=roles(*ALL_ROLES))
def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End the session on the server (audited), clear the cookie, and go back to the login form."""
    principal = staff_of(request)
    with AppState.of(request).db.transaction() as uow:
        sessions.log_out(
            uow, login_context(request), STAFF, request.cookies.get(STAFF_COOKIE), actor=principal.actor
        )
    return Redirect(HOME + "/login", status_code=303, cookies=[cleared_cookie(request)])
