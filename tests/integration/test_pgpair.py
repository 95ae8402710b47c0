"""The private primary + hot standby that replica tests run on (tests/pgpair.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from tests.pgpair import PGPAIR_GROUP, PgPair, skip_or_fail, unavailable_reason

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group(PGPAIR_GROUP)]


def test_the_standby_streams_what_the_primary_writes(pair: PgPair) -> None:
    pair.primary.query("CREATE TABLE IF NOT EXISTS pgpair_t (n int)")
    pair.primary.query("INSERT INTO pgpair_t VALUES (1) RETURNING n")
    pair.wait_replayed()
    assert pair.replica.query("SELECT count(*) FROM pgpair_t") >= 1
    assert pair.replica.query("SELECT pg_is_in_recovery()") is True
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        pair.replica.query("INSERT INTO pgpair_t VALUES (2)")


def test_a_paused_standby_lags_until_resumed(pair: PgPair) -> None:
    pair.primary.query("CREATE TABLE IF NOT EXISTS pgpair_lag (n int)")
    pair.wait_replayed()
    pair.pause_replay()
    pair.primary.query("INSERT INTO pgpair_lag VALUES (7) RETURNING n")
    time.sleep(0.3)
    assert pair.replica.query("SELECT count(*) FROM pgpair_lag WHERE n = 7") == 0
    pair.resume_replay()
    pair.wait_replayed()
    assert pair.replica.query("SELECT count(*) FROM pgpair_lag WHERE n = 7") == 1


def test_either_server_stops_and_starts_again(pair: PgPair) -> None:
    pair.replica.stop()
    assert not pair.replica.running
    with pytest.raises(psycopg.OperationalError):
        pair.replica.query("SELECT 1")
    pair.replica.start()
    pair.primary.restart()
    pair.wait_replayed()
    assert pair.replica.query("SELECT 1") == 1


def test_a_test_process_that_dies_leaves_no_server_behind(tmp_path: Path) -> None:
    reason = unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    script = textwrap.dedent(
        """
        import os, signal, sys
        from tests.pgpair import start_pair
        pair = start_pair()
        print(pair.primary.datadir, pair.replica.datadir, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no teardown, no exit handlers
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    folders = [Path(p) for p in done.stdout.split()]
    assert len(folders) == 2, done.stderr
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(f.exists() for f in folders):
        time.sleep(0.2)
    assert not any(f.exists() for f in folders), "the watchdog did not clean up"
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert not any(str(f) in running for f in folders)
