"""Prometheus metrics of the platform (prometheus-client), added up over every worker process.

`bloodcert serve` with a metrics port points PROMETHEUS_MULTIPROC_DIR at a folder it empties at start;
each worker then keeps its samples in files there and the metrics listener, in the serving process, adds
them up. Without it (tests, `bloodcert demo`, one-off commands) samples stay in the process.
prometheus_client decides between the two when it is first imported, so it is imported here on first
use, never when this module is.

Labels are bounded: route templates (never raw paths), methods, status codes, outcomes and the
platform's own error codes. No label ever carries an ID number, a name or a donation number.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class _Metrics:
    requests: Any
    latency: Any
    records: Any
    rejections: Any
    certificates: Any
    waivers: Any
    pool_in_use: Any
    pool_size: Any
    donor_reads: Any
    limits_local: Any


@cache
def _metrics() -> _Metrics:
    from prometheus_client import Counter, Gauge, Histogram

    return _Metrics(
        requests=Counter("bloodcert_http_requests", "HTTP requests answered", ["route", "method", "status"]),
        latency=Histogram(
            "bloodcert_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
        ),
        records=Counter(
            "bloodcert_records", "Donation records answered for, by source and outcome", ["source", "outcome"]
        ),
        rejections=Counter(
            "bloodcert_record_rejections",
            "Errors of rejected records, by source and code",
            ["source", "code"],
        ),
        certificates=Counter("bloodcert_certificates_signed", "Donation certificates signed", ["source"]),
        waivers=Counter("bloodcert_waivers", "Hospital fee waivers, by event", ["event"]),
        pool_in_use=Gauge(
            "bloodcert_db_connections_in_use",
            "Database connections checked out of the workers' pools",
            multiprocess_mode="livesum",
        ),
        donor_reads=Counter(
            "bloodcert_donor_reads",
            "Donors' reads with a read replica configured, by where they went (replica, primary) and why",
            ["target", "reason"],
        ),
        pool_size=Gauge(
            "bloodcert_db_pool_size",
            "Connections each worker's pool keeps (summed over the live workers)",
            multiprocess_mode="livesum",
        ),
        limits_local=Counter(
            "bloodcert_rate_limits_counted_locally",
            "Rate-limit checks counted on the node, not in Redis, because Redis could not be reached",
        ),
    )


# The labelled series of each (route, method, status) seen, kept: `labels()` takes a lock and checks its
# arguments on every call, and every request is observed. Routes are templates, so the set is bounded.
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """One answered HTTP request."""
    series = _request_series.get((route, method, status))
    if series is None:
        m = _metrics()
        series = m.requests.labels(route, method, str(status)), m.latency.labels(route, method)
        _request_series[route, method, status] = series
    series[0].inc()
    series[1].observe(seconds)


def observe_records(
    source: str, outcomes: Mapping[str, int], codes: Mapping[str, int], certificates: int
) -> None:
    """A committed batch: records by outcome, the rejections' error codes, and certificates signed."""
    m = _metrics()
    for outcome, n in outcomes.items():
        if n:
            m.records.labels(source, outcome).inc(n)
    for code, n in codes.items():
        if n:
            m.rejections.labels(source, code).inc(n)
    if certificates:
        m.certificates.labels(source).inc(certificates)


def observe_waiver(event: str) -> None:
    """A committed waiver event: `claimed`, `replayed` (the same invoice again) or `reversed`."""
    _metrics().waivers.labels(event).inc()


def rate_limit_counted_locally() -> None:
    """A rate-limit check counted on this node because Redis could not be reached."""
    _metrics().limits_local.inc()


def donor_read(target: str, reason: str) -> None:
    """A donor's read where a read replica is configured: `replica` (`replayed`: it has replayed what the
    donor must see) or `primary` (`fence`: it lags behind a write the donor must see; `missing_session`:
    the session is not on it; `replica_down`: it failed or is being left alone)."""
    _metrics().donor_reads.labels(target, reason).inc()


def connection_checked_out() -> None:
    _metrics().pool_in_use.inc()


def connection_returned() -> None:
    _metrics().pool_in_use.dec()


def pool_size(size: int) -> None:
    _metrics().pool_size.set(size)


def use_multiprocess_dir(path: Path) -> None:
    """Empty `path` (samples of an earlier run would be added to this one's) and have workers write there.

    Call before anything records a sample, in the process that starts the workers.
    """
    if path.is_dir():
        for child in path.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)


def worker_exited(pid: int) -> None:
    """Drop a finished worker's live gauges (its counters stay counted)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def start_listener(host: str, port: int) -> None:
    """Serve GET /metrics on host:port from a thread of this process (every worker's samples)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry: Any = None
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    if registry is None:
        start_http_server(port, addr=host)
    else:
        start_http_server(port, addr=host, registry=registry)
