"""`bloodcert` run as a process of its own on a test database, for tests that kill it or run it twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bloodcert.storage.uow import Database
from tests.conftest import DATA_KEY, INDEX_KEY

SRC = Path(__file__).resolve().parents[1] / "src"


def cli_env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The settings a `bloodcert` command needs on a test database: its URL, a data folder under
    `tmp_path` and the keys the test database is written with (and `extra` settings)."""
    return {
        "BLOODCERT_DATABASE_URL": url,
        "BLOODCERT_DATA_DIR": str(tmp_path / "var"),
        "BLOODCERT_DATA_KEY": DATA_KEY.hex(),
        "BLOODCERT_INDEX_KEY": INDEX_KEY.hex(),
        **extra,
    }


def cli(tmp_path: Path, db: Database, *args: str) -> subprocess.Popen[bytes]:
    """`bloodcert ARGS` on `db`, with the test keys and its data folder under `tmp_path`, started."""
    env = {**os.environ, "PYTHONPATH": str(SRC), **cli_env(db.url, tmp_path)}
    code = "from bloodcert.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
