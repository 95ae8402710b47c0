"""Engines: SQLite (WAL, busy timeout, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

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


def side_engine(engine: Engine) -> Engine:
    """A small pool of its own beside a PostgreSQL engine's, for the short transactions a unit of work takes
    while it holds a connection of `engine` (the counters' blocks of numbers).

    Taken from `engine`'s own pool, such a transaction needs a second connection while the first is held:
    with as many busy units of work as the pool has connections, each would wait for another's, and all
    would fail at the pool's timeout. These transactions hold nothing else, so waiting here always ends.
    """
    with _SIDE_LOCK:
        side = _SIDE.get(engine)
        if side is None:
            url = engine.url.render_as_string(hide_password=False)
            side = _SIDE[engine] = create_engine(url, pool_size=2, max_overflow=8, pool_pre_ping=True)
        return side


def dispose_side_engine(engine: Engine) -> None:
    """Close the side pool of `engine`, if it has one."""
    with _SIDE_LOCK:
        side = _SIDE.pop(engine, None)
    if side is not None:
        side.dispose()


_SIDE: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_SIDE_LOCK = threading.Lock()


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
    writes (hospital claims, station reports) waiters oversleep the lock many times over and the queue
    grows. Here the threads of a process queue on a lock in memory, and the one at the head of the queue
    waits for an advisory lock on a file beside the database (flock), which the kernel hands over the moment
    its holder lets go; then it takes SQLite's lock, which is free. Nobody polls, so a long queue costs no
    CPU. This only orders writers: SQLite's lock still guarantees exclusion, so a program that does not
    queue here stays safe.

    Every queue on one file in a process shares that process's place (a thread that already holds the turn
    and opens a second transaction does not wait for itself). A thread that waited `timeout_s` for its
    process's turn stops queueing and leaves the rest to SQLite's busy timeout and its error.
    """

    def __init__(self, path: Path, timeout_s: float = 30.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        with _PLACES_LOCK:
            self._place = _PLACES.setdefault(str(path), _Place())

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the writers' turn for the block (or wait at most `timeout_s` in the process's queue)."""
        place = self._place
        if not place.lock.acquire(timeout=self.timeout_s):
            yield
            return
        try:
            place.depth += 1
            if place.depth == 1:
                fcntl.flock(place.descriptor(self.path), fcntl.LOCK_EX)
            try:
                yield
            finally:
                place.depth -= 1
                if place.depth == 0:
                    fcntl.flock(place.descriptor(self.path), fcntl.LOCK_UN)
        finally:
            place.lock.release()


class _Place:
    """A process's place in one database's writer queue: its threads' queue and its file descriptor."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0
        self._fd: int | None = None
        self._pid = 0

    def descriptor(self, path: Path) -> int:
        # A forked child must not share its parent's open file, or the two would hold the lock as one.
        if self._fd is None or self._pid != os.getpid():
            self._fd, self._pid = os.open(path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd


_PLACES: dict[str, _Place] = {}
_PLACES_LOCK = threading.Lock()


def writer_queue(url: str) -> WriterQueue | None:
    """The queue for a SQLite database file (beside it, `NAME-writers`); None for PostgreSQL and memory."""
    path = url.split("///", 1)[-1] if url.startswith("sqlite") and "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return WriterQueue(Path(path + "-writers"))
