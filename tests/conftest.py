"""Shared fixtures: a migrated database per test, on SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from bloodcert.certs.keystore import KeyStore
from bloodcert.config import Settings
from bloodcert.services import passwords
from bloodcert.services.certificates import Signing, rotate_keys
from bloodcert.storage.migrate import upgrade
from bloodcert.storage.tables import metadata
from bloodcert.storage.uow import Database
from tests.pgpair import pair, pg_pair  # noqa: F401 - fixtures for tests of replicas and clusters

PG_ADMIN_URL = os.environ.get(
    "BLOODCERT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
INDEX_KEY = bytes(range(32))
# Tests fire many requests from one client in a second; the abuse limits have tests of their own.
GENEROUS_LIMITS = tuple(
    (name, "100000/second")
    for name in (
        "login",
        "login_page",
        "captcha",
        "verify",
        "station",
        "provider",
        "console_login",
        "anonymous",
        "refused",
        "render",
        "render_session",
        "upload",
        "correction",
    )
)
DATA_KEY = bytes(range(100, 132))
# Console passwords are argon2id at 64 MiB in production (~0.2 s a hash); tests hash with the least cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Staff passwords hashed with cheap argon2id parameters (the rehash test swaps the hasher itself)."""
    monkeypatch.setattr(passwords, "HASHER", FAST_HASHER)


def _postgres_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}", data_key=DATA_KEY)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database built by the migrations, dropped at the end of the session."""
    if not _postgres_available():
        if os.environ.get("BLOODCERT_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (BLOODCERT_REQUIRE_POSTGRES=1) but unreachable")
        pytest.skip("PostgreSQL is not reachable")
    name = f"bloodcert_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url, data_key=DATA_KEY)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_postgres(db: Database) -> None:
    """Every table of a migrated PostgreSQL database emptied, its ids and counters back at 1."""
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name != "counters")
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE counters SET next_value = 1"))


def signing_for(tmp_path: Path) -> Signing:
    """The certificate signing configuration of a test (keys under tmp_path/var/keys)."""
    return Signing(KeyStore(tmp_path / "var" / "keys"), "CN-NHC")


def with_keys(database: Database, tmp_path: Path) -> Database:
    """`database` with certificate keys of the test (signing_for(tmp_path)) in place."""
    with database.transaction() as uow:
        rotate_keys(uow, signing_for(tmp_path), datetime.now(UTC))
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database with certificate keys: SQLite, and PostgreSQL when reachable."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}", data_key=DATA_KEY)
        yield with_keys(database, tmp_path)
        database.dispose()
        return
    database = Database(request.getfixturevalue("postgres_url"), data_key=DATA_KEY)
    empty_postgres(database)
    yield with_keys(database, tmp_path)
    database.dispose()


@pytest.fixture
def signing(tmp_path: Path) -> Signing:
    """The signing configuration matching the `db` fixture's keys."""
    return signing_for(tmp_path)


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A migrated SQLite database with certificate keys, for tests that need only one backend."""
    path = tmp_path / "test.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}", data_key=DATA_KEY)
    yield with_keys(database, tmp_path)
    database.dispose()


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    """Settings pointing at the test database."""
    return Settings(
        database_url=db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
        audit_mode="sync",  # entries are in the database when the response is
    )
