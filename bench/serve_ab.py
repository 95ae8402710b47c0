"""A/B of `bloodcert serve`: source trees (and servers) in turns on the same database, run.py's loads.

    .venv/bin/python bench/serve_ab.py --variant before=/path/to/old/src --variant after=src
    .venv/bin/python bench/serve_ab.py --variant uvicorn=src --variant granian=src:--server,granian

A variant is NAME=SRC[:ARGS]: the server runs the code under SRC (first on PYTHONPATH) with ARGS (comma
separated) added to `bloodcert serve --workers 2`. Each round serves every variant in turn, starting one
later each round, and runs the loads of bench/run.py against it: donor history, certificate reads,
verification and /healthz, under wrk (1 thread, 32 connections) from the same machine. Besides req/s, it
reads the server's CPU time (every process of it) before and after each load: CPU per request does not
depend on what else the machine runs, so it is the figure to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import OUT, server_cpu_seconds, serving, wrk
from run import load_inputs, prepare

LOADS = ("history", "certificate", "verify", "healthz")


@dataclass(frozen=True)
class Variant:
    """One server to measure: its code and its `serve` options."""

    name: str
    src: Path
    args: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, _, rest = text.partition("=")
        src, _, args = rest.partition(":")
        return cls(name, Path(src).resolve(), tuple(a for a in args.split(",") if a))


@dataclass(frozen=True)
class Figure:
    """One load against one variant in one round."""

    variant: str
    load: str
    round: int
    rps: float
    p99_ms: float
    errors: int
    cpu_us: float  # server CPU per request


def one_round(
    variant: Variant, env: dict[str, str], inputs: dict[str, Path], seconds: int, index: int
) -> list[Figure]:
    """Every load once against a fresh server of the variant."""
    scripts = {
        "history": ("/api/v1/me/donations", "bearer.lua", inputs["tokens"]),
        "certificate": ("/", "certificate.lua", inputs["pairs"]),
        "verify": ("/api/v1/verify", "verify.lua", inputs["verify"]),
        "healthz": ("/healthz", "get.lua", None),
    }
    figures = []
    pythonpath = os.pathsep.join(p for p in (str(variant.src), env.get("PYTHONPATH", "")) if p)
    with serving({**env, "PYTHONPATH": pythonpath}, workers=2, args=variant.args) as base:
        for load in LOADS:
            path, script, data = scripts[load]
            # Warm up long enough to use every token once: a session's touch (a write, at most once a
            # minute) then falls outside the measured run, for every variant alike.
            wrk(load, base + path, script, seconds=3 if data == inputs["tokens"] else 1, data=data)
            before = server_cpu_seconds(base)
            result = wrk(load, base + path, script, seconds=seconds, data=data)
            cpu = server_cpu_seconds(base) - before
            figures.append(
                Figure(
                    variant.name,
                    load,
                    index,
                    result.rps,
                    result.p99_ms,
                    result.errors,
                    cpu / max(1, result.requests) * 1e6,
                )
            )
            print(
                f"   {variant.name:>10} {load:<11} {result.rps:8,.0f} req/s  p99 {result.p99_ms:6.1f} ms  "
                f"{figures[-1].cpu_us:6.0f} µs CPU/req  errors {result.errors}",
                flush=True,
            )
    return figures


def table(variants: list[Variant], figures: list[Figure]) -> str:
    """Medians per variant and load, and the history/healthz ratio (median of each round's ratio)."""
    lines = [
        "| variant | what | req/s (median) | runs | p99 ms | server CPU µs/req | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        mine = [f for f in figures if f.variant == v.name]
        for load in LOADS:
            runs = [f for f in mine if f.load == load]
            lines.append(
                f"| {v.name} | {load} | {statistics.median(f.rps for f in runs):,.0f} | "
                f"{' · '.join(f'{f.rps:,.0f}' for f in runs)} | "
                f"{statistics.median(f.p99_ms for f in runs):.1f} | "
                f"{statistics.median(f.cpu_us for f in runs):.0f} | {sum(f.errors for f in runs)} |"
            )
        rounds = sorted({f.round for f in mine})
        by = {(f.load, f.round): f for f in mine}
        ratios = [by["history", r].rps / by["healthz", r].rps for r in rounds]
        cpu_ratios = [by["healthz", r].cpu_us / by["history", r].cpu_us for r in rounds]
        lines.append(
            f"| {v.name} | history ÷ healthz | {statistics.median(ratios):.2f} | "
            f"{' · '.join(f'{x:.2f}' for x in ratios)} | | {statistics.median(cpu_ratios):.2f} (by CPU) | |"
        )
    return "\n".join(lines)


def main() -> None:
    """Prepare the database once, then alternate the variants for the rounds asked."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", required=True, help="NAME=SRC[:ARG,ARG...]")
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=2000)
    args = parser.parse_args()
    variants = [Variant.parse(v) for v in args.variant]
    OUT.mkdir(exist_ok=True)
    env, _ = prepare(args.persons, "sqlite", None, keep=True)
    inputs = load_inputs(env, args.tokens)
    figures: list[Figure] = []
    for index in range(args.runs):
        print(f"== round {index + 1} of {args.runs}", flush=True)
        for k in range(len(variants)):
            variant = variants[(index + k) % len(variants)]
            figures += one_round(variant, env, inputs, args.seconds, index)
    (OUT / "serve-ab.json").write_text(json.dumps([asdict(f) for f in figures], indent=1), encoding="utf-8")
    print(table(variants, figures))


if __name__ == "__main__":
    main()
