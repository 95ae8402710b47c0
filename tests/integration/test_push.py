"""`bloodcert push` against the platform over real HTTP: killed and rerun, overloaded, and every algorithm.

The station's records must arrive exactly once whatever happens to the client, the network or the
platform; rejected records and their reasons land in the spool's rejections file, each once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

import bloodcert
from bloodcert.certs.algorithms import algorithm
from bloodcert.cli import app as cli_app
from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY
from tests.factories import StationKey, create_station, make_record
from tests.live_server import serve_app

SRC = Path(bloodcert.__file__).resolve().parents[1]


@pytest.fixture
def platform_settings(sqlite_db: Database, tmp_path: Path) -> Settings:
    return Settings(
        database_url=sqlite_db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
        audit_mode="sync",
    )


def key_file(station: StationKey, folder: Path) -> Path:
    """The station's private key as the PKCS#8 PEM file `push --key` reads."""
    path = folder / f"{station.alg}.pem"
    if station.alg == "sm2-sm3":
        pem = algorithm("SM2-SM3").private_pem(station.private_key)
    else:
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        pem = station.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.write_bytes(pem)
    return path


def push_args(url: str, station: StationKey, key: Path, spool: Path, *paths: str) -> list[str]:
    return [
        "push",
        *paths,
        "--url",
        url,
        "--key-id",
        station.key_id,
        "--key",
        str(key),
        "--alg",
        station.alg,
        "--spool",
        str(spool),
        "--batch-size",
        "5",
    ]


def push(args: list[str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli_app, args, input=stdin)


def arrivals(db: Database) -> dict[str, tuple[int, int]]:
    """Each donation number on the platform: (versions stored, certificates issued)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.donation_no,"
                " (SELECT count(*) FROM donation_versions v WHERE v.donation_id = d.id),"
                " (SELECT count(*) FROM certificates c WHERE c.donation_id = d.id)"
                " FROM donations d"
            )
        ).all()
    return {str(no): (int(versions), int(certs)) for no, versions, certs in rows}


def write_inputs(folder: Path, valid: int) -> tuple[list[str], set[str]]:
    """A JSON Lines file and a CSV file of records: `valid` good ones, two the platform rejects and one
    line that is not JSON. Returns the good donation numbers and the rejected ones."""
    folder.mkdir()
    good = [make_record(donation_no=f"P{i:04d}") for i in range(valid)]
    bad = [
        make_record(donation_no="BADSUM", donor={"id_number": "330106199001011222"}),
        make_record(donation_no="BADKIND", kind="blood"),
    ]
    half = valid // 2
    lines = [json.dumps(r, ensure_ascii=False) for r in good[:half] + bad]
    lines.insert(3, "{not json")
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    header = [
        "donation_no",
        "version",
        "status",
        *(f"donor_{k}" for k in good[0]["donor"]),
        "donated_at",
        "kind",
        "volume_ml",
        "units",
        *(f"site_{k}" for k in good[0]["site"]),
        "test_result",
    ]
    rows = [",".join(header)]
    for r in good[half:]:
        flat = {
            **r,
            **{f"donor_{k}": v for k, v in r["donor"].items()},
            **{f"site_{k}": v for k, v in r["site"].items()},
        }
        rows.append(",".join("" if flat[h] is None else str(flat[h]) for h in header))
    (folder / "b.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [r["donation_no"] for r in good], {"BADSUM", "BADKIND"}


def rejections(spool: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (spool / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]


class HoldOneAnswer:
    """Answers the first `answered` requests, then lets the app handle the next one but holds its answer
    until released: the platform has committed the batch, and the client never hears so."""

    def __init__(self, app: Any, answered: int) -> None:
        self.app = app
        self.answered = answered
        self.requests = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        if self.requests != self.answered + 1:
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def keep(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, keep)
        self.holding.set()
        await anyio.to_thread.run_sync(self.release.wait)


def test_a_push_killed_mid_run_and_run_again_delivers_every_record_exactly_once(
    sqlite_db: Database, platform_settings: Settings, tmp_path: Path
) -> None:
    station = create_station(sqlite_db)
    key = key_file(station, tmp_path)
    good, bad = write_inputs(tmp_path / "records", valid=24)
    spool = tmp_path / "spool"
    hold = HoldOneAnswer(create_app(platform_settings, db=sqlite_db), answered=2)
    with serve_app(hold) as url:
        args = push_args(url, station, key, spool, str(tmp_path / "records"))
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        code = "from bloodcert.cli import main; main()"
        first = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE)
        try:
            assert hold.holding.wait(30), "the push never reached its third batch"
            os.kill(first.pid, signal.SIGKILL)
        finally:
            first.wait(10)
            hold.release.set()
        assert first.returncode == -signal.SIGKILL
        during = arrivals(sqlite_db)
        assert 10 <= len(during) < len(good)  # two answered batches and the one held, of five

        again = push(args)
        assert again.exit_code == 0, again.output
        assert "unchanged" in again.output  # the held batch went again; the platform had it already
        rerun = push(args)
        assert rerun.exit_code == 0, rerun.output
        assert "0 new records spooled; 0 to send" in rerun.output

    assert arrivals(sqlite_db) == dict.fromkeys(good, (1, 1))
    entries = rejections(spool)
    assert sorted(e["donation_no"] for e in entries if e["donation_no"]) == sorted(bad)
    unreadable = [e for e in entries if e["donation_no"] is None]
    assert [(Path(e["file"]).name, e["line"], e["errors"][0]["code"]) for e in unreadable] == [
        ("a.jsonl", 4, "invalid_format")
    ]
    by_no = {e["donation_no"]: e for e in entries}
    assert by_no["BADSUM"]["errors"][0]["code"] == "invalid_checksum"
    assert by_no["BADKIND"]["errors"][0]["field"] == "kind"
    assert (spool / "rejected.jsonl").stat().st_mode & 0o077 == 0
    assert (spool / "spool.sqlite3").stat().st_mode & 0o077 == 0


class Overloaded:
    """Answers 503 and then 429, each with Retry-After: 1, before letting requests through."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(self.seen) >= 2:
            self.seen.append(time.monotonic())
            await self.app(scope, receive, send)
            return
        status = 503 if not self.seen else 429
        self.seen.append(time.monotonic())
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"retry-after", b"1"), (b"content-type", b"application/problem+json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"type":"overloaded","detail":"busy"}'})


def test_a_push_waits_as_long_as_retry_after_says_while_the_platform_is_overloaded(
    sqlite_db: Database, platform_settings: Settings, tmp_path: Path
) -> None:
    station = create_station(sqlite_db)
    key = key_file(station, tmp_path)
    records = [make_record(donation_no=f"R{i}") for i in range(3)]
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    overloaded = Overloaded(create_app(platform_settings, db=sqlite_db))
    with serve_app(overloaded) as url:
        result = push(push_args(url, station, key, tmp_path / "spool", "-"), stdin=stdin)
    assert result.exit_code == 0, result.output
    http = overloaded.seen
    assert http[1] - http[0] >= 1.0 and http[2] - http[1] >= 1.0
    assert "3 created" in result.output
    assert arrivals(sqlite_db) == dict.fromkeys(["R0", "R1", "R2"], (1, 1))


@pytest.mark.parametrize("alg", ["ed25519", "ecdsa-p256-sha256", "sm2-sm3"])
def test_a_push_signs_with_each_of_the_three_algorithms(
    alg: str, sqlite_db: Database, platform_settings: Settings, tmp_path: Path
) -> None:
    if alg == "sm2-sm3":
        pytest.importorskip("tongsuopy", reason="SM2 needs the `sm` extra")
    station = create_station(sqlite_db, alg=alg)
    key = key_file(station, tmp_path)
    (tmp_path / "in.jsonl").write_text(json.dumps(make_record(donation_no="ALG1")) + "\n", encoding="utf-8")
    with serve_app(create_app(platform_settings, db=sqlite_db)) as url:
        result = push(push_args(url, station, key, tmp_path / "spool", str(tmp_path / "in.jsonl")))
    assert result.exit_code == 0, result.output
    assert arrivals(sqlite_db) == {"ALG1": (1, 1)}


def test_a_push_with_a_key_the_platform_does_not_know_stops_and_keeps_its_records(
    sqlite_db: Database, platform_settings: Settings, tmp_path: Path
) -> None:
    station = create_station(sqlite_db)
    key = key_file(station, tmp_path)
    (tmp_path / "in.jsonl").write_text(json.dumps(make_record(donation_no="K1")) + "\n", encoding="utf-8")
    with serve_app(create_app(platform_settings, db=sqlite_db)) as url:
        args = push_args(url, station, key, tmp_path / "spool", str(tmp_path / "in.jsonl"))
        unknown = [a if a != station.key_id else "stk_unknown" for a in args]
        refused = push(unknown)
        assert refused.exit_code == 2
        assert "401" in refused.output and "1 records stay spooled" in refused.output
        assert arrivals(sqlite_db) == {}
        assert push(args).exit_code == 0
    assert arrivals(sqlite_db) == {"K1": (1, 1)}
