"""`bloodcert staff add | list | disable` against an SQLite file (see test_cli.py for how commands are run)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import STAFF_PASSWORD
from tests.integration.test_cli import Env, MainResult, MainRunner, invoke, last_line


@pytest.fixture
def env(tmp_path: Path, sqlite_template: Path) -> Env:
    """A migrated SQLite file and an empty data directory."""
    db_path = tmp_path / "bloodcert.db"
    shutil.copy(sqlite_template, db_path)
    return Env(db_path, tmp_path / "var")


@pytest.fixture
def run_main(env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> MainRunner:
    """`bloodcert …` through `main`, on the `env` database."""
    return MainRunner(env, monkeypatch, capsys)


@pytest.fixture
def seeded(env: Env) -> Env:
    result = invoke(env, "station", "seed")
    assert result.exit_code == 0, result.output
    return env


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(STAFF_PASSWORD + "\n", encoding="utf-8")
    return path


def staff_rows(env: Env) -> list[tuple[str, str]]:
    with sqlite3.connect(env.db_path) as conn:
        return conn.execute("SELECT username, role FROM staff_users ORDER BY username").fetchall()


def add(run_main: MainRunner, password_file: Path, *args: str) -> MainResult:
    return run_main("staff", "add", "--password-file", str(password_file), *args)


def test_staff_add_prints_the_totp_provisioning_uri_and_is_audited(
    env: Env, run_main: MainRunner, password_file: Path
) -> None:
    result = add(run_main, password_file, "--username", "ada", "--role", "national_admin")
    assert result.exit_code == 0, result.stderr
    uri = last_line(result.stdout)
    assert uri.startswith("otpauth://totp/bloodcert:ada?")
    query = parse_qs(urlsplit(uri).query)
    assert query["issuer"] == ["bloodcert"] and len(query["secret"][0]) >= 32
    assert staff_rows(env) == [("ada", "national_admin")]
    actor, action, obj = str(
        env.scalar("SELECT actor || '|' || action || '|' || object FROM audit_log")
    ).split("|")
    assert actor.startswith("cli:") and (action, obj) == ("staff.add", "ada national_admin")
    assert STAFF_PASSWORD not in result.stdout


def test_a_station_operator_is_added_with_their_station(
    seeded: Env, run_main: MainRunner, password_file: Path
) -> None:
    args = ("--username", "olga", "--role", "station_operator", "--station", "33000001")
    result = add(run_main, password_file, *args)
    assert result.exit_code == 0, result.stderr
    assert "at station 33000001" in result.stdout
    listed = run_main("staff", "list")
    assert listed.stdout.split("\t")[:3] == ["olga", "station_operator", "33000001"]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-1A!", "12–128 characters"),
        ("Administrator", "common or breached"),
        ("Cookie Monster 2024", "common or breached"),
    ],
)
def test_staff_add_refuses_weak_and_breached_passwords(
    env: Env, run_main: MainRunner, tmp_path: Path, password: str, reason: str
) -> None:
    weak = tmp_path / "weak.txt"
    weak.write_text(password, encoding="utf-8")
    result = add(run_main, weak, "--username", "ada", "--role", "national_admin")
    assert result.exit_code == 1 and reason in result.stderr
    assert staff_rows(env) == []


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--role", "root"), "unknown role 'root'"),
        (("--role", "superuser", "--station", "33000001"), "unknown role"),
        (("--role", "station_operator", "--station", "99999999"), "no station with code 99999999"),
        (("--role", "station_operator"), "needs --station"),
        (("--role", "auditor", "--station", "33000001"), "only a station operator"),
    ],
)
def test_staff_add_refuses_unknown_roles_and_stations(
    seeded: Env, run_main: MainRunner, password_file: Path, args: tuple[str, ...], reason: str
) -> None:
    result = add(run_main, password_file, "--username", "eve", *args)
    assert result.exit_code == 1 and reason in result.stderr
    assert staff_rows(seeded) == []


def test_staff_add_needs_the_password_file(env: Env, tmp_path: Path) -> None:
    args = ("--username", "ada", "--role", "auditor", "--password-file", str(tmp_path / "none"))
    result = invoke(env, "staff", "add", *args)
    assert result.exit_code == 2 and "no file at" in result.output


def test_staff_disable_and_list(env: Env, run_main: MainRunner, password_file: Path) -> None:
    add(run_main, password_file, "--username", "audrey", "--role", "auditor")
    assert run_main("staff", "disable", "audrey").exit_code == 0
    assert run_main("staff", "list").stdout.strip().endswith("disabled")
    again = run_main("staff", "disable", "audrey")
    assert again.exit_code == 1 and "already disabled" in again.stderr
