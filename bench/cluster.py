"""Throughput through nginx with one node and with two: donor history, verification, station ingest.

Run: .venv/bin/python bench/cluster.py --persons 2000 --seconds 10 --runs 3

The cluster is the one tests/cluster runs from deploy/ (a private PostgreSQL primary and the hot standby
that serves donors' reads, Redis,
nodes as the systemd unit starts them, nginx with TLS). Two nginx instances share the nodes: one sends
everything to node a, the other spreads over a and b; runs alternate between them so that the machine's
other load falls on both alike. Besides requests per second, each node's CPU time per request (read from
/proc of its server and worker processes) gives the scaling figure on a machine with spare cores:
requests/s of n nodes ~ n x cores per node / CPU per request, while the database keeps up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cluster.harness import Cluster, Nginx, process_cpu_seconds, start_database, tools_missing  # noqa: E402

from bloodcert.config import Settings  # noqa: E402
from bloodcert.storage.tables import certificates  # noqa: E402
from bloodcert.storage.uow import Database  # noqa: E402
from bloodcert.web.ratelimit import DEFAULT_LIMITS  # noqa: E402
from harness import OUT, LoadResult, bloodcert, wrk  # noqa: E402
from ingest import signed_batch  # noqa: E402
from sessions import make_tokens  # noqa: E402

# All load comes from one address: the per-client abuse limits would turn it into 429s.
NO_LIMITS = ",".join(f"{name}=1000000/second" for name in DEFAULT_LIMITS)
BATCH_RECORDS = 100
INGEST = f"station ingest ({BATCH_RECORDS}-record batches)"


@dataclass(frozen=True)
class Run:
    """One timed run through one nginx: its load figures and the CPU seconds each process tree used."""

    load: LoadResult
    cpu: dict[str, float]  # node name (a, b), "primary" and "standby" (PostgreSQL and its backends), "nginx"

    def cpu_ms_per_request(self, *names: str) -> float:
        return 1000 * sum(self.cpu[n] for n in names) / max(1, self.load.requests)


def _timed(processes: dict[str, int], work: Callable[[], LoadResult]) -> Run:
    before = {name: process_cpu_seconds(pid) for name, pid in processes.items()}
    load = work()
    return Run(load, {name: process_cpu_seconds(pid) - before[name] for name, pid in processes.items()})


def seed(
    cluster: Cluster, persons: int, new_records: int
) -> tuple[Path, Path, list[dict[str, Any]], tuple[str, Any]]:
    """Donors with history (imported), their tokens and QR texts, and records for the station API."""
    env = cluster.node_env()
    bloodcert("station", "seed", env=env)
    history = OUT / f"cluster-history-{persons}.jsonl"
    fresh = OUT / f"cluster-ingest-{new_records}.jsonl"
    OUT.mkdir(exist_ok=True)
    bloodcert("generate", "--persons", str(persons), "--out", str(history), "--seed", "3", env=env)
    # About 2.7 records a person: enough new records for every ingest run.
    bloodcert("generate", "--persons", str(new_records // 2), "--out", str(fresh), "--seed", "11", env=env)
    bloodcert("import", str(history), env=env)
    settings = Settings.from_env(env)
    tokens = OUT / "cluster-tokens.txt"
    make_tokens(settings, 500, tokens)
    db = Database(settings.database_url, data_key=settings.data_key)
    with db.reading() as uow:
        qrs = list(
            uow.conn.execute(select(certificates.c.qr).where(certificates.c.status == "active")).scalars()
        )
    db.dispose()
    bodies = OUT / "cluster-verify.jsonl"
    bodies.write_text("".join(json.dumps({"qr": qr}) + "\n" for qr in qrs[:2000]))
    key_path = OUT / "cluster-station.pem"
    key_path.unlink(missing_ok=True)
    out = bloodcert(
        "station", "add", "--code", "BENCH01", "--name", "基准测试血站", "--region", "330106",
        "--key-out", str(key_path), env=env,
    )  # fmt: skip
    key_id = out.strip().splitlines()[-1]
    key = load_pem_private_key(key_path.read_bytes(), password=None)
    records = [json.loads(line) for line in fresh.read_text(encoding="utf-8").splitlines()]
    for record in records:
        record.pop("station", None)
    return tokens, bodies, records, (key_id, key)


def ingest(nginx: Nginx, records: list[dict[str, Any]], signer: tuple[str, Any], clients: int) -> LoadResult:
    """Signed batches of BATCH_RECORDS new records, `clients` at a time: batches answered (as requests)."""
    url = nginx.url + "/api/v1/station/donations"
    chunks = [records[i : i + BATCH_RECORDS] for i in range(0, len(records), BATCH_RECORDS)]
    prepared = [signed_batch(url, signer[0], signer[1], chunk) for chunk in chunks]
    latencies: list[float] = []

    def post(client: httpx.Client, body: bytes, headers: dict[str, str]) -> int:
        start = time.perf_counter()
        status = client.post(url, content=body, headers=headers).status_code
        latencies.append(time.perf_counter() - start)
        return status

    start = time.perf_counter()
    with httpx.Client(verify=False, timeout=120) as client, ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(lambda p: post(client, *p), prepared))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return LoadResult(
        name="ingest",
        rps=len(prepared) / elapsed,
        p50_ms=1000 * latencies[len(latencies) // 2],
        p99_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        errors=sum(1 for s in statuses if s != 200),
        requests=len(prepared),
    )


def _pid(owner: Any) -> int:
    """The process id of a started program (a Popen) or of a PostgreSQL server (its postmaster)."""
    pid = owner._postmaster_pid() if hasattr(owner, "_postmaster_pid") else owner.pid
    assert pid is not None
    return int(pid)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="workers per node")
    parser.add_argument("--batches", type=int, default=10, help="station batches per ingest run")
    args = parser.parse_args()
    missing = tools_missing()
    if missing:
        raise SystemExit(f"the cluster needs {', '.join(missing)}")
    folder = Path(tempfile.mkdtemp(prefix="bloodcert-bench-cluster-"))
    pg = start_database(folder / "pg")
    settings = {"BLOODCERT_RATE_LIMITS": NO_LIMITS, "BLOODCERT_LOG_LEVEL": "warning"}
    urls = (
        pg.primary.url("bloodcert", driver="postgresql"),
        pg.replica.url("bloodcert", driver="postgresql"),
    )
    cluster = Cluster(folder / "cluster", *urls, extra_settings=settings, workers=args.workers)
    fronts: dict[str, Nginx] = {}
    try:
        cluster.start()
        per_run = args.batches * BATCH_RECORDS
        needed = 2 * args.runs * per_run
        tokens, bodies, records, signer = seed(cluster, args.persons, needed)
        fronts = {"1 node": Nginx(folder / "nginx-1", [cluster.nodes[0].port]), "2 nodes": cluster.nginx_}
        fronts["1 node"].start()
        if len(records) < needed:
            raise SystemExit(f"{len(records)} new records generated; ingest needs {needed}")
        workloads: dict[str, Callable[[Nginx, int], LoadResult]] = {
            "history": lambda n, _: wrk(
                "history", n.url + "/api/v1/me/donations", "bearer.lua",
                seconds=args.seconds, connections=args.connections, data=tokens,
            ),
            "verify": lambda n, _: wrk(
                "verify", n.url + "/api/v1/verify", "verify.lua",
                seconds=args.seconds, connections=args.connections, data=bodies,
            ),
            INGEST: lambda n, i: ingest(n, records[i * per_run : (i + 1) * per_run], signer, 4),
        }  # fmt: skip
        for nginx in fronts.values():  # warm both paths up (TLS sessions, caches, the nodes' first requests)
            workloads["history"](nginx, 0)
            workloads["verify"](nginx, 0)
        results: dict[tuple[str, str], list[Run]] = {}
        for name, work in workloads.items():
            chunk = 0  # ingest posts the next slice of new records each run
            for _ in range(args.runs):
                for front, nginx in fronts.items():  # alternate: one node, two nodes, one node ...
                    processes = {node.name: _pid(node.proc) for node in cluster.nodes}
                    processes |= {
                        "primary": _pid(pg.primary),
                        "standby": _pid(pg.replica),
                        "nginx": _pid(nginx.proc),
                    }
                    run = _timed(processes, lambda w=work, n=nginx, c=chunk: w(n, c))
                    chunk += 1
                    results.setdefault((name, front), []).append(run)
        report(results, args, cluster)
    finally:
        for nginx in fronts.values():
            nginx.kill()
        cluster.close()
        pg.close()


def report(results: dict[tuple[str, str], list[Run]], args: argparse.Namespace, cluster: Cluster) -> None:
    """The table of medians (bench/README.md quotes it)."""
    print(
        f"{args.persons} persons imported; {args.runs} runs of {args.seconds} s each ({BATCH_RECORDS}-record "
        f"batches for ingest), {args.connections} connections, {args.workers} worker(s) per node; medians"
    )
    print("CPU ms per request: the nodes' server and worker processes, PostgreSQL primary and standby, nginx")
    print(
        "| workload | nodes | req/s | p50 ms | p99 ms | errors | nodes | a | b | primary | standby | nginx |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (name, front), runs in results.items():
        med = statistics.median
        cells = [
            f"{med(r.load.rps for r in runs):,.1f}",
            f"{med(r.load.p50_ms for r in runs):.1f}",
            f"{med(r.load.p99_ms for r in runs):.1f}",
            f"{sum(r.load.errors for r in runs)}",
            f"{med(r.cpu_ms_per_request(*(n.name for n in cluster.nodes)) for r in runs):.2f}",
            *(
                f"{med(r.cpu_ms_per_request(name) for r in runs):.2f}"
                for name in ("a", "b", "primary", "standby", "nginx")
            ),
        ]
        print(f"| {name} | {front} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
