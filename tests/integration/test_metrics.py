"""Prometheus metrics of `bloodcert serve`: every worker's samples, added up, on a loopback-only listener."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import bloodcert
from bloodcert.storage.uow import Database
from tests.cli_process import cli_env
from tests.factories import create_station, make_record, signed_headers
from tests.live_server import free_port

SRC = Path(bloodcert.__file__).resolve().parents[1]


@pytest.fixture
def served(sqlite_db: Database, tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """`bloodcert serve --workers 2` with metrics on; yields the public and the metrics base URLs."""
    stale = tmp_path / "var" / "metrics"
    stale.mkdir(parents=True)
    (stale / "counter_999999.db").write_bytes(b"left by an earlier run")
    port, metrics_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BLOODCERT_", "PROMETHEUS_"))},
        "PYTHONPATH": str(SRC),
        **cli_env(
            sqlite_db.url,
            tmp_path,
            BLOODCERT_METRICS_PORT=str(metrics_port),
            BLOODCERT_RATE_LIMITS="anonymous=100000/second,station=100000/second",
            BLOODCERT_LOG_LEVEL="info",
        ),
    }
    args = ["serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        [sys.executable, "-c", "from bloodcert.cli import main; main()", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # two workers start slowly on a busy machine
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield base, f"http://127.0.0.1:{metrics_port}", server
    finally:
        stop(server)


def stop(server: subprocess.Popen[bytes]) -> str:
    """Stop the server; what it wrote."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
    try:
        output, _ = server.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        output, _ = server.communicate()
    return output.decode("utf-8", "replace")


def samples(metrics_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(metrics_url + "/metrics", timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_serve_adds_up_the_metrics_of_every_worker_on_a_listener_of_its_own(
    served: tuple[str, str, subprocess.Popen[bytes]], sqlite_db: Database, tmp_path: Path
) -> None:
    base, metrics_url, server = served
    assert not (tmp_path / "var" / "metrics" / "counter_999999.db").exists()
    station = create_station(sqlite_db)
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(20):
            assert client.get("/healthz").status_code == 200
        assert client.get("/no/such/page/330106199001011221").status_code == 404
        records = [
            make_record(donation_no="M1"),
            make_record(donation_no="M2"),
            make_record(donation_no="M3", donor={"id_number": "330106199001011222"}),
        ]
        body = json.dumps({"records": records}).encode()
        url = base + "/api/v1/station/donations"
        answer = client.post(url, content=body, headers=signed_headers(station, "POST", url, body))
        assert answer.status_code == 200
        assert client.get("/metrics").status_code == 404  # never on the public port

    got = samples(metrics_url)

    def value(name: str, **labels: str) -> float:
        return got.get((name, frozenset(labels.items())), 0.0)

    assert value("bloodcert_http_requests_total", route="/healthz", method="GET", status="200") == 20
    assert value("bloodcert_http_request_duration_seconds_count", route="/healthz", method="GET") == 20
    # The page that does not exist, and /metrics asked of the public port.
    assert value("bloodcert_http_requests_total", route="unmatched", method="GET", status="404") == 2
    assert (
        value("bloodcert_http_requests_total", route="/api/v1/station/donations", method="POST", status="200")
        == 1
    )
    assert value("bloodcert_records_total", source="api", outcome="created") == 2
    assert value("bloodcert_records_total", source="api", outcome="rejected") == 1
    assert value("bloodcert_record_rejections_total", source="api", code="invalid_checksum") == 1
    assert value("bloodcert_certificates_signed_total", source="api") == 2
    assert value("bloodcert_db_connections_in_use") == 0
    assert value("bloodcert_db_pool_size") > 0
    assert not any("330106" in str(labels) for _name, labels in got)  # no personal data in a label

    # Its logs are JSON lines; the access lines carry each request's id, the one it came with included.
    assert httpx.get(base + "/healthz", headers={"X-Request-ID": "lb-42"}).headers["X-Request-ID"] == "lb-42"
    lines = [json.loads(line) for line in stop(server).splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "bloodcert.access"]
    assert len(access) >= 25 and all(len(line["request_id"]) >= 5 for line in access)
    assert {"request_id": "lb-42", "route": "/healthz", "status": 200} in [
        {k: line[k] for k in ("request_id", "route", "status")} for line in access
    ]
    assert "330106" not in json.dumps(lines)
