"""SQLite's writers queue for their turn in one place, across threads and across Database objects."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from sqlalchemy import text

from bloodcert.storage.engine import WriterQueue, writer_queue
from bloodcert.storage.uow import Database
from tests.conftest import DATA_KEY


def test_a_writer_waits_while_another_holds_the_turn_and_goes_on_when_it_ends(tmp_path: Path) -> None:
    first, second = WriterQueue(tmp_path / "db-writers"), WriterQueue(tmp_path / "db-writers")
    order: list[str] = []
    holding = threading.Event()

    def hold() -> None:
        with first.turn():
            holding.set()
            time.sleep(0.2)
            order.append("first ends")

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    with second.turn():
        order.append("second starts")
    holder.join()
    assert order == ["first ends", "second starts"]


def test_threads_of_one_queue_exclude_each_other(tmp_path: Path) -> None:
    queue = WriterQueue(tmp_path / "db-writers")
    inside = 0
    most = 0
    lock = threading.Lock()

    def write() -> None:
        nonlocal inside, most
        for _ in range(20):
            with queue.turn():
                with lock:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.0005)
                with lock:
                    inside -= 1

    threads = [threading.Thread(target=write) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1


def test_a_waiter_stops_queueing_after_its_timeout(tmp_path: Path) -> None:
    holder, waiter = (
        WriterQueue(tmp_path / "db-writers"),
        WriterQueue(tmp_path / "db-writers", timeout_s=0.05),
    )
    with holder.turn(), waiter.turn():
        pass  # the waiter went on without the turn (SQLite's own busy timeout then decides)
    with waiter.turn():  # and it did not keep a turn it never held
        pass


def test_only_sqlite_files_queue() -> None:
    assert writer_queue("postgresql+psycopg://u@h/db") is None
    assert writer_queue("sqlite://") is None
    assert writer_queue("sqlite:///:memory:") is None
    queue = writer_queue("sqlite:////var/lib/bloodcert/bloodcert.db")
    assert queue is not None
    assert queue.path == Path("/var/lib/bloodcert/bloodcert.db-writers")


def test_concurrent_transactions_of_two_databases_on_one_file_all_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    a, b = Database(url, data_key=DATA_KEY), Database(url, data_key=DATA_KEY)
    with a.transaction() as uow:
        uow.conn.execute(text("CREATE TABLE tally (n INTEGER)"))
        uow.conn.execute(text("INSERT INTO tally VALUES (0)"))

    def bump(db: Database) -> None:
        for _ in range(25):
            with db.transaction() as uow:
                n = uow.conn.execute(text("SELECT n FROM tally")).scalar_one()
                uow.conn.execute(text("UPDATE tally SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=bump, args=(db,)) for db in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with a.reading() as uow:
        assert uow.conn.execute(text("SELECT n FROM tally")).scalar_one() == 100
    a.dispose()
    b.dispose()


def test_a_thread_that_ends_closes_its_descriptor(tmp_path: Path) -> None:
    queue = WriterQueue(tmp_path / "db-writers")

    def count() -> int:
        return len(os.listdir("/proc/self/fd"))

    def write() -> None:
        with queue.turn():
            pass

    before = count()
    for _ in range(20):
        t = threading.Thread(target=write)
        t.start()
        t.join()
    assert count() - before < 5
