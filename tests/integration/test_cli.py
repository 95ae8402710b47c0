"""The `bloodcert` command line (docs/operations.md) against an SQLite file.

Two ways of running a command are used:

- `CliRunner().invoke(app, …)` for normal runs and for the CLI's own refusals, which print `error: …` and
  exit with code 2 through `typer.Exit`;
- `run_main(…)` for domain errors (`AppError`, e.g. an unknown region): `app` lets those propagate (the
  runner would only capture the exception object), and it is the console entry point `bloodcert.cli.main`
  that turns them into one `error: …` line on stderr and exit code 1, as an operator sees them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from typer.testing import CliRunner, Result

from bloodcert.cli import app, main
from bloodcert.domain.stations import builtin_stations
from bloodcert.errors import ValidationFailed

UPGRADE_HINT = "bloodcert db upgrade"


@dataclass(frozen=True)
class Env:
    """The environment a CLI run sees: the database file and the data directory."""

    db_path: Path
    data_dir: Path

    @property
    def vars(self) -> dict[str, str]:
        return {
            "BLOODCERT_DATABASE_URL": f"sqlite:///{self.db_path}",
            "BLOODCERT_DATA_DIR": str(self.data_dir),
        }

    def scalar(self, sql: str, *params: object) -> object:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, params).fetchone()[0]


@dataclass(frozen=True)
class MainResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def env(tmp_path: Path, sqlite_template: Path) -> Env:
    """A migrated SQLite file (a copy of the session's template) and an empty data directory."""
    db_path = tmp_path / "bloodcert.db"
    shutil.copy(sqlite_template, db_path)
    return Env(db_path, tmp_path / "var")


@pytest.fixture
def bare_env(tmp_path: Path) -> Env:
    """A database URL that points at a file no migration has touched."""
    return Env(tmp_path / "fresh" / "bloodcert.db", tmp_path / "var")


def invoke(env: Env, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env.vars)


class MainRunner:
    """Runs the console entry point `bloodcert.cli.main` as the installed `bloodcert` script would."""

    def __init__(self, env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        for name, value in env.vars.items():
            monkeypatch.setenv(name, value)

    def __call__(self, *args: str) -> MainResult:
        self.monkeypatch.setattr(sys, "argv", ["bloodcert", *args])
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        out = self.capsys.readouterr()
        code = exited.value.code
        return MainResult(code if isinstance(code, int) else (0 if code is None else 1), out.out, out.err)


@pytest.fixture
def run_main(env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> MainRunner:
    """`bloodcert …` through `main`, on the `env` database."""
    return MainRunner(env, monkeypatch, capsys)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def add_station(env: Env, tmp_path: Path, code: str = "33019901") -> str:
    result = invoke(
        env,
        "station",
        "add",
        "--code",
        code,
        "--name",
        "杭州市某血站",
        "--region",
        "330106",
        "--key-out",
        str(tmp_path / f"{code}.pem"),
    )
    assert result.exit_code == 0, result.output
    return last_line(result.stdout)


def write_public_key(path: Path, private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> Path:
    path.write_bytes(private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return path


# --- db upgrade and the un-migrated database ---------------------------------------------------------


def test_db_upgrade_creates_the_schema_and_is_idempotent(bare_env: Env) -> None:
    first = invoke(bare_env, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "up to date" in first.stdout
    assert bare_env.scalar("SELECT count(*) FROM stations") == 0
    again = invoke(bare_env, "db", "upgrade")
    assert again.exit_code == 0, again.output
    seeded = invoke(bare_env, "station", "seed")
    assert seeded.exit_code == 0, seeded.output


@pytest.mark.parametrize(
    "args",
    [
        ("station", "seed"),
        ("station", "list"),
        ("station", "revoke-key", "stk_x"),
        (
            "station",
            "add",
            "--code",
            "33019901",
            "--name",
            "某血站",
            "--region",
            "330106",
            "--key-out",
            "k.pem",
        ),
    ],
)
def test_commands_on_an_unmigrated_database_say_to_run_db_upgrade(
    bare_env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(bare_env, *args)
    assert result.exit_code != 0
    assert UPGRADE_HINT in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "k.pem").exists()


def test_import_on_an_unmigrated_database_says_to_run_db_upgrade(bare_env: Env, tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text("{}\n", encoding="utf-8")
    result = invoke(bare_env, "import", str(path))
    assert result.exit_code != 0
    assert UPGRADE_HINT in result.stderr


# --- station seed, add, add-key, revoke-key ---------------------------------------------------------


def test_station_seed_registers_the_452_built_in_stations_once(env: Env) -> None:
    first = invoke(env, "station", "seed")
    assert first.exit_code == 0, first.output
    assert env.scalar("SELECT count(*) FROM stations") == 452 == len(builtin_stations())
    assert "452" in first.stdout
    again = invoke(env, "station", "seed")
    assert again.exit_code == 0, again.output
    assert "added 0" in again.stdout
    assert env.scalar("SELECT count(*) FROM stations") == 452
    assert env.scalar("SELECT count(*) FROM station_keys") == 0


def test_station_add_writes_a_private_pkcs8_ed25519_key_and_prints_the_key_id_last(
    env: Env, tmp_path: Path
) -> None:
    key_out = tmp_path / "keys" / "station.pem"
    result = invoke(
        env,
        "station",
        "add",
        "--code",
        "33019901",
        "--name",
        "杭州市某血站",
        "--region",
        "330106",
        "--key-out",
        str(key_out),
    )
    assert result.exit_code == 0, result.output
    key_id = last_line(result.stdout)
    assert key_id.startswith("stk_")
    pem = key_out.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    private = load_pem_private_key(pem, password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert stat.S_IMODE(key_out.stat().st_mode) == 0o600
    assert env.scalar("SELECT name FROM stations WHERE code = ?", "33019901") == "杭州市某血站"
    stored_public = env.scalar("SELECT public_key_pem FROM station_keys WHERE key_id = ?", key_id)
    expected = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    assert stored_public == expected
    assert env.scalar("SELECT alg FROM station_keys WHERE key_id = ?", key_id) == "ed25519"


def test_station_add_refuses_to_overwrite_an_existing_key_file(env: Env, tmp_path: Path) -> None:
    key_out = tmp_path / "station.pem"
    key_out.write_bytes(b"precious")
    result = invoke(
        env,
        "station",
        "add",
        "--code",
        "33019901",
        "--name",
        "杭州市某血站",
        "--region",
        "330106",
        "--key-out",
        str(key_out),
    )
    assert result.exit_code != 0
    assert "refusing to overwrite" in result.stderr
    assert key_out.read_bytes() == b"precious"
    assert env.scalar("SELECT count(*) FROM stations") == 0


def test_station_add_rejects_an_unknown_region_with_a_clear_message(
    env: Env, tmp_path: Path, run_main: MainRunner
) -> None:
    key_out = tmp_path / "station.pem"
    args = ("station", "add", "--code", "33019901", "--name", "某血站", "--region", "999999")
    result = run_main(*args, "--key-out", str(key_out))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "999999" in result.stderr
    assert "region" in result.stderr
    assert "Traceback" not in result.stderr
    assert not key_out.exists()
    assert env.scalar("SELECT count(*) FROM stations") == 0


def test_station_add_through_the_runner_surfaces_the_domain_error(env: Env, tmp_path: Path) -> None:
    # Without `main`, the AppError reaches the runner as an exception with exit code 1.
    result = invoke(
        env,
        "station",
        "add",
        "--code",
        "33019901",
        "--name",
        "某血站",
        "--region",
        "330103",  # retired
        "--key-out",
        str(tmp_path / "k.pem"),
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, ValidationFailed)
    assert result.exception.slug == "unknown_region"


def test_station_add_refuses_a_station_code_already_registered(
    env: Env, tmp_path: Path, run_main: MainRunner
) -> None:
    add_station(env, tmp_path)
    key_out = tmp_path / "second.pem"
    args = ("station", "add", "--code", "33019901", "--name", "另一血站", "--region", "330106")
    result = run_main(*args, "--key-out", str(key_out))
    assert result.exit_code == 1
    assert "already registered" in result.stderr
    assert not key_out.exists()


def test_station_add_key_registers_an_ecdsa_p256_key_and_prints_its_id_last(env: Env, tmp_path: Path) -> None:
    add_station(env, tmp_path)
    public = write_public_key(tmp_path / "p256.pem", ec.generate_private_key(ec.SECP256R1()))
    result = invoke(
        env,
        "station",
        "add-key",
        "--code",
        "33019901",
        "--public-key",
        str(public),
        "--alg",
        "ecdsa-p256-sha256",
    )
    assert result.exit_code == 0, result.output
    key_id = last_line(result.stdout)
    assert key_id.startswith("stk_")
    assert env.scalar("SELECT alg FROM station_keys WHERE key_id = ?", key_id) == "ecdsa-p256-sha256"
    assert env.scalar("SELECT count(*) FROM station_keys") == 2


@pytest.mark.parametrize(
    "case",
    [
        (ec.generate_private_key(ec.SECP256R1()), "ed25519", "not an ed25519 key"),
        (ed25519.Ed25519PrivateKey.generate(), "ecdsa-p256-sha256", "not an ecdsa-p256-sha256 key"),
        (ec.generate_private_key(ec.SECP384R1()), "ecdsa-p256-sha256", "P-256"),
        (ed25519.Ed25519PrivateKey.generate(), "rsa-pss-sha512", "unsupported algorithm"),
    ],
    ids=["p256-as-ed25519", "ed25519-as-p256", "p384-as-p256", "unknown-alg"],
)
def test_station_add_key_refuses_a_key_that_does_not_match_its_alg(
    env: Env,
    tmp_path: Path,
    run_main: MainRunner,
    case: tuple[ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, str, str],
) -> None:
    key, alg, message = case
    add_station(env, tmp_path)
    public = write_public_key(tmp_path / "pub.pem", key)
    result = run_main(
        "station",
        "add-key",
        "--code",
        "33019901",
        "--public-key",
        str(public),
        "--alg",
        alg,
    )
    assert result.exit_code == 1
    assert message in result.stderr
    assert env.scalar("SELECT count(*) FROM station_keys") == 1


def test_station_add_key_refuses_a_missing_file_and_an_unknown_station(
    env: Env, tmp_path: Path, run_main: MainRunner
) -> None:
    missing = invoke(
        env, "station", "add-key", "--code", "33019901", "--public-key", str(tmp_path / "none.pem")
    )
    assert missing.exit_code != 0
    assert "no file" in missing.stderr
    public = write_public_key(tmp_path / "pub.pem", ed25519.Ed25519PrivateKey.generate())
    unknown = run_main("station", "add-key", "--code", "99999999", "--public-key", str(public))
    assert unknown.exit_code == 1
    assert "99999999" in unknown.stderr


def test_station_revoke_key_revokes_it_once(env: Env, tmp_path: Path, run_main: MainRunner) -> None:
    key_id = add_station(env, tmp_path)
    result = invoke(env, "station", "revoke-key", key_id)
    assert result.exit_code == 0, result.output
    assert key_id in result.stdout
    assert env.scalar("SELECT revoked_at FROM station_keys WHERE key_id = ?", key_id) is not None
    again = run_main("station", "revoke-key", key_id)
    assert again.exit_code == 1
    assert "no active key" in again.stderr


def test_station_list_shows_registered_stations(env: Env, tmp_path: Path) -> None:
    add_station(env, tmp_path)
    result = invoke(env, "station", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.split("\n")[0].split("\t") == [
        "33019901",
        "330106",
        "central_station",
        "杭州市某血站",
    ]


# --- generate and import -----------------------------------------------------------------------------


def generate(env: Env, out: Path, *extra: str) -> Result:
    result = invoke(env, "generate", "--persons", "50", "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return result


def prepare_import(env: Env) -> None:
    """What an operator does before a national back-fill: the station list and a certificate key."""
    for args in (("station", "seed"), ("keys", "rotate")):
        result = invoke(env, *args)
        assert result.exit_code == 0, result.output


def import_summary(result: Result) -> tuple[int, int, int]:
    """(lines, accepted, rejected) from the last line `N lines: A accepted, R rejected (…)`."""
    words = last_line(result.stdout).replace(":", "").replace(",", "").split()
    return int(words[0]), int(words[2]), int(words[4])


def test_generate_is_deterministic_for_a_seed(env: Env, tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    generate(env, first, "--seed", "1")
    generate(env, second, "--seed", "1")
    generate(env, other, "--seed", "2")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    records = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 50
    codes = {s.code for s in builtin_stations()}
    assert all(r["station"] in codes for r in records)
    assert len({r["donor"]["id_number"] for r in records}) == 50


def test_generated_data_imports_with_no_rejections(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "national.jsonl"
    generate(env, out, "--seed", "1")
    prepare_import(env)
    result = invoke(env, "import", str(out))
    assert result.exit_code == 0, result.output
    lines, accepted, rejected = import_summary(result)
    records = len(out.read_text(encoding="utf-8").splitlines())
    assert (lines, accepted, rejected) == (records, records, 0)
    assert (tmp_path / "national.jsonl.rejected.jsonl").read_text(encoding="utf-8") == ""
    assert env.scalar("SELECT count(*) FROM donations") == records
    assert env.scalar("SELECT count(*) FROM certificates WHERE status = 'active'") == records
    # Importing the same file again resumes after its last line and adds nothing.
    again = invoke(env, "import", str(out))
    assert again.exit_code == 0, again.output
    assert f"resumed after line {records}" in again.stdout
    assert env.scalar("SELECT count(*) FROM donation_versions") == records


def test_noisy_generated_data_is_imported_with_some_lines_rejected(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "noisy.jsonl"
    generate(env, out, "--seed", "1", "--noise", "0.5")
    prepare_import(env)
    report = tmp_path / "rejected.jsonl"
    result = invoke(env, "import", str(out), "--report", str(report))
    assert result.exit_code == 0, result.output
    lines, accepted, rejected = import_summary(result)
    assert rejected > 0
    assert accepted > 0
    assert accepted + rejected == lines
    rejections = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert len(rejections) == rejected
    assert all(r["errors"] and r["line"] >= 1 for r in rejections)


def test_import_with_a_station_code_puts_every_record_there(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "national.jsonl"
    generate(env, out, "--seed", "3")
    prepare_import(env)
    result = invoke(env, "import", str(out), "--station", "33000001")
    assert result.exit_code == 0, result.output
    _, accepted, _ = import_summary(result)
    stations = env.scalar("SELECT count(DISTINCT station_id) FROM donations")
    assert (stations, env.scalar("SELECT count(*) FROM donations")) == (1, accepted)


def test_import_without_a_certificate_key_says_to_run_keys_rotate(
    env: Env, tmp_path: Path, run_main: MainRunner
) -> None:
    out = tmp_path / "national.jsonl"
    generate(env, out, "--seed", "1")
    assert invoke(env, "station", "seed").exit_code == 0
    result = run_main("import", str(out))
    assert result.exit_code == 1
    assert "bloodcert keys rotate" in result.stderr
    assert env.scalar("SELECT count(*) FROM donations") == 0


def test_import_of_a_missing_file_fails_clearly(env: Env, tmp_path: Path) -> None:
    result = invoke(env, "import", str(tmp_path / "absent.jsonl"))
    assert result.exit_code != 0
    assert "no file" in result.stderr


def test_a_domain_error_during_import_is_one_line_and_exit_code_1(
    env: Env, tmp_path: Path, run_main: MainRunner
) -> None:
    out = tmp_path / "f.jsonl"
    out.write_text("{}\n", encoding="utf-8")
    result = run_main("import", str(out), "--station", "99999999")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no station with code 99999999"


# --- db prune --------------------------------------------------------------------------------------------


def test_db_prune_drops_old_nonces_and_ended_windows_and_keeps_the_rest(env: Env) -> None:
    now = time.time()
    with sqlite3.connect(env.db_path) as conn:
        conn.executemany(
            "INSERT INTO seen_nonces (key_id, nonce, seen_at) VALUES (?, ?, ?)",
            [("k", "old", "2020-01-01 00:00:00.000000"), ("k", "new", "2999-01-01 00:00:00.000000")],
        )
        conn.executemany(
            "INSERT INTO rate_counters (key, count, expires_at) VALUES (?, ?, ?)",
            [("ended", 3, now - 10), ("open", 1, now + 600)],
        )
    result = invoke(env, "db", "prune")
    assert result.exit_code == 0, result.output
    assert "pruned 1 nonces and 1 ended rate-limit windows" in result.stdout
    assert env.scalar("SELECT group_concat(nonce) FROM seen_nonces") == "new"
    assert env.scalar("SELECT group_concat(key) FROM rate_counters") == "open"


def test_db_prune_forgets_console_login_failures_too_old_to_count(env: Env) -> None:
    with sqlite3.connect(env.db_path) as conn:
        conn.executemany(
            "INSERT INTO staff_login_failures (client_hash, at) VALUES (?, ?)",
            [(b"o" * 32, "2020-01-01 00:00:00.000000"), (b"n" * 32, "2999-01-01 00:00:00.000000")],
        )
    result = invoke(env, "db", "prune")
    assert result.exit_code == 0, result.output
    assert env.scalar("SELECT count(*) FROM staff_login_failures") == 1
    assert env.scalar("SELECT hex(client_hash) FROM staff_login_failures") == (b"n" * 32).hex().upper()


# --- claims escalate ---------------------------------------------------------------------------------------


def test_claims_escalate_escalates_an_overdue_claim_once(env: Env) -> None:
    with sqlite3.connect(env.db_path) as conn:
        conn.execute(
            "INSERT INTO persons (id, merge_hash, identity_hash, name_hash, id_type, id_number, name, abo,"
            " donation_count, whole_blood_ml, platelet_units, plasma_ml, created_at, updated_at)"
            " VALUES (1, x'01', x'02', x'03', 'resident_id', x'00', x'00', 'A', 0, 0, 0, 0,"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        for public_id, due in (("cl_overdue", "2026-01-10 00:00:00"), ("cl_in_time", "2999-01-01 00:00:00")):
            conn.execute(
                "INSERT INTO claims (public_id, person_id, relationship, hospital_name, hospital_region,"
                " invoice_no, invoice_key, transfused_on, items, billed_fen, status, due_at, created_at,"
                " updated_at) VALUES (?, 1, 'self', 'h', '310104', ?, ?, '2025-12-01', '[]', 100, 'submitted',"
                " ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                (public_id, public_id, public_id, due),
            )
    first = invoke(env, "claims", "escalate")
    assert first.exit_code == 0, first.output
    assert "escalated 1 overdue claims" in first.stdout
    assert "escalated 0 overdue claims" in invoke(env, "claims", "escalate").stdout
    assert (
        env.scalar("SELECT group_concat(public_id) FROM claims WHERE escalated_at IS NOT NULL")
        == "cl_overdue"
    )
    assert env.scalar("SELECT count(*) FROM claim_events WHERE kind = 'escalated'") == 1
