"""`make bench`: datasets of growing size, imported and load-tested over loopback, with the cost curve.

    .venv/bin/python bench/run.py                      # 100k and 1M persons on SQLite, 3 runs each
    .venv/bin/python bench/run.py --sizes 10000000     # the 10 M run (kept out of CI)
    .venv/bin/python bench/run.py --postgres           # also the 1 M figures on PostgreSQL
    .venv/bin/python bench/run.py --smoke              # a few thousand persons, seconds of load (make test)

Each size: `bloodcert generate` + `bloodcert import` into a fresh database (records/s, peak RSS), then
`bloodcert serve --workers 2` (the README's recommendation) under wrk from the same machine: history
queries spread over many donors' tokens, certificate reads, verification, signed 1,000-record station
batches, and /healthz in the same run as the ratio baseline. Prints a table of medians and writes
bench/README.md (not in --smoke) with a PNG chart of throughput and p99 against dataset size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bloodcert.config import Settings
from harness import BIN, OUT, LoadResult, bloodcert, dataset, fresh_env, reuse_env, serving, wrk
from ingest import signed_batch
from sessions import make_tokens

ROOT = Path(__file__).resolve().parent
BATCH = 1000
# All load comes from one address: the per-client abuse limits are raised for the run.
LOAD_LIMITS = "verify=1000000/second,station=1000000/second,anonymous=1000000/second"


@dataclass
class SizeResult:
    """Everything measured for one dataset size and backend."""

    persons: int
    backend: str
    records: int = 0
    import_rps: float = 0.0
    import_rss_mib: float = 0.0
    loads: dict[str, list[LoadResult]] = field(default_factory=dict)
    ingest_rps: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    fresh: bool = False


def _env_settings(env: dict[str, str]) -> Settings:
    return Settings.from_env({k: v for k, v in env.items() if k.startswith("BLOODCERT_")})


def prepare(
    persons: int, backend: str, pg_url: str | None, *, keep: bool = False
) -> tuple[dict[str, str], SizeResult]:
    """Fresh database, stations, keys; generate (cached) and import; returns env and import figures.

    With `keep`, a database this bench imported before (its figures saved beside it) is used again, so
    that the load runs can be repeated without another import of millions of records."""
    result = SizeResult(persons, backend)
    name = f"run-{backend}-{persons}"
    saved = OUT / name / "import.json"
    if keep and saved.is_file():
        env = reuse_env(name, pg_url)
        env["BLOODCERT_RATE_LIMITS"] = LOAD_LIMITS
        figures = json.loads(saved.read_text(encoding="utf-8"))
        result.records, result.import_rps, result.import_rss_mib = (
            figures["records"],
            figures["import_rps"],
            figures["import_rss_mib"],
        )
        print(f"   reusing the database imported at {figures['at']}", flush=True)
        return env, result
    env = fresh_env(name, pg_url)
    env["BLOODCERT_RATE_LIMITS"] = LOAD_LIMITS
    bloodcert("station", "seed", env=env)
    bloodcert("keys", "rotate", env=env)
    data = dataset(persons, 1)
    result.records = sum(1 for _ in data.open("rb"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    bloodcert("import", str(data), env=env)
    result.import_rps = result.records / (time.perf_counter() - start)
    result.import_rss_mib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    figures = {
        "records": result.records,
        "import_rps": result.import_rps,
        "import_rss_mib": result.import_rss_mib,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    saved.write_text(json.dumps(figures), encoding="utf-8")
    return env, result


def load_inputs(env: dict[str, str], tokens: int) -> dict[str, Path]:
    """Bearer tokens of many donors, their certificate numbers, and QR bodies to verify; written beside the
    database they belong to (NAME/inputs for the database under bench/out/NAME)."""
    settings = _env_settings(env)
    out = Path(env["BLOODCERT_DATA_DIR"]).parent / "inputs"
    out.mkdir(exist_ok=True)
    token_file = out / "tokens.txt"
    make_tokens(settings, tokens, token_file)
    pairs, bodies = _certificates(settings, token_file)
    (out / "cert-pairs.txt").write_text("".join(f"{t} {n}\n" for t, n in pairs), encoding="utf-8")
    (out / "verify.txt").write_text("".join(json.dumps({"qr": q}) + "\n" for q in bodies), encoding="utf-8")
    return {"tokens": token_file, "pairs": out / "cert-pairs.txt", "verify": out / "verify.txt"}


def _certificates(settings: Settings, token_file: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """One certificate of each token's donor (through the API's own read), and a sample of QR texts."""
    from bloodcert.storage.uow import Database

    tokens = token_file.read_text(encoding="utf-8").split()
    pairs: list[tuple[str, str]] = []
    from litestar.testing import TestClient

    from bloodcert.web.app import create_app

    with TestClient(create_app(settings)) as client:
        for token in tokens[:500]:
            donations = client.get(
                "/api/v1/me/donations", headers={"Authorization": f"Bearer {token}"}
            ).json()
            numbers = [d["certificate_no"] for d in donations.get("donations", []) if d["certificate_no"]]
            if numbers:
                pairs.append((token, numbers[0]))
        qrs = [
            client.get(f"/api/v1/me/certificates/{n}", headers={"Authorization": f"Bearer {t}"}).json()["qr"]
            for t, n in pairs[:300]
        ]
    Database(settings.database_url).dispose()
    return pairs, qrs


def station_ingest(base: str, env: dict[str, str], batches: int, persons: int) -> float:
    """Signed 1,000-record batches from 4 concurrent clients: records/s accepted."""
    key_path = OUT / f"bench-station-{time.time_ns()}.pem"
    code = f"B{time.time_ns() % 10**9:09d}"[:16]
    out = bloodcert(
        "station",
        "add",
        "--code",
        code,
        "--name",
        "基准测试血站",
        "--region",
        "330106",
        "--key-out",
        str(key_path),
        env=env,
    )
    key_id = out.strip().splitlines()[-1]
    key = load_pem_private_key(key_path.read_bytes(), password=None)
    key_path.unlink()
    data = OUT / "ingest-records.jsonl"
    if not data.exists():
        bloodcert("generate", "--persons", "40000", "--out", str(data), "--seed", "99", env=env)
    lines = data.read_text(encoding="utf-8").splitlines()
    rng = random.Random(persons)
    start_at = rng.randrange(max(1, len(lines) - batches * BATCH))
    records = [json.loads(line) for line in lines[start_at : start_at + batches * BATCH]]
    for record in records:
        record.pop("station", None)
    url = base + "/api/v1/station/donations"
    prepared = [signed_batch(url, key_id, key, records[i : i + BATCH]) for i in range(0, len(records), BATCH)]
    begin = time.perf_counter()
    with httpx.Client(timeout=300) as client, ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda p: client.post(url, content=p[0], headers=p[1]).status_code, prepared))
    elapsed = time.perf_counter() - begin
    if any(c != 200 for c in codes):
        raise SystemExit(f"station batches failed: {codes}")
    return len(records) / elapsed


def freshness(base: str, env: dict[str, str]) -> bool:
    """A record is visible to its donor in the first request after the station's 200."""
    key_path = OUT / f"fresh-{time.time_ns()}.pem"
    code = f"F{time.time_ns() % 10**9:09d}"[:16]
    key_id = (
        bloodcert(
            "station",
            "add",
            "--code",
            code,
            "--name",
            "时效测试血站",
            "--region",
            "330106",
            "--key-out",
            str(key_path),
            env=env,
        )
        .strip()
        .splitlines()[-1]
    )
    key = load_pem_private_key(key_path.read_bytes(), password=None)
    key_path.unlink()
    donor = {
        "id_type": "passport",
        "id_number": f"E{time.time_ns() % 10**8:08d}",
        "name": "时效测试",
        "sex": "F",
        "birth_date": "1990-01-01",
        "abo": "O",
        "rhd": "positive",
    }
    record = {
        "donation_no": "FRESH-1",
        "version": 1,
        "status": "valid",
        "donor": donor,
        "donated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "kind": "whole_blood",
        "volume_ml": 400,
        "units": None,
        "site": {"name": "时效", "type": "fixed", "region": "330106"},
        "test_result": "qualified",
    }
    url = base + "/api/v1/station/donations"
    body, headers = signed_batch(url, key_id, key, [record])
    with httpx.Client(timeout=30) as client:
        assert client.post(url, content=body, headers=headers).status_code == 200
        login = client.post(
            base + "/api/v1/auth/login",
            json={**{k: donor[k] for k in ("id_type", "id_number", "name")}, "donation_no": "FRESH-1"},
        )
        token = login.json().get("access_token", "")
        seen = client.get(base + "/api/v1/me/donations", headers={"Authorization": f"Bearer {token}"})
    return login.status_code == 200 and [d["donation_no"] for d in seen.json()["donations"]] == ["FRESH-1"]


def measure(
    env: dict[str, str], result: SizeResult, inputs: dict[str, Path], *, runs: int, seconds: int, batches: int
) -> None:
    """Several runs of every load against one server."""
    with serving(env, workers=2) as base:
        result.fresh = freshness(base, env)
        for _ in range(runs):
            loads = {
                "history": wrk(
                    "history",
                    base + "/api/v1/me/donations",
                    "bearer.lua",
                    seconds=seconds,
                    data=inputs["tokens"],
                ),
                "certificate": wrk(
                    "certificate", base + "/", "certificate.lua", seconds=seconds, data=inputs["pairs"]
                ),
                "verify": wrk(
                    "verify", base + "/api/v1/verify", "verify.lua", seconds=seconds, data=inputs["verify"]
                ),
                "healthz": wrk("healthz", base + "/healthz", "get.lua", seconds=seconds),
            }
            for name, load in loads.items():
                result.loads.setdefault(name, []).append(load)
            result.ratios.append(loads["history"].rps / loads["healthz"].rps)
            result.ingest_rps.append(station_ingest(base, env, batches, result.persons))


def table(results: list[SizeResult]) -> str:
    """The figures as a Markdown table of medians."""
    lines = [
        "| dataset | backend | what | req/s (median) | p50 ms | p99 ms | errors | ratio to /healthz |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        health = statistics.median(x.rps for x in r.loads["healthz"])
        for name in ("history", "certificate", "verify", "healthz"):
            runs = r.loads[name]
            rps = statistics.median(x.rps for x in runs)
            ratio = f"{statistics.median(r.ratios):.2f}" if name == "history" else f"{rps / health:.2f}"
            lines.append(
                f"| {r.persons:,} | {r.backend} | {name} | {rps:,.0f} | "
                f"{statistics.median(x.p50_ms for x in runs):.1f} | "
                f"{statistics.median(x.p99_ms for x in runs):.1f} | {sum(x.errors for x in runs)} | {ratio} |"
            )
        lines.append(
            f"| {r.persons:,} | {r.backend} | station API ingest (records/s) | "
            f"{statistics.median(r.ingest_rps):,.0f} | | | 0 | |"
        )
        lines.append(
            f"| {r.persons:,} | {r.backend} | bulk import (records/s; {r.records:,} records) | "
            f"{r.import_rps:,.0f} | | | peak RSS {r.import_rss_mib:,.0f} MiB | |"
        )
        lines.append(
            f"| {r.persons:,} | {r.backend} | visible in the first request after the 200 | "
            f"{'yes' if r.fresh else 'NO'} | | | | |"
        )
    return "\n".join(lines)


def chart(results: list[SizeResult], path: Path) -> None:
    """Throughput and p99 against dataset size (log x), one line per endpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sqlite_runs = [r for r in results if r.backend == "sqlite"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("history", "certificate", "verify", "healthz"):
        xs = [r.persons for r in sqlite_runs]
        left.plot(
            xs, [statistics.median(x.rps for x in r.loads[name]) for r in sqlite_runs], marker="o", label=name
        )
        right.plot(
            xs,
            [statistics.median(x.p99_ms for x in r.loads[name]) for r in sqlite_runs],
            marker="o",
            label=name,
        )
    for axis, title in ((left, "throughput (req/s)"), (right, "p99 latency (ms)")):
        axis.set_xscale("log")
        axis.set_xlabel("persons in the database")
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Run the sizes, print the table, write bench/README.md and the chart."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help="also run the largest size on PostgreSQL")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/bloodcert_bench")
    parser.add_argument("--smoke", action="store_true", help="a few thousand persons and seconds of load")
    parser.add_argument(
        "--keep", action="store_true", help="reuse databases this bench imported before (loads only)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.runs, args.seconds, args.batches, args.tokens = "3000", 1, 2, 2, 200
    OUT.mkdir(exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    plan = [(n, "sqlite", None) for n in sizes]
    if args.postgres:
        if not (args.keep and (OUT / f"run-postgresql-{max(sizes)}" / "import.json").is_file()):
            _recreate_pg(args.pg_url)
        plan.append((max(sizes), "postgresql", args.pg_url))
    results = []
    for persons, backend, url in plan:
        print(f"== {persons:,} persons on {backend}", flush=True)
        env, result = prepare(persons, backend, url, keep=args.keep)
        inputs = load_inputs(env, args.tokens)
        measure(env, result, inputs, runs=args.runs, seconds=args.seconds, batches=args.batches)
        results.append(result)
        print(table([result]), flush=True)
    text = table(results)
    print(text)
    if not args.smoke:
        chart(results, ROOT / "cost-curve.png")
        write_readme(text, args)


def _recreate_pg(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def write_readme(text: str, args: argparse.Namespace) -> None:
    """Replace the cost-curve section of bench/README.md with these figures."""
    readme = ROOT / "README.md"
    current = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    marker = "## Load and the cost curve (`bench/run.py`)"
    head = current.split(marker)[0].rstrip() + "\n\n"
    flags = f"{' --postgres' if args.postgres else ''}{' --keep' if args.keep else ''}"
    runs = f"--runs {args.runs} --seconds {args.seconds}"
    command = (
        "make bench"
        if args.sizes == "100000,1000000" and not flags
        else f".venv/bin/python bench/run.py --sizes {args.sizes} {runs}{flags}"
    )
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    section = (
        f"{marker}\n\nCommand: `{command}`, "
        f"{args.runs} runs of {args.seconds} s per load, medians. Machine: {machine}; load generator "
        f"(wrk, 1 thread, 32 connections) on the same machine; `bloodcert serve --workers 2`.\n\n"
        f"{text}\n\n![throughput and p99 against dataset size](cost-curve.png)\n"
    )
    readme.write_text(head + section, encoding="utf-8")


if __name__ == "__main__":
    assert BIN.exists()
    main()
