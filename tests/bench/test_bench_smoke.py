"""The benchmark harness keeps working: a smoke run (a few thousand persons, seconds of load)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    shutil.which("wrk") is None and os.environ.get("BLOODCERT_REQUIRE_BROWSER") != "1",
    reason="wrk is not installed (make bench installs it)",
)
def test_the_bench_smoke_run_prints_its_table_without_errors() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout.split("| dataset |")[-1]
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| 3,000 |")]
    by_name = {cells[3].strip(): cells for cells in rows}
    for name in ("history", "certificate", "verify", "healthz"):
        assert float(by_name[name][4].replace(",", "")) > 0
        assert by_name[name][7].strip() == "0", f"{name} had errors"
    assert by_name["visible in the first request after the 200"][4].strip() == "yes"
