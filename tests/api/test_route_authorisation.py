"""Authorisation everywhere: every route of the app is public by name, or refuses a caller who is not allowed.

The routes come from the application itself (`app.routes`), so a route added tomorrow is tested
tomorrow: if it is neither on PUBLIC nor refuses an anonymous caller with 401, these tests fail.

- Without credentials, every route that is not public answers 401 (pages, the donor API, the station API
  and the console alike). Form posts carry a valid CSRF token, so that it is the login check that answers,
  not the CSRF check.
- Every console route declares the roles that may use it (the guard admits nobody otherwise); every other
  role gets 403, and on a route about one station, an operator of another station gets 403 too. The roles
  that may use a route are let through (they get anything but 401 and 403).
- Credentials of one kind open nothing of another: a staff session is no donor session, a donor session
  no staff session, and neither signs a station request.
- Every route has a body limit sized to what it needs (none on GET, a form's on the rest, a batch's on
  the station API) and answers 413 past it; every route counts requests without credentials against the
  client's limit, and answers 429 past it before any handler (or audit) runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from bloodcert.config import Settings
from bloodcert.domain.staff import Role
from bloodcert.storage.uow import Database
from bloodcert.web.auth import SESSION_COOKIE
from bloodcert.web.console.auth import STAFF_COOKIE
from bloodcert.web.pages import CSRF_COOKIE
from bloodcert.web.security import BODYLESS, DEFAULT_BODY_LIMIT, body_limit
from tests.api.console_helpers import as_staff, csrf_token, secure_client
from tests.conftest import GENEROUS_LIMITS
from tests.factories import (
    StaffAccount,
    StationKey,
    create_staff,
    create_station,
    donor_session,
    staff_session,
)

# (method, path as the route table spells it): what anyone may call.
PUBLIC = {
    ("GET", "/"),  # the donor login form
    ("POST", "/"),
    ("POST", "/logout"),  # ends whatever session the cookie names, if any
    ("GET", "/verify"),  # the public verifier
    ("POST", "/verify"),
    ("GET", "/regions"),
    ("GET", "/sites"),  # the site finder and a site's slots, as pages
    ("GET", "/sites/{site_id:int}"),  # GB/T 2260 names for the region selects
    ("GET", "/stations"),  # stations' public scorecards (no personal data)
    ("GET", "/stations/{code:str}"),
    ("GET", "/auth/demo"),  # the demo platform's page (demo mode only; 404 otherwise)
    ("POST", "/auth/demo"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/favicon.ico"),
    ("POST", "/api/v1/verify"),
    ("GET", "/api/v1/sites"),  # the site finder and a site's slots
    ("GET", "/api/v1/sites/{site_id:int}/slots"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),  # the same document as a page
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/captcha"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/.well-known/bloodcert/trust-list.json"),
    ("GET", "/.well-known/bloodcert/status/{list_id:str}"),
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("GET", "/supply"),  # every province's blood supply by type
    ("GET", "/api/v1/supply"),
    ("GET", "/api/v1/satisfaction"),  # stations' survey scores
    ("GET", "/learn"),  # health education
    ("GET", "/learn/{topic:str}"),
    ("GET", "/callups/{token:str}"),  # a call-up's link: the token names the donor, no login
    ("POST", "/callups/{token:str}/stop"),
    ("GET", "/survey/{token:str}"),  # the single-use survey link
    ("POST", "/survey/{token:str}"),
}
PUBLIC_PREFIXES = ("/static/", "/api/v1/schema", "/api/v1/auth/providers")

STATION_A, STATION_B = "33000001", "31000001"


@dataclass(frozen=True)
class Endpoint:
    """One method of one route, and the handler that serves it."""

    method: str
    path: str
    handler: HTTPRouteHandler

    @property
    def public(self) -> bool:
        return (self.method, self.path) in PUBLIC or self.path.startswith(PUBLIC_PREFIXES)

    @property
    def console(self) -> bool:
        return self.path == "/console" or self.path.startswith("/console/")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def endpoints(app: Litestar) -> Iterator[Endpoint]:
    """Every (method, route) the app serves, from its route table."""
    for route in app.routes:
        assert isinstance(route, HTTPRoute), f"{route.path}: a non-HTTP route needs a rule of its own here"
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                # Litestar's own preflight handler answers OPTIONS with an Allow header and nothing else.
                if method == "OPTIONS" and handler.handler_name == "options_handler":
                    continue
                yield Endpoint(method, route.path, handler)


@dataclass(frozen=True)
class World:
    """The test app's client, its stations, and a session maker for every persona."""

    client: Any
    db: Database
    station_a: StationKey
    personas: dict[str, StaffAccount]
    csrf: str

    def url(self, endpoint: Endpoint, station: str = STATION_A) -> str:
        """The endpoint's path with every parameter filled in (station ones with `station`'s)."""
        samples = {
            "code": station,
            "key_id": self.station_a.key_id,
            "certificate_no": "2026000000000015",
            "list_id": "1",
            "name": "demo",
            "file_path": "dist/app.css",
            "path": "x",
            "site_code": "WL01",
            "site_id": "1",
            "appointment_id": "1",
            "notification_id": "1",
            "correction_id": "1",
            "issue_id": "1",
            "decision_id": "1",
        }
        return re.sub(r"\{(\w+):\w+\}", lambda m: samples.get(m.group(1), "x"), endpoint.path)

    def send(
        self, endpoint: Endpoint, *, station: str = STATION_A, headers: dict[str, str] | None = None
    ) -> Any:
        """Call the endpoint with a harmless body (a CSRF token on forms) and no redirects followed."""
        url = self.url(endpoint, station)
        extra: dict[str, Any] = {}
        if endpoint.method not in ("GET", "HEAD"):
            extra = {"json": {}} if url.startswith("/api/") else {"data": {"_csrf_token": self.csrf}}
        return self.client.request(endpoint.method, url, headers=headers, follow_redirects=False, **extra)

    def session(self, persona: str) -> str:
        """A fresh session of a persona (a probe may end one: logout)."""
        return staff_session(self.db, self.personas[persona])


@pytest.fixture
def world(settings: Settings, db: Database) -> Iterator[World]:
    station_a = create_station(db, STATION_A, region="330000")
    create_station(db, STATION_B, region="310000")
    personas = {
        "ada": create_staff(db, "ada", "national_admin"),
        "olga": create_staff(db, "olga", "station_operator", STATION_A),
        "oscar": create_staff(db, "oscar", "station_operator", STATION_B),
        "audrey": create_staff(db, "audrey", "auditor"),
        # A provincial administrator of 上海 (31): station B's province, not station A's.
        "petra": create_staff(db, "petra", "provincial_admin", province="31"),
    }
    with secure_client(settings, db) as client:
        yield World(client, db, station_a, personas, csrf_token(client))


def test_the_route_table_has_public_and_protected_routes_of_every_kind(world: World) -> None:
    found = list(endpoints(world.client.app))
    protected = {str(e) for e in found if not e.public}
    assert {
        "GET /me",
        "GET /api/v1/me",
        "POST /api/v1/station/donations",
        "GET /console/stations",
    } <= protected
    # Every public entry names a route that exists, so that the list cannot rot into a blanket pass.
    assert {(e.method, e.path) for e in found} >= PUBLIC


def test_every_route_that_is_not_public_answers_401_without_credentials(world: World) -> None:
    as_staff(world.client, None)
    wrong = {}
    for endpoint in endpoints(world.client.app):
        if endpoint.public:
            continue
        response = world.send(endpoint)
        if response.status_code != 401:
            wrong[str(endpoint)] = response.status_code
    assert wrong == {}


def test_every_console_route_declares_who_may_use_it(world: World) -> None:
    for endpoint in endpoints(world.client.app):
        if endpoint.console and not endpoint.public:
            allowed = endpoint.handler.opt.get("roles")
            assert allowed and set(allowed) <= set(Role), f"{endpoint} declares no roles"


def test_every_console_route_refuses_the_wrong_role_with_403_and_admits_the_right_one(world: World) -> None:
    outcomes = {}
    for endpoint in endpoints(world.client.app):
        if not endpoint.console or endpoint.public:
            continue
        allowed = set(endpoint.handler.opt["roles"])
        for persona, account in world.personas.items():
            as_staff(world.client, world.session(persona))
            status = world.send(endpoint).status_code
            other_station = bool(endpoint.handler.opt.get("station_scoped")) and persona in ("oscar", "petra")
            expected_denied = Role(account.role) not in allowed or other_station
            if expected_denied != (status == 403) or status == 401:
                outcomes[f"{endpoint} as {persona}"] = status
    assert outcomes == {}


def test_a_station_operator_gets_403_for_every_route_about_another_station(world: World) -> None:
    scoped = [e for e in endpoints(world.client.app) if e.handler.opt.get("station_scoped")]
    assert {str(e) for e in scoped} >= {
        "GET /console/stations/{code:str}",
        "GET /console/stations/{code:str}/quality",
        "POST /console/stations/{code:str}/keys",
        "POST /console/stations/{code:str}/keys/{key_id:str}/revoke",
    }
    for endpoint in scoped:
        as_staff(world.client, world.session("olga"))
        assert world.send(endpoint, station=STATION_B).status_code == 403, endpoint
        assert world.send(endpoint, station="99999999").status_code == 403, endpoint  # unknown: the same
        as_staff(world.client, world.session("oscar"))
        assert world.send(endpoint, station=STATION_A).status_code == 403, endpoint


def test_a_provincial_administrator_reaches_the_province_s_stations_and_no_other(world: World) -> None:
    scoped = [e for e in endpoints(world.client.app) if e.handler.opt.get("station_scoped")]
    for endpoint in scoped:
        as_staff(world.client, world.session("petra"))
        assert world.send(endpoint, station=STATION_A).status_code == 403, endpoint
        assert world.send(endpoint, station="99999999").status_code == 403, endpoint
        allowed = Role.PROVINCIAL_ADMIN in endpoint.handler.opt["roles"]
        status = world.send(endpoint, station=STATION_B).status_code
        assert (status == 403) != allowed, (endpoint, status)
    as_staff(world.client, world.session("petra"))
    listed = world.client.get("/console/stations").text
    assert STATION_B in listed and STATION_A not in listed


def test_credentials_of_one_kind_open_nothing_of_another(world: World) -> None:
    with world.db.transaction() as uow:
        donor_token = donor_session(uow, b"\x01" * 32, b"\x02" * 32).token
    as_staff(world.client, None)
    # A Cookie header replaces the client's jar, so it carries the CSRF cookie along.
    csrf = f"{CSRF_COOKIE}={world.client.cookies.get(CSRF_COOKIE)}"
    staff_cookie = {"Cookie": f"{STAFF_COOKIE}={world.session('ada')}; {csrf}"}
    donor_cookie = {
        "Cookie": f"{SESSION_COOKIE}={donor_token}; {csrf}",
        "Authorization": f"Bearer {donor_token}",
    }
    wrong = {}
    for endpoint in endpoints(world.client.app):
        if endpoint.public:
            continue
        headers = donor_cookie if endpoint.console else staff_cookie
        status = world.send(endpoint, headers=headers).status_code
        if status != 401:
            wrong[str(endpoint)] = status
    assert wrong == {}


# ---- limits on every route ---------------------------------------------------------------------------------

# Routes whose bodies may be larger than a form's: a station's batch of up to 1000 records.
LARGE_BODIES = {
    ("POST", "/api/v1/station/donations"): 2 * 1024 * 1024,
    # A mobile site's schedule: up to 400 dated stops, each with a place name of up to 100 characters.
    ("PUT", "/api/v1/station/sites/{site_code:str}"): 256 * 1024,
    # Uploads: a claim's five documents of 10 MiB each (or one proof of kinship), and the form around them.
    ("POST", "/api/v1/me/claims"): 5 * 10 * 1024 * 1024 + 64 * 1024,
    ("POST", "/api/v1/me/claims/{claim_id:str}/answer"): 5 * 10 * 1024 * 1024 + 64 * 1024,
    ("POST", "/api/v1/me/relatives"): 10 * 1024 * 1024 + 64 * 1024,
    ("POST", "/api/v1/me/relatives/{relative_id:str}/answer"): 10 * 1024 * 1024 + 64 * 1024,
    ("POST", "/me/claims/new"): 5 * 10 * 1024 * 1024 + 64 * 1024,
    ("POST", "/me/claims/{claim_id:str}/answer"): 5 * 10 * 1024 * 1024 + 64 * 1024,
    ("POST", "/me/relatives"): 10 * 1024 * 1024 + 64 * 1024,
    ("POST", "/me/relatives/{relative_id:str}/answer"): 10 * 1024 * 1024 + 64 * 1024,
    # A donor's request with a photo of the paper certificate (up to 1 MiB, base64 in JSON).
    ("POST", "/api/v1/me/corrections"): 2 * 1024 * 1024,
    ("POST", "/me/corrections"): 2 * 1024 * 1024,
}
# Only uploads of documents may pass the station batch's 2 MiB.
UPLOADS = {key for key, limit in LARGE_BODIES.items() if limit > 2 * 1024 * 1024}


def _body_limit(endpoint: Endpoint) -> int:
    scope: Any = {"method": endpoint.method, "route_handler": endpoint.handler}
    return body_limit(scope)


def test_every_route_has_a_body_limit_sized_to_what_it_needs(world: World) -> None:
    wrong = {}
    for endpoint in endpoints(world.client.app):
        limit = _body_limit(endpoint)
        expected = 0 if endpoint.method in BODYLESS else DEFAULT_BODY_LIMIT
        expected = LARGE_BODIES.get((endpoint.method, endpoint.path), expected)
        too_large = limit > 2 * 1024 * 1024 and (endpoint.method, endpoint.path) not in UPLOADS
        if limit != expected or too_large:
            wrong[str(endpoint)] = limit
    assert wrong == {}
    assert DEFAULT_BODY_LIMIT <= 16 * 1024


def test_every_route_refuses_a_body_over_its_limit_with_413(world: World) -> None:
    wrong = {}
    for endpoint in endpoints(world.client.app):
        body = b"x" * (_body_limit(endpoint) + 1)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        url = world.url(endpoint)
        response = world.client.request(
            endpoint.method, url, content=body, headers=headers, follow_redirects=False
        )
        if response.status_code != 413:
            wrong[str(endpoint)] = response.status_code
    assert wrong == {}


def test_every_route_limits_requests_without_credentials_per_client(settings: Settings, db: Database) -> None:
    limits = (*GENEROUS_LIMITS, ("anonymous", "1/minute"))
    with secure_client(replace(settings, rate_limits=limits), db) as client:
        assert client.get("/healthz").status_code == 200  # the client's one request of the window
        wrong = {}
        for endpoint in endpoints(client.app):
            path = re.sub(r"\{\w+:int\}", "1", endpoint.path)
            path = re.sub(r"\{(\w+):\w+\}", "x", path)
            response = client.request(endpoint.method, path, follow_redirects=False)
            if response.status_code != 429:
                wrong[str(endpoint)] = response.status_code
        assert wrong == {}
        # Refused before any handler ran: not one refusal reached the audit log.
        client.app.state["bloodcert"].audit.end_refusal_windows()
    with db.reading() as uow:
        assert uow.audit.recent(10) == []


def test_signed_routes_refuse_a_key_of_the_other_tenant_kind(world: World) -> None:
    """A station key opens no hospital route, and a hospital key no station route (both sign alike)."""
    import json

    from tests.api.conftest import BASE
    from tests.api.hospital_helpers import create_hospital, sign

    hospital = create_hospital(world.db)
    as_staff(world.client, None)
    wrong = {}
    checked = set()
    for endpoint in endpoints(world.client.app):
        kind = next((k for k in ("station", "hospital") if endpoint.path.startswith(f"/api/v1/{k}/")), None)
        if kind is None:
            continue
        key = hospital if kind == "station" else world.station_a
        url = BASE + world.url(endpoint)
        body = None if endpoint.method == "GET" else json.dumps({}).encode()
        headers = sign(key, endpoint.method, url, body)
        status = world.client.request(endpoint.method, url, content=body, headers=headers).status_code
        checked.add(kind)
        if status != 401:
            wrong[str(endpoint)] = status
    assert checked == {"station", "hospital"}
    assert wrong == {}
