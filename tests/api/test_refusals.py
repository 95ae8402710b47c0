"""Refusals cannot flood the audit log: counted per client and window, limited per client, 429 before a write.

Also the station API: failed signatures count against the client's address, whatever key id they name.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient, transport

from bloodcert.config import Settings
from bloodcert.services.audit import verify_chain
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.conftest import GENEROUS_LIMITS

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _client(settings: Settings, db: Database, **limits: str) -> TestClient:  # type: ignore[type-arg]
    overrides = tuple((n, v) for n, v in GENEROUS_LIMITS if n not in limits) + tuple(limits.items())
    return TestClient(create_app(replace(settings, rate_limits=overrides), db=db), base_url=BASE)


def _audit_count(db: Database) -> int:
    with db.reading() as uow:
        return len(uow.audit.recent(100_000))


@pytest.fixture
def limited(settings: Settings, db: Database) -> Iterator[Any]:
    with _client(settings, db, refused="5/minute") as client:
        yield client


def test_repeated_refusals_of_one_client_are_one_entry_with_a_count(settings: Settings, db: Database) -> None:
    with _client(settings, db) as client:
        statuses = {client.get(BASE + "/api/v1/me").status_code for _ in range(40)}
        assert statuses == {401}
        assert _audit_count(db) == 0  # the window is still open
        client.app.state["bloodcert"].audit.end_refusal_windows()
    with db.reading() as uow:
        rows = uow.audit.recent(100)
        assert [(r.action, r.object, r.repeats) for r in rows] == [("denied", "/api/v1/me", 40)]
        assert verify_chain(uow, settings.audit_key).intact


def test_a_client_over_its_refusal_limit_gets_429_and_writes_nothing(limited: Any, db: Database) -> None:
    statuses = [limited.get(BASE + "/api/v1/me").status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    # Refused even where it would not be refused: the client waits out the window.
    assert limited.get(BASE + "/healthz").status_code == 429
    limited.app.state["bloodcert"].audit.end_refusal_windows()
    with db.reading() as uow:
        assert [r.repeats for r in uow.audit.recent(100)] == [5]


def test_console_refusals_count_against_the_same_limit(limited: Any) -> None:
    statuses = [limited.get(BASE + "/console/stations").status_code for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2


def test_unauthenticated_requests_are_limited_per_client(settings: Settings, db: Database) -> None:
    with _client(settings, db, anonymous="3/minute") as client:
        assert [client.get(BASE + "/verify").status_code for _ in range(4)] == [200, 200, 200, 429]
        # Refused before any handler: no audit entry either.
        assert client.get(BASE + "/api/v1/me").status_code == 429
        client.app.state["bloodcert"].audit.end_refusal_windows()
    assert _audit_count(db) == 0


def test_random_station_key_ids_are_limited_on_the_client_address(limited: Any) -> None:
    url = BASE + "/api/v1/station/quality"
    statuses = []
    for _ in range(30):
        keyid = "stk_" + secrets.token_hex(8)
        headers = {
            "Signature-Input": f'sig=("@method" "@target-uri");created=1;keyid="{keyid}";nonce="n"',
            "Signature": "sig=:AAAA:",
        }
        statuses.append(limited.get(url, headers=headers).status_code)
    assert statuses.count(401) == 5
    assert statuses.count(429) == 25


@pytest.fixture
def from_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests arrive from 10.0.0.5, as from a reverse proxy on the private network."""
    parse = transport.TestClientTransport.parse_request

    def from_proxy(self: Any, request: Any) -> Any:
        scope = parse(self, request)
        scope["client"] = ("10.0.0.5", 50000)
        return scope

    monkeypatch.setattr(transport.TestClientTransport, "parse_request", from_proxy)


@pytest.mark.usefixtures("from_a_proxy")
@pytest.mark.parametrize(
    ("trusted", "statuses", "audited"),
    [
        ((), [401, 401, 429], {"10.0.0.5"}),
        (("10.0.0.0/8",), [401, 401, 401], {"1.1.1.1", "2.2.2.2", "3.3.3.3"}),
    ],
)
def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(
    settings: Settings, db: Database, trusted: tuple[str, ...], statuses: list[int], audited: set[str]
) -> None:
    limits = (*GENEROUS_LIMITS, ("refused", "2/minute"))
    app = create_app(replace(settings, rate_limits=limits, trusted_proxies=trusted), db=db)
    with TestClient(app, base_url=BASE) as client:
        seen = [
            client.get(BASE + "/api/v1/me", headers={"X-Forwarded-For": spoofed}).status_code
            for spoofed in ("1.1.1.1", "2.2.2.2", "3.3.3.3")
        ]
        client.app.state["bloodcert"].audit.end_refusal_windows()
    assert seen == statuses
    with db.reading() as uow:
        assert {r.client for r in uow.audit.recent(100)} == audited
