"""A waiver claim's (or quote's) CPU in process: `services.waivers` called directly, without HTTP.

Run: .venv/bin/python bench/waivers_service.py [--calls 2000] [--kind claim|quote] [--profile FILE]
Uses the database `bench/waivers.py` imported (bench/out/waivers; run that first) and adds a hospital, its
key and the claims to it, as that bench does. Requests are signed first; then one thread calls the service
for each and the process's CPU time is divided by the calls. On a shared machine this is the steadier
figure: no event loop, no middleware, no thread hand-off, no load generator on the same cores.
"""

from __future__ import annotations

import argparse
import cProfile
import random
import time
import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bloodcert.config import Settings
from bloodcert.domain.waivers import builtin_rule_book
from bloodcert.errors import AppError
from bloodcert.services import waivers
from bloodcert.services.hospitals import add_hospital_key, register_hospital
from bloodcert.services.station_auth import SignedRequest
from bloodcert.storage.uow import Database
from harness import OUT, reuse_env
from waivers import body_for, donors_under_rules, signed

URL = "http://127.0.0.1:8000/api/v1/hospital/waivers"


def main() -> None:
    """Sign the requests, then time the service calls."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--kind", choices=("claim", "quote"), default="claim")
    parser.add_argument("--profile", help="write a cProfile of the timed calls here")
    args = parser.parse_args()
    if not (OUT / "waivers" / "bloodcert.db").exists():
        raise SystemExit("no database: run bench/waivers.py first")
    settings = Settings.from_env(reuse_env("waivers"))
    db = Database(settings.database_url, data_key=settings.data_key)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    code = f"SVC{uuid.uuid4().hex[:8].upper()}"
    with db.transaction() as uow:
        register_hospital(uow, code=code, name="基准测试医院", region="330106", now=datetime.now(UTC))
        key_id = add_hospital_key(uow, code=code, public_key_pem=pem, alg="ed25519", now=datetime.now(UTC))
    donors = donors_under_rules(OUT / f"persons-{args.persons}.jsonl", 50_000)
    rng = random.Random(7)
    url = URL + "/quote" if args.kind == "quote" else URL

    def request(i: int) -> SignedRequest:
        body, headers = signed(url, key_id, key, body_for(rng.choice(donors), f"S{code}-{i}"))
        lines = [("host", "127.0.0.1:8000"), ("content-length", str(len(body)))]
        return SignedRequest("POST", url, lines + [(k.lower(), v) for k, v in headers.items()], body)

    warm, timed = [request(i) for i in range(200)], [request(i) for i in range(200, 200 + args.calls)]
    ctx = waivers.Context(
        book=builtin_rule_book(),
        index_key=settings.index_key,
        audit_key=settings.audit_key,
        window_s=settings.signature_window_s,
        client="127.0.0.1",
    )
    call = waivers.claim if args.kind == "claim" else waivers.quote
    refused = 0

    def run(requests: list[SignedRequest]) -> None:
        nonlocal refused
        for r in requests:
            try:
                call(db, ctx, r)
            except AppError:
                refused += 1

    run(warm)
    refused = 0
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    run(timed)
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{args.kind}: {args.calls} calls ({refused} refused), "
        f"CPU {cpu * 1000 / args.calls:.2f} ms a call, wall {wall * 1000 / args.calls:.2f} ms a call"
    )


if __name__ == "__main__":
    main()
