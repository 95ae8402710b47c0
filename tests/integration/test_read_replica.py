"""Donor reads from a PostgreSQL hot standby, with read-your-writes (storage/replica.py), on a private
primary and standby (tests/pgpair.py) serving the real app."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import text

from bloodcert.config import Settings
from bloodcert.domain.identity import IdType
from bloodcert.domain.keyed import identity_hash_of, name_hash_of
from bloodcert.services.certificates import rotate_keys
from bloodcert.services.maintenance import prune
from bloodcert.storage.migrate import upgrade
from bloodcert.storage.replica import RedisFences
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY, empty_postgres, signing_for
from tests.factories import WANG_FANG, StationKey, create_station, donor_session, make_record, signed_headers
from tests.pgpair import PGPAIR_GROUP, PgPair

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group(PGPAIR_GROUP)]

STATION_URL = BASE + "/api/v1/station/donations"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def database_name(pg_pair: PgPair) -> str:
    """A migrated database on the pair's primary, for this module."""
    name = f"bloodcert_replica_{uuid.uuid4().hex[:8]}"
    pg_pair.create_database(name)
    upgrade(pg_pair.primary_url(name), data_key=DATA_KEY)
    return name


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["table", "redis"])
def db(
    request: pytest.FixtureRequest, pair: PgPair, database_name: str, tmp_path: Path
) -> Iterator[Database]:
    """An emptied database on the primary, read through its standby; fences in the table or in Redis."""
    empty = Database(pair.primary_url(database_name))
    empty_postgres(empty)
    empty.dispose()
    redis_url = None
    if request.param == "redis":
        if not _redis_up():
            pytest.skip("Redis is not reachable on 127.0.0.1:6379")
        redis_url = REDIS_URL
    database = Database(
        pair.primary_url(database_name),
        data_key=DATA_KEY,
        replica_url=pair.replica_url(database_name),
        redis_url=redis_url,
    )
    assert database.replica is not None
    if redis_url is not None:  # keys of this test only, whatever else shares the Redis
        table = database.replica.fences.fallback
        database.replica.fences = RedisFences(
            redis_url, fallback=table, prefix=f"test:{uuid.uuid4().hex}:fence:"
        )
    with database.transaction() as uow:
        rotate_keys(uow, signing_for(tmp_path), datetime.now(UTC))
    pair.wait_replayed()
    yield database
    database.dispose()


@pytest.fixture
def client(db: Database, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    settings = Settings(
        database_url=db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
        audit_mode="sync",
    )
    with TestClient(app=create_app(settings, db=db), base_url=BASE) as test_client:
        yield test_client


def reads(target: str, reason: str) -> float:
    labels = {"target": target, "reason": reason}
    return REGISTRY.get_sample_value("bloodcert_donor_reads_total", labels) or 0.0


def report(client: TestClient, key: StationKey, *records: dict[str, Any]) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    body = json.dumps({"records": list(records)}).encode()
    response = client.post(STATION_URL, content=body, headers=signed_headers(key, "POST", STATION_URL, body))
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def log_in(client: TestClient, donation_no: str) -> dict[str, str]:  # type: ignore[type-arg]
    body = {
        "id_type": "resident_id",
        "id_number": "330106199001011221",
        "name": "王芳",
        "donation_no": donation_no,
    }
    response = client.post(BASE + "/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def donation_numbers(client: TestClient, auth: dict[str, str]) -> list[str]:  # type: ignore[type-arg]
    response = client.get(BASE + "/api/v1/me/donations", headers=auth)
    assert response.status_code == 200, response.text
    return sorted(d["donation_no"] for d in response.json()["donations"])


@pytest.fixture
def donor(client: TestClient, db: Database, pair: PgPair) -> tuple[StationKey, dict[str, str]]:  # type: ignore[type-arg]
    """A station, one donation of 王芳's it reported, and her session; the standby has replayed it all."""
    key = create_station(db)
    report(client, key, make_record(donation_no="W1", donated_at="2024-01-05T09:00:00+08:00"))
    auth = log_in(client, "W1")
    pair.wait_replayed()
    return key, auth


def test_donor_reads_go_to_the_standby_once_it_has_replayed(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    donor: tuple[StationKey, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, auth = donor
    assert db.replica is not None
    served: list[bool] = []
    for database in (db, db.replica.db):
        original = database.donor_reads

        def spy(original: Any = original, standby: bool = database is not db) -> Any:
            served.append(standby)
            return original()

        monkeypatch.setattr(database, "donor_reads", spy)
    before = reads("replica", "replayed")
    assert donation_numbers(client, auth) == ["W1"]
    assert client.get(BASE + "/api/v1/me", headers=auth).json()["summary"]["count"] == 1
    assert reads("replica", "replayed") == before + 2
    # Both requests read on the standby only: the history with its session in one query, `me` its session
    # and then the persons; the fences come from Redis or the primary's table.
    assert served == [True, True, True]


def test_a_batch_acknowledged_to_a_station_shows_at_once_though_the_standby_lags(
    client: TestClient,  # type: ignore[type-arg]
    pair: PgPair,
    donor: tuple[StationKey, dict[str, str]],
) -> None:
    key, auth = donor
    pair.pause_replay()
    [result] = report(client, key, make_record(donation_no="W2", donated_at="2024-06-05T09:00:00+08:00"))
    fenced = reads("primary", "fence")
    assert donation_numbers(client, auth) == ["W1", "W2"]
    me = client.get(BASE + "/api/v1/me", headers=auth).json()
    assert me["summary"]["count"] == 2
    certificate = client.get(BASE + f"/api/v1/me/certificates/{result['certificate_no']}", headers=auth)
    assert certificate.status_code == 200, certificate.text
    assert reads("primary", "fence") == fenced + 3
    assert (
        pair.replica.query("SELECT count(*) FROM donations", database=_name(pair, client)) == 1
    )  # still behind

    pair.resume_replay()
    pair.wait_replayed()
    on_standby = reads("replica", "replayed")
    assert donation_numbers(client, auth) == ["W1", "W2"]
    assert reads("replica", "replayed") == on_standby + 1


def test_a_correction_by_the_station_shows_at_once_though_the_standby_lags(
    client: TestClient,  # type: ignore[type-arg]
    pair: PgPair,
    donor: tuple[StationKey, dict[str, str]],
) -> None:
    key, auth = donor
    pair.pause_replay()
    report(client, key, make_record(donation_no="W1", version=2, status="void"))
    assert donation_numbers(client, auth) == []


def test_a_new_person_under_a_real_name_login_shows_at_once_though_the_standby_lags(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    pair: PgPair,
    donor: tuple[StationKey, dict[str, str]],
) -> None:
    """A real-name platform login reaches every person under its ID + name, also one created just now
    (here: a record with another ABO type, kept apart under review)."""
    key, _ = donor
    identity = identity_hash_of(INDEX_KEY, IdType.RESIDENT_ID, WANG_FANG["id_number"])
    with db.transaction() as uow:
        grant = donor_session(uow, identity, name_hash_of(INDEX_KEY, WANG_FANG["name"]), method="alipay")
    auth = {"Authorization": f"Bearer {grant.token}"}
    pair.wait_replayed()
    assert donation_numbers(client, auth) == ["W1"]
    pair.pause_replay()
    report(client, key, make_record(donation_no="W5", donor={"abo": "B"}))
    response = client.get(BASE + "/api/v1/me/donations", headers=auth).json()
    assert sorted(d["donation_no"] for d in response["donations"]) == ["W1", "W5"]
    assert all(d["under_review"] for d in response["donations"])


def test_a_login_the_standby_has_not_replayed_reads_from_the_primary(
    client: TestClient,  # type: ignore[type-arg]
    pair: PgPair,
    donor: tuple[StationKey, dict[str, str]],
) -> None:
    pair.pause_replay()
    auth = log_in(client, "W1")
    missing = reads("primary", "missing_session")
    assert donation_numbers(client, auth) == ["W1"]
    assert reads("primary", "missing_session") == missing + 1


def test_a_logout_holds_at_once_though_the_standby_lags(
    client: TestClient,  # type: ignore[type-arg]
    pair: PgPair,
    donor: tuple[StationKey, dict[str, str]],
) -> None:
    _, auth = donor
    pair.pause_replay()
    assert client.post(BASE + "/api/v1/auth/logout", headers=auth).status_code == 204
    assert client.get(BASE + "/api/v1/me/donations", headers=auth).status_code == 401


def test_a_standby_that_is_down_leaves_donors_reading_from_the_primary(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    pair: PgPair,
    donor: tuple[StationKey, dict[str, str]],
) -> None:
    _, auth = donor
    assert db.replica is not None
    db.replica.availability.backoff_s = 1.0
    assert donation_numbers(client, auth) == ["W1"]  # a connection to the standby is now open
    pair.replica.stop("immediate")
    down = reads("primary", "replica_down")
    assert donation_numbers(client, auth) == ["W1"]
    started = time.monotonic()
    assert donation_numbers(client, auth) == ["W1"]
    assert time.monotonic() - started < 1.0  # backing off: no wait for the standby
    assert reads("primary", "replica_down") == down + 2

    pair.replica.start()
    pair.wait_replayed()
    time.sleep(db.replica.availability.backoff_s)
    on_standby = reads("replica", "replayed")
    assert donation_numbers(client, auth) == ["W1"]
    assert reads("replica", "replayed") == on_standby + 1


def test_an_unreachable_standby_costs_one_timeout_then_none(
    tmp_path: Path, pair: PgPair, database_name: str
) -> None:
    """A standby address where nothing answers: reads go to the primary, after one failed connection."""
    database = Database(
        pair.primary_url(database_name),
        data_key=DATA_KEY,
        replica_url=pair.replica.url(database_name).replace(str(pair.replica.port), "1"),
    )
    try:
        assert database.replica is not None
        started = time.monotonic()
        assert (
            database.donor_read(lambda reads: reads.raw.execute("SELECT 1").fetchone()[0], standby=True) == 1
        )
        assert (
            database.donor_read(lambda reads: reads.raw.execute("SELECT 1").fetchone()[0], standby=True) == 1
        )
        assert time.monotonic() - started < 5
        assert not database.replica.availability.up
    finally:
        database.dispose()


def test_prune_drops_expired_fences(db: Database, donor: tuple[StationKey, dict[str, str]]) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO replica_fences VALUES ('p:999', 1, '2000-01-01')"))
        live = conn.execute(text("SELECT count(*) FROM replica_fences WHERE expires_at > now()")).scalar()
    with db.transaction() as uow:
        pruned = prune(uow, now=datetime.now(UTC) + timedelta(seconds=1), signature_window_s=300)
    assert pruned.fences == 1
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM replica_fences")).scalar() == live


def _name(pair: PgPair, client: TestClient) -> str:  # type: ignore[type-arg]
    return str(client.app.state["bloodcert"].db.url.rsplit("/", 1)[1])
