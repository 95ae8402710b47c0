"""Request bodies: bounded per route before anything reads them, the CSRF cookie checked before a form is
parsed, and JSON nested too deeply answered as a 400 problem, never a 500."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.console_helpers import csrf_token, secure_client

DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_FORM = b"&".join(b"f%d=x" % i for i in range(900_000))  # about 8.9 MB, 900k fields


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/verify", b'{"qr": ' + DEEP + b"}"),
        ("/api/v1/auth/login", b'{"id_type": ' + DEEP + b"}"),
        ("/api/v1/verify", DEEP),
    ],
)
def test_deeply_nested_json_is_a_400_problem_without_a_traceback(
    client: Any, path: str, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    # Cut to fit the body limit: still thousands of levels, far beyond what the decoder recurses into.
    with caplog.at_level(logging.ERROR, logger="bloodcert.web"):
        response = client.post(
            BASE + path, content=body[:16_000], headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("path", ["/verify", "/logout", "/console/login", "/console/logout", "/"])
def test_a_huge_form_is_refused_with_413_before_it_is_read(client: Any, path: str) -> None:
    response = client.post(
        BASE + path, content=HUGE_FORM, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


def test_a_form_over_the_limit_sent_without_a_length_is_refused_while_it_streams(client: Any) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"qr=" + b"x" * 1000 + b"&"

    response = client.post(
        BASE + "/verify", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/logout", "/console/logout", "/"])
def test_a_form_without_a_genuine_csrf_cookie_is_refused_before_its_body_is_read(
    client: Any, path: str
) -> None:
    read: list[bytes] = []

    def body() -> Any:
        # A generator the server would have to pull from: refused first, it is never drained.
        for part in (b"_csrf_token=x", b"&a=" + b"y" * 1000):
            read.append(part)
            yield part

    client.cookies.set("bloodcert_csrf", "0" * 64 + "forged")
    response = client.post(
        BASE + path, content=body(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 403
    assert len(read) <= 1  # the client may have started sending; the server read nothing more


def test_a_form_with_a_genuine_csrf_cookie_and_token_still_works(settings: Settings, db: Database) -> None:
    with secure_client(settings, db) as client:
        token = csrf_token(client, "/")
        response = client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
        assert client.post("/logout", data={"_csrf_token": "x"}, follow_redirects=False).status_code == 403


def test_credentials_in_headers_take_no_form_post_past_the_csrf_check(
    settings: Settings, db: Database
) -> None:
    """Which requests skip the CSRF check is decided by the route alone: a bearer token or a signature on
    a cookie-authenticated form changes nothing."""
    with secure_client(settings, db) as client:
        token = csrf_token(client, "/")
        credentials = {"Authorization": "Bearer whatever", "Signature": "sig=:AAAA:"}
        for path in ("/logout", "/console/logout", "/"):
            refused = client.post(
                path, data={"_csrf_token": "x"}, headers=credentials, follow_redirects=False
            )
            assert refused.status_code == 403, path
        client.cookies.delete("bloodcert_csrf")
        refused = client.post(
            "/logout", data={"_csrf_token": token}, headers=credentials, follow_redirects=False
        )
        assert refused.status_code == 403
        answered = client.post("/api/v1/verify", json={"qr": "BC1:X"}, headers=credentials)
        assert answered.status_code == 200  # the API needs no CSRF token, with or without credentials


def test_the_api_sets_no_csrf_cookie_and_the_pages_do(settings: Settings, db: Database) -> None:
    with secure_client(settings, db) as client:
        assert "bloodcert_csrf" not in client.get("/healthz").headers.get("set-cookie", "")
        api = client.get("/api/v1/openapi.json")
        assert api.status_code == 200
        assert "bloodcert_csrf" not in api.headers.get("set-cookie", "")
        assert "bloodcert_csrf=" in client.get("/").headers.get("set-cookie", "")
