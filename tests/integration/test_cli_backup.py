"""`bloodcert db backup` (SQLite's online backup) and `bloodcert db check-keys` (docs/backup-and-restore.md)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bloodcert.cli import app
from bloodcert.storage.uow import Database
from tests.conftest import DATA_KEY, INDEX_KEY, PG_ADMIN_URL
from tests.factories import create_station, make_record

KEYS = {
    "BLOODCERT_DATA_KEY": DATA_KEY.hex(),
    "BLOODCERT_INDEX_KEY": INDEX_KEY.hex(),
    "BLOODCERT_AUDIT_KEY": "ab" * 32,
}


def invoke(url: str, tmp_path: Path, *args: str, **overrides: str) -> Result:
    env = {"BLOODCERT_DATABASE_URL": url, "BLOODCERT_DATA_DIR": str(tmp_path / "var"), **KEYS, **overrides}
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def platform(tmp_path: Path, sqlite_template: Path) -> str:
    """An SQLite database with a station, two donors' certificates and audit entries (its URL)."""
    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url, data_key=DATA_KEY)
    create_station(db)
    db.dispose()
    for args in (("keys", "rotate"), ("station", "seed")):
        assert invoke(url, tmp_path, *args).exit_code == 0
    records = tmp_path / "records.jsonl"
    records.write_text(
        "\n".join(json.dumps(make_record(donation_no=f"B{i}") | {"station": "33000001"}) for i in range(2))
        + "\n"
    )
    imported = invoke(url, tmp_path, "import", str(records), "--jobs", "0")
    assert "2 accepted" in imported.stdout, imported.output
    return url


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_db_backup_copies_the_database_into_a_private_file_sqlite_finds_sound(
    platform: str, tmp_path: Path
) -> None:
    live = Path(platform.removeprefix("sqlite:///"))
    # A reader holds the database open meanwhile, as a running server would.
    with sqlite3.connect(live) as reader:
        reader.execute("SELECT count(*) FROM certificates").fetchone()
        result = invoke(platform, tmp_path, "db", "backup", str(tmp_path / "backup" / "copy.db"))
    assert result.exit_code == 0, result.output
    copy = tmp_path / "backup" / "copy.db"
    assert "SQLite's check of the copy: ok" in result.stdout
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    for table in ("persons", "donations", "certificates", "audit_log", "stations", "signing_keys"):
        assert count(copy, table) == count(live, table) > 0
    # The copy is a working database: the commands run on it, with the same keys.
    restored = invoke(f"sqlite:///{copy}", tmp_path, "audit", "verify")
    assert restored.exit_code == 0 and "audit chain intact" in restored.stdout


def test_db_backup_never_overwrites_a_file(platform: str, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    target.write_bytes(b"an older backup")
    result = invoke(platform, tmp_path, "db", "backup", str(target))
    assert result.exit_code == 2
    assert "exists; refusing to overwrite it" in result.output
    assert target.read_bytes() == b"an older backup"


@pytest.mark.postgres
def test_db_backup_sends_postgresql_to_its_own_tools(postgres_url: str, tmp_path: Path) -> None:
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    assert PG_ADMIN_URL.startswith("postgresql")
    result = invoke(url, tmp_path, "db", "backup", str(tmp_path / "copy.db"))
    assert result.exit_code == 2
    assert "pg_dump or pg_basebackup" in result.output
    assert not (tmp_path / "copy.db").exists()


def test_check_keys_passes_with_the_keys_the_data_was_written_with(platform: str, tmp_path: Path) -> None:
    result = invoke(platform, tmp_path, "db", "check-keys")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "the keys fit the database: data key, index key, audit key"


def test_check_keys_has_nothing_to_check_on_an_empty_database(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "empty.db")
    result = invoke(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path, "db", "check-keys")
    assert result.exit_code == 0, result.output
    assert "nothing to check (no data yet for the data, index, audit key)" in result.stdout


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("BLOODCERT_DATA_KEY", "BLOODCERT_DATA_KEY is not the key"),
        ("BLOODCERT_INDEX_KEY", "BLOODCERT_INDEX_KEY is not the key"),
        ("BLOODCERT_AUDIT_KEY", "BLOODCERT_AUDIT_KEY is not the key"),
    ],
)
def test_check_keys_names_the_key_that_does_not_fit(
    platform: str, tmp_path: Path, setting: str, message: str
) -> None:
    result = invoke(platform, tmp_path, "db", "check-keys", **{setting: "cd" * 32})
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.count("is not the key") == 1


@pytest.mark.parametrize("setting", ["BLOODCERT_DATA_KEY", "BLOODCERT_INDEX_KEY"])
def test_other_commands_refuse_to_start_with_a_data_or_index_key_that_does_not_fit(
    platform: str, tmp_path: Path, setting: str
) -> None:
    live = Path(platform.removeprefix("sqlite:///"))
    before = count(live, "audit_log")
    for args in (("station", "list"), ("keys", "rotate"), ("db", "prune"), ("notify", "sweep")):
        result = invoke(platform, tmp_path, *args, **{setting: "cd" * 32})
        assert result.exit_code == 2, (args, result.output)
        assert f"{setting} is not the key" in result.output
        assert "docs/backup-and-restore.md" in result.output
    assert count(live, "audit_log") == before, "nothing was written"


def test_a_wrong_audit_key_alone_is_left_to_audit_verify(platform: str, tmp_path: Path) -> None:
    listed = invoke(platform, tmp_path, "station", "list", BLOODCERT_AUDIT_KEY="cd" * 32)
    assert listed.exit_code == 0
    verified = invoke(platform, tmp_path, "audit", "verify", BLOODCERT_AUDIT_KEY="cd" * 32)
    assert verified.exit_code == 1
