"""What a request costs the app itself: routes called in process through the ASGI interface, no server.

    .venv/bin/python bench/asgi_cost.py                        # history, certificate, verify, /healthz
    .venv/bin/python bench/asgi_cost.py --loads history --profile

Runs `instrument(create_app())`, the app `bloodcert serve` hands each worker, on a copy of the database that
bench/serve_ab.py (or bench/run.py) prepared, with the inputs it wrote (many donors' tokens, their
certificates, QR texts). Each request is a fresh scope sent straight to the app on a uvloop event loop;
the figure is the process's CPU time per request (best of three rounds), which leaves out the HTTP server
and the load generator: compare it between two source trees (PYTHONPATH) to see what the app's own code
costs. `--profile [KEY]` adds a cProfile of one more round per load, sorted by cumulative time (or KEY,
`tottime` for one). The prepared sessions are made current first (they end 30 minutes after their last
use). With `--stale-sessions`, every donor session is made last seen two minutes earlier before each round,
so that each token's first request in the round moves its session's idle deadline (as a donor coming back
does).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import os
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import OUT
from run import LOAD_LIMITS

Request = tuple[dict[str, Any], bytes]


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> dict[str, Any]:
    sent = [(b"host", b"127.0.0.1:8000"), *headers]
    if body:
        sent += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": sent,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def requests(inputs: Path) -> dict[str, Callable[[], Request]]:
    """A maker of the next request of each load, round robin over the inputs."""
    tokens = (inputs / "tokens.txt").read_text(encoding="utf-8").split()
    pairs = [line.split() for line in (inputs / "cert-pairs.txt").read_text(encoding="utf-8").splitlines()]
    bodies = [line.encode() for line in (inputs / "verify.txt").read_text(encoding="utf-8").splitlines()]
    count = itertools.count()

    def bearer(token: str) -> list[tuple[bytes, bytes]]:
        return [(b"authorization", f"Bearer {token}".encode())]

    def history() -> Request:
        token = tokens[next(count) % len(tokens)]
        return _scope("GET", "/api/v1/me/donations", bearer(token)), b""

    def certificate() -> Request:
        token, number = pairs[next(count) % len(pairs)]
        return _scope("GET", f"/api/v1/me/certificates/{number}", bearer(token)), b""

    def verify() -> Request:
        body = bodies[next(count) % len(bodies)]
        return _scope("POST", "/api/v1/verify", [], body), body

    def healthz() -> Request:
        return _scope("GET", "/healthz", []), b""

    return {"history": history, "certificate": certificate, "verify": verify, "healthz": healthz}


async def call(app: Any, request: Request) -> int:
    """Send one request to the app; its status."""
    scope, body = request
    statuses: list[int] = []
    done = False

    async def receive() -> dict[str, Any]:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect while the app answers
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


async def started(app: Any) -> None:
    """Run the app's lifespan startup (its shutdown is left to the process's end)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    asyncio.get_running_loop().create_task(app({"type": "lifespan", "state": {}}, inbox.get, outbox.put))
    assert (await outbox.get())["type"] == "lifespan.startup.complete"


def revive_sessions(database: Path) -> None:
    """Make the prepared donors' sessions current (they end 30 minutes after their last use)."""
    with sqlite3.connect(database) as conn:
        now, later = "datetime('now')", "datetime('now', '+12 hours')"
        conn.execute(f"UPDATE donor_sessions SET last_seen_at = {now}, expires_at = {later}")


def age_sessions(database: Path) -> None:
    """Make every donor session last seen two minutes earlier (its next request moves its deadline)."""
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE donor_sessions SET last_seen_at = datetime(last_seen_at, '-2 minutes')")


async def measure(loads: list[str], n: int, inputs: Path, profile: str | None, stale: Path | None) -> None:
    """CPU per request of each load (best of three rounds of n); `stale`: the database to age sessions in."""
    from bloodcert.web.app import create_app
    from bloodcert.web.metrics import instrument

    app = instrument(create_app())
    await started(app)
    makers = requests(inputs)
    for load in loads:
        make = makers[load]
        for _ in range(300):  # warm the caches, the pools and the session touches of the first tokens
            status = await call(app, make())
        assert status == 200, (load, status)
        rounds = []
        for _ in range(3):
            if stale is not None:
                age_sessions(stale)
            begin = time.process_time()
            for _ in range(n):
                await call(app, make())
            rounds.append((time.process_time() - begin) / n * 1e6)
        print(f"{load:<12} {min(rounds):7.1f} µs/request  (rounds {' · '.join(f'{r:.1f}' for r in rounds)})")
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                await call(app, make())
            profiler.disable()
            pstats.Stats(profiler).sort_stats(profile).print_stats(40)


def main() -> None:
    """Copy the prepared database, point the settings at the copy, and measure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=20000, help="the database bench/serve_ab.py prepared")
    parser.add_argument("--loads", default="history,certificate,verify,healthz")
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument(
        "--profile", nargs="?", const="cumulative", help="profile one more round, sorted by this (cumulative)"
    )
    parser.add_argument(
        "--stale-sessions", action="store_true", help="every round's first reads move deadlines"
    )
    args = parser.parse_args()
    source = OUT / f"run-sqlite-{args.persons}"
    if not (source / "bloodcert.db").is_file() or not (source / "inputs" / "tokens.txt").is_file():
        raise SystemExit(f"run bench/serve_ab.py --persons {args.persons} first: it prepares the database")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch)
        shutil.copy(source / "bloodcert.db", copy / "bloodcert.db")  # the reads touch sessions and audit
        shutil.copytree(source / "var", copy / "var")
        revive_sessions(copy / "bloodcert.db")
        os.environ.update(
            BLOODCERT_DATABASE_URL=f"sqlite:///{copy}/bloodcert.db",
            BLOODCERT_DATA_DIR=str(copy / "var"),
            BLOODCERT_RATE_LIMITS=LOAD_LIMITS,
            BLOODCERT_WORKERS="2",
        )
        import uvloop

        stale = copy / "bloodcert.db" if args.stale_sessions else None
        uvloop.run(measure(args.loads.split(","), args.requests, source / "inputs", args.profile, stale))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
