"""An import's signing workers end with the import, even when it is killed without warning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

IMPORT_LIKE = """
import sys, time
from bloodcert.services.workers import IngestWorkers
with IngestWorkers(2) as workers:
    jobs = [workers._pool.submit(time.sleep, 0.3) for _ in range(2)]
    [job.result() for job in jobs]
    time.sleep(0.5)
    print(" ".join(str(p) for p in workers._pool._processes), flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_workers_exit_soon_after_their_import_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", IMPORT_LIKE], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert workers
    assert all(_alive(pid) for pid in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
