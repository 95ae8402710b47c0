"""Verification throughput: in process and through POST /api/v1/verify (with /healthz as the baseline).

Run: .venv/bin/python bench/verify.py --persons 2000 --seconds 10 --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bloodcert.certs.verify import verify_qr
from bloodcert.config import Settings
from bloodcert.services.verification import trust_list_from_db
from bloodcert.storage.tables import certificates
from bloodcert.storage.uow import Database
from harness import OUT, bloodcert, fresh_env, serving, wrk


def seed(persons: int) -> tuple[dict[str, str], list[str]]:
    """A fresh SQLite database with `persons` synthetic donors; returns its env and every QR text."""
    env = fresh_env("verify")
    # All load comes from one address here; the per-client abuse limit would turn it into 429s.
    env["BLOODCERT_RATE_LIMITS"] = "verify=1000000/second,anonymous=1000000/second"
    bloodcert("station", "seed", env=env)
    bloodcert("keys", "rotate", env=env)
    data = OUT / f"verify-{persons}.jsonl"
    bloodcert("generate", "--persons", str(persons), "--out", str(data), "--seed", "3", env=env)
    bloodcert("import", str(data), env=env)
    # QR texts are stored encrypted (they carry the holder's name): read them as the platform does.
    db = database(env)
    with db.reading() as uow:
        active = select(certificates.c.qr).where(certificates.c.status == "active")
        qrs = list(uow.conn.execute(active).scalars())
    db.dispose()
    return env, qrs


def database(env: dict[str, str]) -> Database:
    """The bench database, with the data key the CLI generated under its data directory."""
    settings = Settings.from_env(env)
    return Database(settings.database_url, data_key=settings.data_key)


def in_process(env: dict[str, str], qrs: list[str], seconds: float) -> float:
    """Verifications per second in one process: decode, signature, claims, key validity, status."""
    db = database(env)
    trust = trust_list_from_db(db, "CN-NHC")
    now = datetime.now(UTC)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for qr in qrs[:1000]:
            assert verify_qr(qr, trust, lambda _l, _i: False, now).valid
        done += min(len(qrs), 1000)
    return done / (time.perf_counter() - start)


def main() -> None:
    """Seed once, then measure several runs and print medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    env, qrs = seed(args.persons)
    bodies = OUT / "verify-bodies.txt"
    bodies.write_text("".join(json.dumps({"qr": q}) + "\n" for q in qrs), encoding="utf-8")
    local = [in_process(env, qrs, args.seconds / 2) for _ in range(args.runs)]
    api, health = [], []
    with serving(env, workers=args.workers) as base:
        for _ in range(args.runs):
            api.append(
                wrk("verify", base + "/api/v1/verify", "verify.lua", seconds=args.seconds, data=bodies)
            )
            health.append(wrk("healthz", base + "/healthz", "get.lua", seconds=args.seconds))
    print(f"{len(qrs)} certificates; {args.runs} runs of {args.seconds} s; medians")
    runs = ", ".join(f"{x:,.0f}" for x in local)
    print(f"in-process verifications/s: {statistics.median(local):,.0f}  ({runs})")
    for name, runs in (("POST /api/v1/verify", api), ("GET /healthz", health)):
        print(
            f"{name:<22} {statistics.median(r.rps for r in runs):>9,.0f} req/s  "
            f"p50 {statistics.median(r.p50_ms for r in runs):6.2f} ms  "
            f"p99 {statistics.median(r.p99_ms for r in runs):6.2f} ms  errors {sum(r.errors for r in runs)}"
        )
    ratio = statistics.median(a.rps / h.rps for a, h in zip(api, health, strict=True))
    print(f"verify / healthz ratio: {ratio:.2f}")


if __name__ == "__main__":
    Path(OUT).mkdir(exist_ok=True)
    main()
