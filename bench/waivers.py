"""Hospital waiver throughput: signed quotes and claims against `bloodcert serve`, with many donors' pools.

Run: .venv/bin/python bench/waivers.py --persons 100000 [--keep]
A fresh SQLite database under bench/out/waivers is seeded with stations and `bloodcert import`s a generated
national dataset, so that the donors' pools are among many. Then, with `--workers` server processes:

- quote throughput: closed loop, `--clients` threads sending quotes for random donors for `--seconds`;
- claim latency at a fixed rate: an open loop that sends one claim every 1/`--rate` s for `--seconds`, each
  for a random donor with a fresh invoice number; latency counts from the moment the claim was due, so a
  server that falls behind is charged for the queue it builds.

Requests are signed with the hospital's Ed25519 key before each phase starts (the signing cost is the
client's, not the server's). Prints rates, p50 and p99, the server's CPU per request (both workers; the
figure that compares two versions on a shared machine), the load generator's own CPU per request (both
share the machine's cores) and the responses by status; CPU figures are milliseconds per request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from bloodcert.domain.stations import builtin_stations
from bloodcert.domain.waivers import builtin_rule_book
from harness import OUT, bloodcert, dataset, fresh_env, reuse_env, server_cpu_seconds, serving


@dataclass(frozen=True)
class Donor:
    id_type: str
    id_number: str
    name: str


class _Msg:
    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method, self.url, self.headers = method, url, headers


def signed(url: str, key_id: str, key: Any, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A hospital request signed with RFC 9421, as stations sign theirs."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    msg = _Msg("POST", url, {"Content-Type": "application/json"})
    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key}),
    ).sign(
        msg,
        key_id=key_id,
        created=datetime.now(UTC),
        nonce=uuid.uuid4().hex,
        label="sig1",
        body=body,
        covered_component_ids=("@method", "@target-uri", "content-digest", "content-type"),
    )
    return body, msg.headers


def donors_under_rules(data: Path, limit: int) -> list[Donor]:
    """Donors of the dataset who gave blood where a waiver rule table applies."""
    book = builtin_rule_book()
    regions = {s.code: s.region for s in builtin_stations()}
    found: dict[tuple[str, str], Donor] = {}
    with data.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            region = regions.get(record.get("station", ""))
            donor = record.get("donor", {})
            if region and book.jurisdiction_of(region) and record.get("status") == "valid":
                key = (donor["id_type"], donor["id_number"])
                found.setdefault(key, Donor(donor["id_type"], donor["id_number"], donor["name"]))
            if len(found) >= limit:
                break
    return list(found.values())


def body_for(donor: Donor, invoice_no: str) -> dict[str, Any]:
    """A claim for the donor's own transfusion of 400 ml of red cells (520 元)."""
    person = {"id_type": donor.id_type, "id_number": donor.id_number, "name": donor.name}
    return {
        "invoice_no": invoice_no,
        "patient": person,
        "donor": person,
        "relationship": "self",
        "proof": "none",
        "transfused_at": datetime.now(UTC).date().isoformat(),
        "items": [{"component": "red_cells", "volume_ml": 400, "units": None, "amount_fen": 52000}],
    }


class _Client:
    """One keep-alive connection of the standard library's http.client.

    Not httpx: at a few hundred requests a second the load generator shares the machine's two cores with
    the server, and httpx spends several times more CPU per request than http.client does.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        """The response status, or 0 when the connection failed or timed out."""
        for _ in range(2):  # one retry on a connection the server closed while idle
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request("POST", self.path, body, headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
        return 0


@dataclass
class Phase:
    name: str
    latencies_ms: list[float]
    statuses: Counter[int]
    seconds: float
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """The server's CPU (both workers, user + system) per answered request."""
        return self.server_cpu_s * 1000 / max(1, len(self.latencies_ms))

    @property
    def client_cpu_ms_per_request(self) -> float:
        """The load generator's own CPU per answered request (it shares the machine with the server)."""
        return self.client_cpu_s * 1000 / max(1, len(self.latencies_ms))

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def quotes_closed_loop(
    url: str, prepared: list[tuple[bytes, dict[str, str]]], clients: int, seconds: float
) -> Phase:
    """As many quotes as `clients` threads can send in `seconds`."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    cursor = iter(range(len(prepared)))
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        client = _Client(url)
        while time.perf_counter() < deadline:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            body, headers = prepared[i]
            start = time.perf_counter()
            status = client.post(body, headers)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(worker)
    return Phase("quote (closed loop)", latencies, statuses, time.perf_counter() - start)


def claims_open_loop(
    url: str, prepared: list[tuple[bytes, dict[str, str]]], rate: float, threads: int
) -> Phase:
    """One claim every 1/rate s; latency from when each was due."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    local = threading.local()
    start = time.perf_counter() + 0.5

    def send(i: int) -> None:
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = _Client(url)
        body, headers = prepared[i]
        status = client.post(body, headers)
        elapsed = (time.perf_counter() - due) * 1000
        with lock:
            latencies.append(elapsed)
            statuses[status] += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, range(len(prepared))))
    # The rate achieved: every claim answered, over the time from the first due to the last answer.
    return Phase(f"claim (open loop, {rate:.0f}/s)", latencies, statuses, time.perf_counter() - start)


def setup(persons: int, keep: bool) -> tuple[dict[str, str], Path]:
    """A fresh database with the stations, the keys and the imported dataset; the dataset's path.

    With `keep`, the database imported by an earlier run is used again (an import takes minutes).
    """
    data = dataset(persons, 7)
    if keep and (OUT / "waivers" / "bloodcert.db").exists():
        return reuse_env("waivers"), data
    env = fresh_env("waivers")
    bloodcert("station", "seed", env=env)
    bloodcert("keys", "rotate", env=env)
    started = time.perf_counter()
    bloodcert("import", str(data), env=env)
    print(f"imported {data.name} in {time.perf_counter() - started:.0f} s")
    return env, data


def main() -> None:
    """Import once, then measure quotes and claims against a served database."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=48)
    parser.add_argument("--keep", action="store_true", help="reuse the database of an earlier run")
    args = parser.parse_args()
    env, data = setup(args.persons, args.keep)
    # Measure the service, not the per-client limit (400 requests/s a hospital key by default).
    env["BLOODCERT_RATE_LIMITS"] = "hospital=1000000/second"
    code = f"BENCH{uuid.uuid4().hex[:8].upper()}"
    key_path = OUT / "waivers" / f"{code}.pem"
    out = bloodcert(
        "hospital", "add", "--code", code, "--name", "基准测试医院", "--region", "330106",
        "--key-out", str(key_path), env=env,
    )  # fmt: skip
    key_id = out.strip().splitlines()[-1]
    key = load_pem_private_key(key_path.read_bytes(), password=None)
    donors = donors_under_rules(data, 50_000)
    rng = random.Random(7)
    with serving(env, workers=args.workers) as base:
        quote_url, claim_url = base + "/api/v1/hospital/waivers/quote", base + "/api/v1/hospital/waivers"
        count = int(args.seconds * 1000)
        quotes = [signed(quote_url, key_id, key, body_for(rng.choice(donors), f"Q{i}")) for i in range(count)]
        cpu, mine = server_cpu_seconds(base), time.process_time()
        quote = quotes_closed_loop(quote_url, quotes, args.clients, args.seconds)
        quote.server_cpu_s, quote.client_cpu_s = server_cpu_seconds(base) - cpu, time.process_time() - mine
        claims_n = int(args.seconds * args.rate)
        claims = [
            signed(claim_url, key_id, key, body_for(rng.choice(donors), f"C{i}")) for i in range(claims_n)
        ]
        cpu, mine = server_cpu_seconds(base), time.process_time()
        claim = claims_open_loop(claim_url, claims, args.rate, args.threads)
        claim.server_cpu_s, claim.client_cpu_s = server_cpu_seconds(base) - cpu, time.process_time() - mine
    print(f"dataset: {args.persons:,} persons; {len(donors):,} donors under a rule table")
    print(f"server: {args.workers} workers")
    header = f"{'phase':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'server CPU':>12}{'client CPU':>12}"
    print(header + "  statuses")
    for phase in (quote, claim):
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(phase.statuses.items()))
        print(
            f"{phase.name:<28}{phase.rate:>10,.0f}{phase.pct(0.5):>10.1f}{phase.pct(0.99):>10.1f}"
            f"{phase.cpu_ms_per_request:>12.2f}{phase.client_cpu_ms_per_request:>12.2f}"
            f"  {shown}"
        )
    if not claim.latencies_ms or not quote.latencies_ms:
        raise SystemExit("nothing was measured")


if __name__ == "__main__":
    main()
