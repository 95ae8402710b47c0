"""SQLite's writers queue for their turn in one place, across threads and across processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import text

from bloodcert.storage.engine import WriterQueue, writer_queue
from bloodcert.storage.uow import Database
from tests.conftest import DATA_KEY

HOLD = """
import sys, time
from pathlib import Path
from bloodcert.storage.engine import WriterQueue
with WriterQueue(Path(sys.argv[1])).turn():
    Path(sys.argv[2]).write_text("holding")
    time.sleep(0.5)
    Path(sys.argv[2]).write_text("done")
"""


def test_a_writer_in_another_process_waits_until_the_holder_lets_go(tmp_path: Path) -> None:
    lock, state = tmp_path / "db-writers", tmp_path / "state"
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(lock), str(state)])
    deadline = time.monotonic() + 30
    while not (state.exists() and state.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert state.read_text() == "holding"
    with WriterQueue(lock).turn():
        seen = state.read_text()
    other.wait(30)
    assert seen == "done"


def test_threads_exclude_each_other(tmp_path: Path) -> None:
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


def test_a_thread_holding_the_turn_does_not_wait_for_itself(tmp_path: Path) -> None:
    first, second = WriterQueue(tmp_path / "db-writers"), WriterQueue(tmp_path / "db-writers")
    with first.turn(), second.turn():
        pass
    with second.turn():  # and the turn was given back whole
        pass


def test_a_waiter_stops_queueing_after_its_timeout(tmp_path: Path) -> None:
    holder = WriterQueue(tmp_path / "db-writers")
    waiter = WriterQueue(tmp_path / "db-writers", timeout_s=0.05)
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.turn():
            holding.set()
            done.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    started = time.monotonic()
    with waiter.turn():
        waited = time.monotonic() - started
    done.set()
    thread.join()
    assert waited < 5  # it went on without the turn; SQLite's own busy timeout then decides


def test_only_sqlite_files_queue() -> None:
    assert writer_queue("postgresql+psycopg://u@h/db") is None
    assert writer_queue("sqlite://") is None
    assert writer_queue("sqlite:///:memory:") is None
    queue = writer_queue("sqlite:////var/lib/bloodcert/bloodcert.db")
    assert queue is not None
    assert queue.path == Path("/var/lib/bloodcert/bloodcert.db-writers")


def test_concurrent_transactions_on_one_file_all_commit(tmp_path: Path) -> None:
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
