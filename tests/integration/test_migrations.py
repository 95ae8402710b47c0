"""The Alembic migrations: up, down and up again on a fresh SQLite file; the result matches tables.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from bloodcert.services.reporting import CERTIFICATE_COUNTER
from bloodcert.storage.migrate import current_heads, downgrade, upgrade
from bloodcert.storage.schema import is_up_to_date
from bloodcert.storage.tables import counters, metadata
from bloodcert.storage.uow import Database


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Database]:
    """A database URL on a file no migration has run on yet."""
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    yield database
    database.dispose()


def schema_differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return list(compare_metadata(context, metadata))


def certificate_counter(db: Database) -> int | None:
    """The next certificate serial, or None when the counters row is missing."""
    with db.reading() as uow:
        query = select(counters.c.next_value).where(counters.c.name == CERTIFICATE_COUNTER)
        value = uow.conn.execute(query).scalar_one_or_none()
    return None if value is None else int(value)


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_a_fresh_database_is_not_up_to_date(fresh: Database) -> None:
    assert not is_up_to_date(fresh)
    assert tables(fresh) == set()


def test_upgrade_creates_every_table_and_reaches_the_head(fresh: Database) -> None:
    upgrade(fresh.url)
    assert is_up_to_date(fresh)
    assert tables(fresh) == set(metadata.tables)
    with fresh.engine.connect() as conn:
        assert set(MigrationContext.configure(conn).get_current_heads()) == current_heads(fresh.url)


def test_the_migrated_schema_matches_the_table_definitions(fresh: Database) -> None:
    upgrade(fresh.url)
    assert schema_differences(fresh) == []


def test_upgrade_seeds_the_certificate_counter(fresh: Database) -> None:
    upgrade(fresh.url)
    assert certificate_counter(fresh) == 1


def test_upgrade_downgrade_upgrade_round_trips(fresh: Database) -> None:
    upgrade(fresh.url)
    downgrade(fresh.url, "base")
    assert tables(fresh) == set()
    assert not is_up_to_date(fresh)
    upgrade(fresh.url)
    assert is_up_to_date(fresh)
    assert schema_differences(fresh) == []
    assert certificate_counter(fresh) == 1


def test_upgrading_a_database_at_the_head_changes_nothing(fresh: Database) -> None:
    upgrade(fresh.url)
    with fresh.reading() as uow:
        before = uow.conn.execute(select(counters).order_by(counters.c.name)).all()
    upgrade(fresh.url)
    assert is_up_to_date(fresh)
    with fresh.reading() as uow:
        assert uow.conn.execute(select(counters).order_by(counters.c.name)).all() == before


@pytest.mark.postgres
def test_the_postgresql_database_built_by_the_migrations_is_up_to_date(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        assert is_up_to_date(database)
        assert schema_differences(database) == []
    finally:
        database.dispose()
