"""Read-your-writes fences and where donors' reads go, without a PostgreSQL standby: the fence logic,
the back-off, the configuration checks, and the routing with stand-ins for the standby and the fences."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Connection

from bloodcert.config import ConfigError, Settings
from bloodcert.domain.identity import IdType
from bloodcert.domain.keyed import identity_hash_of, name_hash_of
from bloodcert.services import replica_reads
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import report_donations
from bloodcert.services.sessions import donor_session
from bloodcert.storage.changes import ChangedKeys, fence_keys
from bloodcert.storage.replica import Availability, Standby, satisfied, with_connect_timeout
from bloodcert.storage.uow import Database
from tests.conftest import DATA_KEY, INDEX_KEY
from tests.factories import WANG_FANG, create_station, make_record, report_records
from tests.factories import donor_session as open_session


def test_a_standby_shows_a_fence_once_it_has_replayed_it() -> None:
    assert satisfied(None, None)  # nothing fenced: any standby will do
    assert satisfied(100, None)
    assert satisfied(100, 100)
    assert satisfied(101, 100)
    assert not satisfied(99, 100)
    assert not satisfied(None, 100)  # a server that replays nothing (not a standby) proves nothing


def test_the_changed_keys_name_persons_and_sessions() -> None:
    changed = ChangedKeys()
    changed.persons([3, 1, 3])
    changed.session(7)
    changed.identities([bytes(range(32))])
    assert changed == {"p:1", "p:3", "s:7", "i:000102030405060708090a0b0c0d0e"}
    assert fence_keys((1, 3), 7, b"\xff" * 32) == ["p:1", "p:3", "s:7", "i:" + "ff" * 15]


def test_availability_backs_off_after_a_failure_and_then_tries_again() -> None:
    availability = Availability(backoff_s=0.05)
    assert availability.up
    availability.failed()
    assert not availability.up
    time.sleep(0.06)
    assert availability.up


def test_the_standby_url_gets_a_connection_timeout_unless_it_has_one() -> None:
    assert with_connect_timeout("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db?connect_timeout=2"
    assert with_connect_timeout("postgresql+psycopg://h/db?sslmode=require").endswith("&connect_timeout=2")
    assert with_connect_timeout("postgresql+psycopg://h/db?connect_timeout=9").endswith("=9")


def test_a_replica_with_sqlite_is_a_configuration_error() -> None:
    env = {"BLOODCERT_REPLICA_URL": "postgresql://standby/bloodcert", "BLOODCERT_DATA_DIR": "/nonexistent"}
    with pytest.raises(ConfigError, match="SQLite has no replicas"):
        Settings.from_env({**env, "BLOODCERT_INDEX_KEY": "00" * 32, "BLOODCERT_AUDIT_KEY": "00" * 32})
    with pytest.raises(ConfigError, match="SQLite has no replicas"):
        Database("sqlite:///:memory:", replica_url="postgresql+psycopg://standby/bloodcert")


def test_the_replica_setting_is_read_and_normalised() -> None:
    keys = dict.fromkeys(("BLOODCERT_INDEX_KEY", "BLOODCERT_AUDIT_KEY", "BLOODCERT_DATA_KEY"), "00" * 32)
    env = {
        **keys,
        "BLOODCERT_DATABASE_URL": "postgresql://primary/bloodcert",
        "BLOODCERT_REPLICA_URL": "postgresql://standby/bloodcert",
    }
    assert Settings.from_env(env).replica_url == "postgresql+psycopg://standby/bloodcert"
    assert Settings.from_env(keys).replica_url is None
    with pytest.raises(ConfigError, match="REPLICA_URL must be a postgresql"):
        Settings.from_env({**env, "BLOODCERT_REPLICA_URL": "mysql://standby/bloodcert"})


class _Fences:
    """Fences in memory, and what was asked of them."""

    def __init__(self) -> None:
        self.kept: dict[str, int] = {}
        self.asked: list[list[str]] = []

    def record(self, conn: Connection, keys: Sequence[str]) -> None:
        for key in keys:
            self.kept[key] = 100

    def highest(self, keys: Sequence[str]) -> int | None:
        self.asked.append(list(keys))
        return max((self.kept[k] for k in keys if k in self.kept), default=None)


class _Standby(Standby):
    """The same SQLite database standing in for a standby that has replayed up to `replayed`."""

    replayed: int | None = 0

    def attempt(self, read: Any) -> tuple[bool, Any]:
        def at_position(reads: Any) -> Any:
            reads.history.replayed = self.replayed
            return read(reads)

        return super().attempt(at_position)


def _resolve(db: Database, token: str) -> tuple[Any, bool]:
    now = datetime.now(UTC)
    principal, touch, _ = replica_reads.session_read(
        db, token, lambda reads: donor_session(reads, token, now)
    )
    return principal, touch


def _reads(target: str, reason: str) -> float:
    return (
        REGISTRY.get_sample_value("bloodcert_donor_reads_total", {"target": target, "reason": reason}) or 0.0
    )


@pytest.fixture
def routed(sqlite_db: Database, signing: Signing) -> tuple[Database, _Fences, str]:
    """王芳's donation and session, on a database whose `replica` is a stand-in with in-memory fences."""
    create_station(sqlite_db)
    report_records(sqlite_db, signing, [make_record(donation_no="W1")])
    fences = _Fences()
    sqlite_db.replica = _Standby(Database(sqlite_db.url, data_key=DATA_KEY), fences)
    identity = identity_hash_of(INDEX_KEY, IdType.RESIDENT_ID, WANG_FANG["id_number"])
    with sqlite_db.transaction() as uow:
        grant = open_session(uow, identity, name_hash_of(INDEX_KEY, WANG_FANG["name"]), person_id=1)
    return sqlite_db, fences, grant.token


def test_without_fences_the_standby_answers(routed: tuple[Database, _Fences, str]) -> None:
    db, fences, token = routed
    before = _reads("replica", "replayed")
    principal, _ = _resolve(db, token)
    assert principal.on_standby
    assert _reads("replica", "replayed") == before + 1
    assert fences.asked == [fence_keys(principal.person_ids, principal.session_id, principal.identity_hash)]


def test_a_fence_the_standby_has_not_replayed_sends_the_donor_to_the_primary(
    routed: tuple[Database, _Fences, str],
) -> None:
    db, fences, token = routed
    assert isinstance(db.replica, _Standby)
    fences.kept["p:1"] = 100
    db.replica.replayed = 99
    before = _reads("primary", "fence")
    principal, _ = _resolve(db, token)
    assert not principal.on_standby
    assert _reads("primary", "fence") == before + 1
    db.replica.replayed = 100
    assert _resolve(db, token)[0].on_standby


def test_a_transaction_that_changes_a_person_fences_them_once_committed(
    routed: tuple[Database, _Fences, str], signing: Signing
) -> None:
    db, fences, _ = routed
    fences.kept.clear()
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        report_donations(
            uow,
            station=station,
            records=[make_record(donation_no="W2")],
            index_key=INDEX_KEY,
            signing=signing,
            now=datetime.now(UTC),
        )
        assert fences.kept == {}  # not before the commit
    assert fences.kept == {"p:1": 100}
    fences.kept.clear()
    with pytest.raises(RuntimeError), db.transaction() as uow:
        _change_and_fail(uow)
    assert fences.kept == {}  # nothing committed, nothing fenced


def _change_and_fail(uow: Any) -> None:
    uow.persons.recompute_totals([1], datetime.now(UTC).replace(tzinfo=None))
    raise RuntimeError("rolled back")


def test_a_standby_that_fails_is_left_alone_for_a_while(sqlite_db: Database) -> None:
    calls: list[int] = []

    class Broken:
        url = "postgresql+psycopg://standby/db"
        engine = sqlite_db.engine

        def donor_reads(self) -> Any:
            calls.append(1)
            raise sqlite_db.engine.dialect.loaded_dbapi.OperationalError("connection refused")

    standby = Standby(Broken(), _Fences(), Availability(backoff_s=60))
    assert standby.attempt(lambda reads: 1) == (False, None)
    assert standby.attempt(lambda reads: 1) == (False, None)
    assert calls == [1]  # the second read did not even try


def test_errors_of_the_read_itself_are_not_a_standby_failure(sqlite_db: Database) -> None:
    standby = Standby(sqlite_db, _Fences())

    def failing(reads: Any) -> None:
        raise LookupError("no such certificate")

    with pytest.raises(LookupError):
        standby.attempt(failing)
    assert standby.availability.up
