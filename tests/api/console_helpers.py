"""A console test client over https (the staff and CSRF cookies are Secure outside the demo), and its helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from bloodcert.web.console.auth import STAFF_COOKIE
from tests.factories import StaffAccount

SECURE_BASE = "https://testserver.local"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@contextmanager
def secure_client(settings: Settings, db: Database) -> Iterator[Any]:
    """A test client for the app that speaks https, as a deployed console does."""
    with TestClient(app=create_app(settings, db=db), base_url=SECURE_BASE) as client:
        yield client


def csrf_token(client: Any, path: str = "/console/login") -> str:
    """The CSRF token of a console form (the CSRF cookie lands in the client's jar)."""
    page = client.get(path)
    match = _CSRF.search(page.text)
    assert match, page.text
    return match.group(1)


def as_staff(client: Any, token: str | None) -> None:
    """Send `token` as the staff session cookie from now on (None: no staff cookie)."""
    client.cookies.delete(STAFF_COOKIE)
    if token is not None:
        client.cookies.set(STAFF_COOKIE, token, domain="testserver.local", path="/console")


def log_in(client: Any, account: StaffAccount, *, steps_ahead: int = 0, **changes: str) -> Any:
    """Post the console login form; returns the response (303 with the cookie on success)."""
    form = {
        "_csrf_token": csrf_token(client),
        "username": account.username,
        "password": account.password,
        "code": account.code(steps_ahead=steps_ahead),
        **changes,
    }
    return client.post("/console/login", data=form, follow_redirects=False)
