"""Engines: SQLite (WAL, busy timeout, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry

from bloodcert import metrics
from bloodcert.storage.crypto import attach_cipher


def make_engine(url: str, *, data_key: bytes | None = None, echo: bool = False) -> Engine:
    """Create the engine for a database URL, with the pragmas and pool the backend needs.

    With `data_key`, the engine reads and writes the encrypted personal data columns; without it, any
    use of them fails with a clear error (schema checks and migrations of empty databases need no key).
    """
    engine = _sqlite_engine(url, echo) if url.startswith("sqlite") else _postgres_engine(url, echo)
    if data_key is not None:
        attach_cipher(engine, data_key)
    _count_pool_use(engine)
    return engine


def _count_pool_use(engine: Engine) -> None:
    """Keep the metrics' count of connections in use (a detached connection leaves the pool for good)."""
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _returned)
    event.listen(engine, "detach", _returned)
    size = getattr(engine.pool, "size", None)
    if callable(size):
        metrics.pool_size(int(size()))


def _checked_out(*_: Any) -> None:
    metrics.connection_checked_out()


def _returned(*_: Any) -> None:
    metrics.connection_returned()


def _sqlite_engine(url: str, echo: bool) -> Engine:
    _ensure_sqlite_dir(url)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    # pysqlite's own transaction handling defers BEGIN; issue it ourselves so that writers take
    # the lock at the start of a unit of work and never deadlock on upgrade from reader to writer.
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _postgres_engine(url: str, echo: bool) -> Engine:
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1] if "///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_begin(conn: Connection) -> None:
    # Read-only work (donor queries) must not queue behind writers for the write lock.
    read_only = conn.get_execution_options().get("bloodcert_read_only", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Autocommit at the driver level; SQLAlchemy's "begin" event above opens transactions explicitly.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Donor reads hit random pages of a large file: a bigger cache and memory-mapped reads spare syscalls.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()
