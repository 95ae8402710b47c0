"""How `bloodcert push` waits: backoff on failures, Retry-After when overloaded, and when it gives up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from bloodcert.errors import Conflict
from bloodcert.services.push import Pusher, PushOptions, PushStopped, _retry_after
from bloodcert.services.push_spool import Spool
from bloodcert.services.record_files import Line
from bloodcert.services.request_signing import RequestSigner
from tests.factories import make_record

BASE = "http://platform.test"
SIGNER = RequestSigner("stk_test", "ed25519", ed25519.Ed25519PrivateKey.generate())


class Clock:
    """A clock that moves only when the pusher sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def spool_with(tmp_path: Path, count: int) -> Spool:
    spool = Spool.open(tmp_path / "spool", BASE + "/api/v1/station/donations")
    lines = [Line(i + 1, make_record(donation_no=f"U{i}"), None, None) for i in range(count)]
    spool.add_stream(lines, "-")
    return spool


def accept_all(request: httpx.Request) -> httpx.Response:
    records = json.loads(request.content)["records"]
    results = [
        {
            "donation_no": r["donation_no"],
            "outcome": "created",
            "certificate_no": "1",
            "errors": [],
            "warnings": [],
        }
        for r in records
    ]
    return httpx.Response(200, json={"results": results})


def pusher(spool: Spool, handler: object, clock: Clock, give_up_after_s: float = 900.0) -> Pusher:
    client = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    options = PushOptions(BASE, batch_size=10, give_up_after_s=give_up_after_s)
    return Pusher(spool, SIGNER, options, client=client, sleep=clock.sleep, clock=clock)


def test_network_failures_are_retried_with_growing_waits_and_fresh_signatures(tmp_path: Path) -> None:
    clock, nonces = Clock(), []

    def flaky(request: httpx.Request) -> httpx.Response:
        nonces.append(request.headers["Signature-Input"].split('nonce="')[1].split('"')[0])
        if len(nonces) <= 3:
            raise httpx.ConnectError("down")
        return accept_all(request)

    spool = spool_with(tmp_path, 3)
    run = pusher(spool, flaky, clock).run()
    assert run.outcomes == {"created": 3} and run.retries == 3
    assert len(clock.sleeps) == 3
    assert all(0.5 * 2**i <= s <= 2**i for i, s in enumerate(clock.sleeps))
    assert len(set(nonces)) == 4
    assert spool.waiting() == 0


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    assert _retry_after("7") == 7.0
    later = _retry_after(format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True))
    assert later is not None and 28 <= later <= 30
    assert _retry_after("soon") is None
    assert _retry_after(None) is None


def test_a_platform_down_for_longer_than_the_patience_stops_the_run_with_the_records_kept(
    tmp_path: Path,
) -> None:
    clock = Clock()
    spool = spool_with(tmp_path, 4)
    busy = pusher(spool, lambda _r: httpx.Response(503, headers={"Retry-After": "120"}), clock, 300)
    with pytest.raises(PushStopped) as stopped:
        busy.run()
    assert stopped.value.exit_code == 3
    assert clock.sleeps == [120.0, 120.0]
    assert spool.waiting() == 4
    assert pusher(spool, accept_all, clock).run().outcomes == {"created": 4}


def test_a_spool_serves_one_platform_and_one_push_at_a_time(tmp_path: Path) -> None:
    spool = spool_with(tmp_path, 1)
    with pytest.raises(Conflict, match="another push"):
        Spool.open(tmp_path / "spool", BASE + "/api/v1/station/donations")
    spool.close()
    with pytest.raises(Conflict, match="holds records for"):
        Spool.open(tmp_path / "spool", "http://elsewhere.test/api/v1/station/donations")


def test_a_record_read_twice_is_queued_once(tmp_path: Path) -> None:
    spool = spool_with(tmp_path, 2)
    again = [Line(1, make_record(donation_no="U0"), None, None)]
    assert spool.add_stream(again, "-") == 0
    first = spool.next_batch(10, 1 << 20)
    assert first is not None
    assert spool.add_stream([Line(9, json.loads(first.body)["records"][0], None, None)], "-") == 0
