"""Writes a request queues instead of making (audit entries of reads): written in the background, in order,
and kept through a database outage until a flush succeeds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from bloodcert.services.audit import AuditEvent, AuditSink, verify_chain
from bloodcert.services.flushing import Flusher
from bloodcert.storage.tables import audit_log
from bloodcert.storage.uow import Database

KEY = bytes(range(32))


def actions(db: Database) -> list[str]:
    with db.reading() as uow:
        return list(uow.conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


class _Unreachable:
    """A database whose transactions fail, as while the server restarts."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        raise ConnectionError("the database is away")
        yield


def read(n: int) -> AuditEvent:
    return AuditEvent("donor:session:1", f"read:{n}", None, "127.0.0.1")


def test_buffered_entries_wait_for_the_flush_and_keep_their_order(db: Database) -> None:
    sink = AuditSink(db, KEY, mode="buffered", interval_s=3600.0)
    for n in range(3):
        sink.record(read(n))
    assert actions(db) == []
    assert sink.flush() == 3
    assert actions(db) == ["read:0", "read:1", "read:2"]
    sink.close()


def test_the_background_thread_writes_them(db: Database) -> None:
    sink = AuditSink(db, KEY, mode="buffered", interval_s=0.02)
    sink.record(read(0))
    deadline = time.monotonic() + 10
    while actions(db) != ["read:0"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert actions(db) == ["read:0"]
    sink.close()


def test_entries_a_flush_could_not_write_are_written_by_the_next_in_their_order(db: Database) -> None:
    sink = AuditSink(db, KEY, mode="buffered", interval_s=3600.0)
    sink.record(read(0))
    sink.record(read(1))
    sink.db = _Unreachable()
    with pytest.raises(ConnectionError):
        sink.flush()
    sink.record(read(2))  # came while the database was away
    with pytest.raises(ConnectionError):
        sink.flush()
    sink.db = db
    assert sink.flush() == 3
    assert actions(db) == ["read:0", "read:1", "read:2"]
    with db.transaction() as uow:
        assert verify_chain(uow, KEY).intact
    assert sink.flush() == 0
    sink.close()


def test_a_failing_flush_does_not_stop_the_thread() -> None:
    calls: list[int] = []
    again = threading.Event()

    def flush() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("the database is away")
        again.set()

    flusher = Flusher("test-flush", flush)
    flusher.start(0.01)
    flusher.start(0.01)  # once is enough: a second start does nothing
    assert again.wait(10), "the thread stopped after the failed flush"
    flusher.stop()
    settled = len(calls)
    time.sleep(0.05)
    assert len(calls) == settled  # stopped means stopped
    assert sum(t.name == "test-flush" for t in threading.enumerate()) == 0
