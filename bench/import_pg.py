"""Bulk import at national size on PostgreSQL: one writer against several, signing deferred or inline.

Run: .venv/bin/python bench/import_pg.py --persons 100000 --runs 3 [--base /path/to/older/checkout/src]

Each run imports the same generated file into a freshly created private database (created on the server
of --pg-admin, dropped at the end) with the built-in stations and new keys. The configurations alternate
within every round, so that a noisy machine slows them alike; medians are printed. With --base, the first
configuration is the code in that source tree (its `bloodcert import` with its defaults), for comparison.
After each deferred import, `bloodcert certs sign-pending` signs what it stored, timed on its own; with
--sign-once, only after the first (the rows to sign are the same whichever configuration wrote them, so at
1 M persons the second signing would only repeat the first's half hour).
Client CPU is the importer's processes' user + system time (the writers included); the database server's
own CPU is not counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import BIN, OUT, dataset, run

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Config:
    name: str
    args: list[str]
    src: Path | None = None  # another source tree (PYTHONPATH), or this one
    signs_later: bool = False
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    sign_seconds: list[float] = field(default_factory=list)


def _psql(admin: str, sql: str) -> None:
    url = admin.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(["psql", url, "-qc", sql], check=True, capture_output=True)


def fresh_database(admin: str, name: str, src: Path | None) -> dict[str, str]:
    """A new empty database NAME, migrated, with stations and keys; the environment that reaches it."""
    _psql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(admin, f'CREATE DATABASE "{name}"')
    data_dir = OUT / name / "var"
    subprocess.run(["rm", "-rf", str(OUT / name)], check=True)
    data_dir.mkdir(parents=True)
    env = dict(os.environ)
    env.update(BLOODCERT_DATABASE_URL=admin.rsplit("/", 1)[0] + f"/{name}", BLOODCERT_DATA_DIR=str(data_dir))
    if src is not None:
        env["PYTHONPATH"] = str(src)
    for args in (["db", "upgrade"], ["station", "seed"], ["keys", "rotate"]):
        run([str(BIN / "bloodcert"), *args], env)
    return env


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command and its children, its output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = run([str(BIN / "bloodcert"), *args], env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", type=Path, help="source tree of the code to compare with (its src/)")
    parser.add_argument("--pg-admin", default=ADMIN, help="a URL of the server's maintenance database")
    parser.add_argument("--only", help="configuration names to run, separated by semicolons")
    parser.add_argument(
        "--sign-once", action="store_true", help="run sign-pending after the first deferred import only"
    )
    args = parser.parse_args()

    data = dataset(args.persons, 1)
    records = sum(1 for _ in data.open("rb"))
    configs = [
        Config("1 writer, signing deferred", ["--jobs", "1", "--defer-signing"], signs_later=True),
        Config("2 writers, signing deferred", ["--jobs", "2", "--defer-signing"], signs_later=True),
        Config("2 writers, signing inline", ["--jobs", "2"]),
    ]
    if args.base is not None:
        configs.insert(0, Config("before: 1 writer, 2 signing processes", ["--jobs", "2"], src=args.base))
    if args.only:
        wanted = {n.strip() for n in args.only.split(";")}
        configs = [c for c in configs if c.name in wanted]
    name = f"bloodcert_bench_import_{os.getpid()}"
    signed_once = False
    try:
        for round_no in range(args.runs):
            for config in configs:
                env = fresh_database(args.pg_admin, name, config.src)
                wall, cpu, out = timed(["import", str(data), *config.args], env)
                config.seconds.append(wall)
                config.cpu.append(cpu)
                print(f"round {round_no + 1} {config.name}: {wall:.1f} s, {records / wall:,.0f} records/s")
                print("   ", out.strip().splitlines()[0])
                if config.signs_later and not (args.sign_once and signed_once):
                    signed_once = True
                    sign_wall, _, out = timed(["certs", "sign-pending", "--jobs", "2"], env)
                    config.sign_seconds.append(sign_wall)
                    print(f"    sign-pending --jobs 2: {sign_wall:.1f} s; {out.strip().splitlines()[-1]}")
    finally:
        _psql(args.pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print()
    print(
        f"{records:,} records of {args.persons:,} persons, PostgreSQL, median of {args.runs} alternating runs"
    )
    print()
    print(
        "| configuration | import s (runs) | records/s | client CPU µs/record | sign-pending s "
        "| records/s to signed |"
    )
    print("|---|---|---|---|---|---|")
    # With --sign-once, a deferred configuration that did not sign is given the signing that was timed.
    timed_signing = [s for c in configs for s in c.sign_seconds]
    for c in configs:
        wall = statistics.median(c.seconds)
        runs = " · ".join(f"{s:.1f}" for s in c.seconds)
        signing = (c.sign_seconds or timed_signing) if c.signs_later else []
        sign = statistics.median(signing) if signing else 0.0
        shown = "-" if not signing else f"{sign:.1f}" if c.sign_seconds else f"({sign:.1f})"
        print(
            f"| {c.name} | {wall:.1f} ({runs}) | {records / wall:,.0f} | "
            f"{statistics.median(c.cpu) / records * 1e6:,.0f} | {shown} | {records / (wall + sign):,.0f} |"
        )


if __name__ == "__main__":
    main()
