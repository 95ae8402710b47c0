"""Abuse limits: per client on login, captcha and verify, per client and key on the station API; 429s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from bloodcert.web.ratelimit import Limits, MemoryCounter, checks_of
from tests.api.conftest import BASE
from tests.factories import create_station, make_record, signed_headers


@pytest.fixture
def strict(settings: Settings, db: Database) -> Iterator[TestClient]:  # type: ignore[type-arg]
    limits = (("login", "3/minute"), ("captcha", "2/minute"), ("verify", "5/minute"), ("station", "2/minute"))
    with TestClient(create_app(replace(settings, rate_limits=limits), db=db), base_url=BASE) as client:
        yield client


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("path", "body", "allowed"),
    [
        (
            "/api/v1/auth/login",
            {"id_type": "resident_id", "id_number": "1", "name": "x", "donation_no": "1"},
            3,
        ),
        ("/api/v1/auth/captcha", None, 2),
        ("/api/v1/verify", {"qr": "BC1:X"}, 5),
    ],
)
def test_a_client_over_the_limit_gets_429_with_retry_after(
    strict: TestClient,
    path: str,
    body: object,
    allowed: int,  # type: ignore[type-arg]
) -> None:
    statuses = [strict.post(BASE + path, json=body).status_code for _ in range(allowed)]
    assert 429 not in statuses
    over = strict.post(BASE + path, json=body)
    assert over.status_code == 429
    assert int(over.headers["retry-after"]) >= 1
    assert over.headers["content-type"].startswith("application/problem+json")
    assert over.json()["type"] == "too_many_requests"


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_one_stations_limit_does_not_starve_another(strict: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    one = create_station(db, "33000001")
    two = create_station(db, "11000001", region="110000")
    url = BASE + "/api/v1/station/donations"

    def post(key: object) -> int:
        body = json.dumps({"records": [make_record()]}).encode()
        return strict.post(url, content=body, headers=signed_headers(key, "POST", url, body)).status_code  # type: ignore[arg-type]

    assert [post(one), post(one), post(one)] == [200, 200, 429]
    assert post(two) == 200


# --- one limit across workers ------------------------------------------------------------------------


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_guessing_limits_are_counted_in_the_database_across_workers(settings: Settings, db: Database) -> None:
    """Two workers (two apps on one database): the login limit holds for both together."""
    tight = replace(settings, rate_limits=(("login", "3/minute"),), workers=2)
    body = {"id_type": "resident_id", "id_number": "1", "name": "x", "donation_no": "1"}
    with (
        TestClient(create_app(tight, db=db), base_url=BASE) as one,
        TestClient(create_app(tight, db=db), base_url=BASE) as two,
    ):
        statuses = [c.post(BASE + "/api/v1/auth/login", json=body).status_code for c in (one, two, one)]
        assert 429 not in statuses
        assert two.post(BASE + "/api/v1/auth/login", json=body).status_code == 429
        assert one.post(BASE + "/api/v1/auth/login", json=body).status_code == 429
    with db.reading() as uow:  # the client is kept as a keyed hash, never as its address
        keys = [r[0] for r in uow.conn.exec_driver_sql("SELECT key FROM rate_counters")]
    assert keys and all("testclient" not in k and len(k) == 64 for k in keys)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_volume_limits_give_each_worker_its_share(settings: Settings, db: Database) -> None:
    shared = replace(settings, rate_limits=(("verify", "6/minute"),), workers=2)
    with TestClient(create_app(shared, db=db), base_url=BASE) as worker:
        statuses = [worker.post(BASE + "/api/v1/verify", json={"qr": "BC1:X"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_limit_is_shared_out_but_never_to_nothing() -> None:
    limits = Limits.from_settings({"verify": "6/minute", "station": "1/second"}).shares(
        4, {"verify", "station"}
    )
    assert (limits.items["verify"].amount, limits.items["station"].amount) == (1, 1)
    assert limits.items["login"].amount == Limits.from_settings({}).items["login"].amount


@pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
def test_a_database_window_ends_and_a_new_one_starts(db: Database) -> None:
    with db.transaction() as uow:
        assert uow.rate_counters.hit("k", now=100.0, window_s=60) == (1, 160.0)
        assert uow.rate_counters.hit("k", now=159.0, window_s=1) == (2, 160.0)
        assert uow.rate_counters.hit("k", now=160.0, window_s=60) == (1, 220.0)
        assert uow.rate_counters.count("k", 170.0) == 1
        assert uow.rate_counters.forget_ended(221.0) == 1
        assert uow.rate_counters.count("k", 170.0) == 0


def test_a_memory_window_opens_at_the_first_hit_and_counts_until_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("bloodcert.web.ratelimit.time.monotonic", lambda: now[0])
    item = Limits.from_settings({"verify": "2/minute"}).items["verify"]
    counter = MemoryCounter()
    assert counter.peek(item, "verify", "a") is None  # nothing counted yet, nothing kept
    assert counter.windows == {}
    assert [counter.hit(item, "verify", "a"), counter.hit(item, "verify", "a")] == [None, None]
    assert counter.peek(item, "verify", "a") == 60.0
    now[0] = 1010.0
    assert counter.hit(item, "verify", "a") == 50.0  # over: the seconds until the window ends
    assert counter.hit(item, "verify", "b") is None  # another client, its own window
    now[0] = 1060.0
    assert counter.peek(item, "verify", "a") is None
    assert counter.hit(item, "verify", "a") is None  # a new window
    assert counter.peek(item, "verify", "a") is None


def test_ended_memory_windows_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr("bloodcert.web.ratelimit.time.monotonic", lambda: now[0])
    item = Limits.from_settings({}).items["anonymous"]
    counter = MemoryCounter()
    for n in range(100):
        counter.hit(item, "anonymous", f"client-{n}")
    now[0] = MemoryCounter.SWEEP_S + 1
    counter.hit(item, "anonymous", "client-new")
    assert list(counter.windows) == [("anonymous", "client-new")]


def test_what_a_request_counts_against() -> None:
    def scope(method: str, path: str, *headers: tuple[bytes, bytes]) -> Any:
        return {"method": method, "path": path, "headers": list(headers), "client": ("192.0.2.7", 1)}

    bearer = (b"authorization", b"Bearer t")
    signed = (b"signature-input", b'sig=("@method");keyid="k1"')
    assert checks_of(scope("GET", "/healthz")) == [("anonymous", "192.0.2.7")]
    assert checks_of(scope("GET", "/api/v1/me/donations", bearer)) == []
    assert checks_of(scope("POST", "/", (b"cookie", b"bloodcert_session=s"))) == [("login_page", "192.0.2.7")]
    assert checks_of(scope("GET", "/api/v1/station/quality", (b"signature", b"x"), signed)) == [
        ("station", "192.0.2.7|k1")
    ]
    assert checks_of(scope("POST", "/api/v1/station/", (b"signature", b"x"))) == [("station", "192.0.2.7")]
    assert checks_of(scope("POST", "/api/v1/me/claims/c1/answer", bearer))[0][0] == "upload"
    assert checks_of(scope("GET", "/api/v1/me/claims", bearer)) == []
    rendered = checks_of(scope("GET", "/api/v1/me/certificates/X1.pdf", bearer))
    assert [name for name, _ in rendered] == ["render", "render_session"]
