"""Certificate rendering under pressure: /api/v1/me latency while 48 connections fetch SVGs, and 120 PDFs.

    python bench/render_pressure.py [--persons 400]

Starts `bloodcert serve` (2 workers) on a fresh SQLite database, with the abuse limits raised so that
only the cost of drawing is measured. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bloodcert.config import Settings
from harness import OUT, bloodcert, dataset, fresh_env, serving, wrk
from sessions import make_tokens

LIMITS = ",".join(
    f"{name}=1000000/second"
    for name in (
        "login",
        "login_page",
        "captcha",
        "verify",
        "station",
        "provider",
        "console_login",
        "anonymous",
        "refused",
        "render",
        "render_session",
    )
)


def _pairs(base: str, tokens: list[str]) -> list[tuple[str, str]]:
    """(token, certificate number): one certificate of each donor, read through the API."""
    pairs = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for token in tokens:
            donations = client.get("/api/v1/me/donations", headers={"Authorization": f"Bearer {token}"})
            numbers = [d["certificate_no"] for d in donations.json()["donations"] if d["certificate_no"]]
            if numbers:
                pairs.append((token, numbers[0]))
    return pairs


def me_latency_under_svg_load(base: str, pairs: list[tuple[str, str]], seconds: int) -> dict[str, float]:
    """Median and p90 of sequential GET /api/v1/me while wrk runs 48 connections of SVG fetches."""
    data = OUT / "render-svg-pairs.txt"
    data.write_text("".join(f"{t} {n}.svg\n" for t, n in pairs), encoding="utf-8")
    samples: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        token = pairs[0][0]
        with httpx.Client(base_url=base, timeout=30) as client:
            time.sleep(1)  # let the load start
            while not stop.is_set():
                start = time.perf_counter()
                client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                samples.append((time.perf_counter() - start) * 1000)
                time.sleep(0.05)

    thread = threading.Thread(target=probe)
    thread.start()
    load = wrk("svg", base + "/", "certificate.lua", seconds=seconds, connections=48, data=data)
    stop.set()
    thread.join()
    ordered = sorted(samples)
    return {
        "me_p50_ms": statistics.median(ordered),
        "me_p90_ms": ordered[int(len(ordered) * 0.9)],
        "me_samples": len(ordered),
        "svg_rps": load.rps,
        "svg_p50_ms": load.p50_ms,
        "svg_errors": load.errors,
    }


def pdf_seconds(base: str, pairs: list[tuple[str, str]], concurrency: int = 8) -> float:
    """Wall time to fetch one PDF of each pair, `concurrency` at a time."""

    def fetch(pair: tuple[str, str]) -> int:
        token, number = pair
        with httpx.Client(base_url=base, timeout=300) as client:
            url = f"/api/v1/me/certificates/{number}.pdf"
            return client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(fetch, pairs))
    assert set(statuses) == {200}, statuses
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=400)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    env = fresh_env("render-pressure")
    env["BLOODCERT_RATE_LIMITS"] = LIMITS
    bloodcert("station", "seed", env=env)
    bloodcert("keys", "rotate", env=env)
    data = dataset(args.persons, 7)
    bloodcert("import", str(data), env=env)
    settings = Settings.from_env({k: v for k, v in env.items() if k.startswith("BLOODCERT_")})
    token_file = Path(OUT / "render-tokens.txt")
    make_tokens(settings, 200, token_file)
    tokens = token_file.read_text(encoding="utf-8").split()
    with serving(env, workers=2) as base:
        pairs = _pairs(base, tokens)
        figures: dict[str, float] = {"pairs": len(pairs)}
        with httpx.Client(base_url=base) as client:
            samples = []
            for _ in range(40):
                start = time.perf_counter()
                client.get("/api/v1/me", headers={"Authorization": f"Bearer {pairs[0][0]}"})
                samples.append((time.perf_counter() - start) * 1000)
            figures["me_idle_p50_ms"] = statistics.median(samples)
        figures |= me_latency_under_svg_load(base, pairs[:120], args.seconds)
        figures["pdf_120_first_s"] = pdf_seconds(base, pairs[:120])
        figures["pdf_120_again_s"] = pdf_seconds(base, pairs[:120])
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
