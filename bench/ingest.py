"""Ingest throughput: bulk import (records/s, peak RSS) and the signed station API (records/s).

Run: .venv/bin/python bench/ingest.py --persons 20000 --runs 3
Each run uses a fresh SQLite database under bench/out/. Prints medians.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from harness import OUT, bloodcert, dataset, fresh_env, serving


def seeded_env(name: str) -> dict[str, str]:
    """A fresh database under bench/out/NAME with the built-in stations and certificate keys."""
    env = fresh_env(name)
    bloodcert("station", "seed", env=env)
    bloodcert("keys", "rotate", env=env)
    return env


def bench_import(data: Path, records: int) -> tuple[float, float]:
    """One import into a fresh database: (records/s, peak RSS of the importer in MiB)."""
    env = seeded_env("import")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    bloodcert("import", str(data), env=env)
    elapsed = time.perf_counter() - start
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return records / elapsed, peak


class _Msg:
    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method, self.url, self.headers = method, url, headers


def signed_batch(
    url: str, key_id: str, key: Any, records: list[dict[str, Any]]
) -> tuple[bytes, dict[str, str]]:
    """A station batch signed as docs/station-integration.md requires."""
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    msg = _Msg("POST", url, {"Content-Type": "application/json"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key}),
    )
    signer.sign(
        msg,
        key_id=key_id,
        created=datetime.now(UTC),
        nonce=uuid.uuid4().hex,
        label="sig1",
        body=body,
        covered_component_ids=("@method", "@target-uri", "content-digest", "content-type"),
    )
    return body, msg.headers


def bench_api(data: Path, batches: int, workers: int, clients: int) -> float:
    """Signed 1,000-record batches against `bloodcert serve`: records/s accepted."""
    env = seeded_env("api")
    key_path = OUT / "api" / "station.pem"
    out = bloodcert(
        "station",
        "add",
        "--code",
        "BENCH01",
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
    lines = data.read_text(encoding="utf-8").splitlines()[: batches * 1000]
    records = [json.loads(line) for line in lines]
    for r in records:
        r.pop("station", None)
    with serving(env, workers=workers) as base:
        url = base + "/api/v1/station/donations"
        chunks = [records[i : i + 1000] for i in range(0, len(records), 1000)]
        prepared = [signed_batch(url, key_id, key, c) for c in chunks]
        start = time.perf_counter()
        with httpx.Client(timeout=120) as client, ThreadPoolExecutor(clients) as pool:
            statuses = list(
                pool.map(lambda p: client.post(url, content=p[0], headers=p[1]).status_code, prepared)
            )
        elapsed = time.perf_counter() - start
    if any(s != 200 for s in statuses):
        raise SystemExit(f"API errors: {statuses}")
    return len(records) / elapsed


def main() -> None:
    """Generate once, then import and post several times; print medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    data = dataset(args.persons, 7)
    records = sum(1 for _ in data.open(encoding="utf-8"))
    imports = [bench_import(data, records) for _ in range(args.runs)]
    api = [bench_api(data, args.batches, args.workers, args.clients) for _ in range(args.runs)]
    print(f"dataset: {args.persons} persons, {records} records; {args.runs} runs each; medians")
    print(f"{'what':<44}{'median':>12}  runs")
    print(
        f"{'bulk import (records/s)':<44}{statistics.median(r for r, _ in imports):>12,.0f}  "
        + ", ".join(f"{r:,.0f}" for r, _ in imports)
    )
    print(f"{'bulk import peak RSS (MiB)':<44}{statistics.median(m for _, m in imports):>12,.0f}")
    print(
        f"{'station API, signed 1000-record batches (rec/s)':<44}{statistics.median(api):>12,.0f}  "
        + ", ".join(f"{r:,.0f}" for r in api)
    )


if __name__ == "__main__":
    main()
