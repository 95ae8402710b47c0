"""Files holding keys or personal data are owner-only (0600) from the moment they exist."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bloodcert.certs.keystore import KeyStore
from bloodcert.cli import app
from bloodcert.demo import seed_demo
from bloodcert.private_files import open_private, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, as on many servers: the files must be private all the same."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_replacing_a_world_readable_file_leaves_an_owner_only_one(tmp_path: Path, open_umask: object) -> None:
    path = tmp_path / "old.txt"
    path.write_text("left over", encoding="utf-8")
    path.chmod(0o644)
    write_private(path, b"secret")
    assert (mode(path), path.read_bytes()) == (0o600, b"secret")
    with open_private(tmp_path / "report.jsonl", "append") as fh:
        fh.write("{}\n")
    assert mode(tmp_path / "report.jsonl") == 0o600
    with pytest.raises(FileExistsError):
        write_private(path, b"other", "new")


def test_issuer_keys_are_owner_only(tmp_path: Path, open_umask: object) -> None:
    store = KeyStore(tmp_path / "keys")
    store.save(b"\x01" * 8, b"-----BEGIN PRIVATE KEY-----\n")
    assert mode(store.path(b"\x01" * 8)) == 0o600


def test_the_demo_writes_its_station_key_and_records_owner_only(tmp_path: Path, open_umask: object) -> None:
    # Files of an earlier demo run, readable by everyone, are replaced by private ones.
    for name in ("demo-station-key.pem", "demo-records.jsonl"):
        (tmp_path / name).write_text("old", encoding="utf-8")
        (tmp_path / name).chmod(0o644)
    info = seed_demo(persons=3, echo=lambda _: None, data_dir=tmp_path)
    assert mode(tmp_path / "demo-station-key.pem") == 0o600
    assert mode(tmp_path / "demo-records.jsonl") == 0o600
    assert "BLOODCERT_ROOT_KEY_SHA256=" in info.login_text


def test_generated_records_and_import_reports_are_owner_only(tmp_path: Path, open_umask: object) -> None:
    env = {
        "BLOODCERT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "BLOODCERT_DATA_DIR": str(tmp_path),
    }
    runner = CliRunner()
    out = tmp_path / "national.jsonl"
    for args in (
        ["generate", "--persons", "3", "--out", str(out)],
        ["db", "upgrade"],
        ["station", "seed"],
        ["keys", "rotate"],
        ["import", str(out)],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
    assert mode(out) == 0o600
    report = tmp_path / "national.jsonl.rejected.jsonl"
    assert report.exists()
    assert mode(report) == 0o600
