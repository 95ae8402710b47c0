"""Engines: SQLite (WAL, busy timeout, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry

from bloodcert.storage.crypto import attach_cipher


def make_engine(url: str, *, data_key: bytes | None = None, echo: bool = False) -> Engine:
    """Create the engine for a database URL, with the pragmas and pool the backend needs.

    With `data_key`, the engine reads and writes the encrypted personal data columns; without it, any
    use of them fails with a clear error (schema checks and migrations of empty databases need no key).
    """
    engine = _sqlite_engine(url, echo) if url.startswith("sqlite") else _postgres_engine(url, echo)
    if data_key is not None:
        attach_cipher(engine, data_key)
    return engine


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


class WriterQueue:
    """SQLite's writers of every worker process and thread wait their turn here, not in SQLite's busy handler.

    SQLite lets one writer in at a time (BEGIN IMMEDIATE). A writer that finds the lock taken sleeps in
    SQLite's busy handler for 1, 2, 5, 10, … up to 100 ms between tries, so under a steady stream of short
    writes (a hospital's claims, a station's reports) a waiter oversleeps the lock many times over: at 200
    claims a second the queue grew without bound. Here each waiting thread polls an advisory file lock
    (flock, on its own descriptor, so threads and processes exclude each other alike) every 50 µs to 1 ms,
    and takes SQLite's lock the moment it holds this one. It only orders writers; SQLite's lock still
    guarantees exclusion, so a writer that does not queue here (another program) stays safe. After
    `timeout_s` a waiter stops queueing and leaves the rest to SQLite's own busy timeout and its error.
    """

    def __init__(self, path: Path, timeout_s: float = 30.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._local = threading.local()

    def _descriptor(self) -> int:
        held: _Descriptor | None = getattr(self._local, "descriptor", None)
        if held is None:
            held = self._local.descriptor = _Descriptor(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        return held.fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the writers' turn for the block (or wait at most `timeout_s` for it, then go on)."""
        fd = self._descriptor()
        held = self._wait(fd)
        try:
            yield
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _wait(self, fd: int) -> bool:
        deadline = time.monotonic() + self.timeout_s
        pause = 0.00005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.001)


class _Descriptor:
    """A thread's descriptor of the queue's file, closed when the thread (and so its thread-local) ends:
    worker pools retire idle threads and start new ones, which must not leak a descriptor each."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __del__(self) -> None:
        os.close(self.fd)


def writer_queue(url: str) -> WriterQueue | None:
    """The queue for a SQLite database file (beside it, `NAME-writers`); None for PostgreSQL and memory."""
    path = url.split("///", 1)[-1] if url.startswith("sqlite") and "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return WriterQueue(Path(path + "-writers"))
