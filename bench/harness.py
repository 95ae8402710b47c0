"""Shared bench plumbing: fresh databases, `bloodcert serve` as a user runs it, and wrk over loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out"
LUA = ROOT / "lua"
BIN = Path(sys.executable).parent


def run(cmd: list[str], env: dict[str, str]) -> str:
    """Run a command, failing loudly with its stderr."""
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def bloodcert(*args: str, env: dict[str, str]) -> str:
    """Run the bloodcert CLI."""
    return run([str(BIN / "bloodcert"), *args], env)


def dataset(persons: int, seed: int) -> Path:
    """The generated national dataset of `persons` persons from `seed` (bench/out/persons-N-seedS.jsonl),
    generated on first use and shared by every bench after that."""
    data = OUT / f"persons-{persons}-seed{seed}.jsonl"
    if not data.is_file():
        OUT.mkdir(parents=True, exist_ok=True)
        bloodcert(
            "generate",
            "--persons",
            str(persons),
            "--out",
            str(data),
            "--seed",
            str(seed),
            env=dict(os.environ),
        )
    return data


def fresh_env(name: str, database_url: str | None = None) -> dict[str, str]:
    """Environment for a fresh database (SQLite under bench/out/NAME unless a URL is given), migrated."""
    shutil.rmtree(OUT / name, ignore_errors=True)
    (OUT / name).mkdir(parents=True)
    return reuse_env(name, database_url)


def reuse_env(name: str, database_url: str | None = None) -> dict[str, str]:
    """Environment for the database under bench/out/NAME (or at the URL), migrated to the code's schema."""
    base = OUT / name
    env = dict(os.environ)
    env.update(
        BLOODCERT_DATABASE_URL=database_url or f"sqlite:///{base}/bloodcert.db",
        BLOODCERT_DATA_DIR=str(base / "var"),
    )
    bloodcert("db", "upgrade", env=env)
    return env


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_SERVERS: dict[str, int] = {}  # base URL -> pid of the `bloodcert serve` process


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def server_cpu_seconds(base: str) -> float:
    """CPU time (user + system) used so far by the server at `base` and its worker processes.

    Unlike a rate, it does not depend on what else the machine is running: a phase's CPU per request is the
    figure to compare between two versions on a shared machine.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [_SERVERS[base]]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        todo += _children(pid)
    return total


@contextmanager
def serving(
    env: dict[str, str], workers: int = 2, start_timeout: float = 120, args: tuple[str, ...] = ()
) -> Iterator[str]:
    """`bloodcert serve` in a subprocess (with `args`, such as `--server granian`); yields its base URL.

    Workers start in a few seconds on an idle machine; on a shared, loaded one it has taken over 30 s.
    """
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "bloodcert"), "serve", "--port", str(port), "--workers", str(workers), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    _SERVERS[base] = server.pid
    try:
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        yield base
    finally:
        server.terminate()
        server.wait(15)


@dataclass(frozen=True)
class LoadResult:
    """One wrk run."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def wrk(
    name: str,
    url: str,
    script: str,
    *,
    seconds: int,
    connections: int = 32,
    threads: int = 1,
    data: Path | None = None,
) -> LoadResult:
    """Run wrk with one of bench/lua's scripts and read the JSON line it prints."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    env = dict(os.environ, BENCH_LUA_DIR=str(LUA), BENCH_INPUT=str(data or ""))
    out = run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(LUA / script),
            url,
        ],
        env,
    )
    line = next(x for x in out.splitlines() if x.startswith("{"))
    figures = json.loads(line)
    seconds_run = figures["duration_us"] / 1e6
    return LoadResult(
        name=name,
        rps=figures["requests"] / seconds_run,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["socket_errors"] + figures["non2xx"],
        requests=figures["requests"],
    )
