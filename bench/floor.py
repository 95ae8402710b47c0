"""Floors: what a certificate costs to issue, and what a donor's history costs to read, in process.

Run: .venv/bin/python bench/floor.py
     .venv/bin/python bench/floor.py --history bench/out/run-sqlite-1000000   # after bench/run.py

Each record of an import or a station batch ends in one signed QR payload: CBOR claims, an ES256 signature
over the COSE Sig_structure, zlib (RFC 1950, as the format fixes) and Base45. This times those steps alone,
on a certificate of the usual size, and prints the records/s that this floor allows on this machine's cores
even if validation, merging and the database cost nothing.

With --history DIR (a database bench/run.py imported, with its tokens in DIR/inputs), it times the
work of GET /api/v1/me/donations without HTTP: the session lookup, the donations query, the service and
the JSON encoding, across the bench's donors. Set against /healthz's whole cost per request, it bounds the
history's throughput relative to /healthz whatever the web stack does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import cbor2
import msgspec

from bloodcert.certs.algorithms import algorithm
from bloodcert.certs.payload import CertificateContent, to_claims
from bloodcert.certs.qr import b45encode, encode, sig_structure

ROUNDS = 5
N = 3000


def per_call_us(fn: Callable[[], object]) -> float:
    """Median over ROUNDS of the mean time of N calls, in µs."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(N):
            fn()
        rounds.append((time.perf_counter() - start) / N * 1e6)
    return statistics.median(rounds)


def history_floor(directory: Path, tokens_file: Path) -> None:
    """Time the history request's own work in process, over every token of the bench."""
    from bloodcert.config import Settings
    from bloodcert.services import history as svc
    from bloodcert.services.sessions import resolve_donor as resolve
    from bloodcert.storage.uow import Database
    from bloodcert.web.api.donor import HistoryOut, SummaryOut, _donation

    settings = Settings.from_env(
        {
            "BLOODCERT_DATABASE_URL": f"sqlite:///{directory}/bloodcert.db",
            "BLOODCERT_DATA_DIR": str(directory / "var"),
        }
    )
    db = Database(settings.database_url, data_key=settings.data_key)
    tokens = tokens_file.read_text(encoding="utf-8").split()
    filters = svc.parse_filters(None, None, None, None)
    encoder = msgspec.json.Encoder()
    stages = {"session lookup": 0.0, "donations query": 0.0, "response built and encoded": 0.0}
    rounds = []
    with db.donor_reads() as reads:
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for token in tokens:
                t0 = time.perf_counter()
                principal, _touch = resolve(reads, token, datetime.now(UTC))
                t1 = time.perf_counter()
                result = svc.history(reads, principal, filters)
                t2 = time.perf_counter()
                s = result.summary
                encoder.encode(
                    HistoryOut(
                        SummaryOut(s.count, s.whole_blood_ml, s.platelet_units, s.plasma_ml, None, None),
                        [_donation(r, result.under_review) for r in result.donations],
                        [],
                    )
                )
                t3 = time.perf_counter()
                for name, took in zip(stages, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                    stages[name] += took
            rounds.append((time.perf_counter() - start) / len(tokens) * 1e6)
    calls = ROUNDS * len(tokens)
    print(f"history in process, {len(tokens):,} donors × {ROUNDS}: median {statistics.median(rounds):.1f} µs")
    for name, total in stages.items():
        print(f"  {name:28s} {total / calls * 1e6:7.1f} µs")
    db.dispose()


def main() -> None:
    """Print the cost of each step and the ceiling it sets."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", type=Path, help="a database directory bench/run.py imported")
    parser.add_argument("--tokens", type=Path, help="the donors' tokens (default: DIR/inputs/tokens.txt)")
    args = parser.parse_args()
    if args.history:
        history_floor(args.history, args.tokens or args.history / "inputs" / "tokens.txt")
        return
    alg = algorithm("ES256")
    key = alg.generate()
    kid = b"\x01" * 8
    content = CertificateContent(
        certificate_no="2026000012345678X",
        donation_no="3301062026000123",
        station_code="33000001",
        station_name="浙江省血液中心",
        donated_on=date(2026, 5, 1),
        kind="whole_blood",
        volume_ml=400,
        units=None,
        holder_name="王芳",
        id_number_masked="330***********1221",
        abo="A",
        rhd="positive",
        status_list=("1", 12345),
    )
    claims = to_claims(content, issuer="CN-NHC", issued_at=datetime.now(UTC))
    payload = cbor2.dumps(claims)
    protected = cbor2.dumps({1: alg.cose_alg, 4: kid})
    to_sign = sig_structure(protected, payload)
    signature = alg.sign(key, to_sign)
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    compressed = zlib.compress(cose, 9)
    steps = {
        "CBOR claims": lambda: cbor2.dumps(claims),
        "ES256 signature (OpenSSL)": lambda: alg.sign(key, to_sign),
        "zlib": lambda: zlib.compress(cose, 9),
        "Base45": lambda: b45encode(compressed),
    }
    costs = {name: per_call_us(fn) for name, fn in steps.items()}
    whole = per_call_us(lambda: encode(claims, alg=alg, private_key=key, kid=kid))
    cores = os.cpu_count() or 1
    print(f"certificate of {len(cose)} bytes COSE, {len(compressed)} compressed; medians of {ROUNDS}×{N}")
    for name, us in costs.items():
        print(f"  {name:28s} {us:7.1f} µs")
    print(f"  {'whole encode (qr.encode)':28s} {whole:7.1f} µs")
    per_core = 1e6 / whole
    print(
        f"signing alone allows {per_core:,.0f} certificates/s per core, {cores * per_core:,.0f}/s on {cores}"
    )


if __name__ == "__main__":
    main()
