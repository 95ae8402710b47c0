"""`bloodcert push`: a station's records, from its files to the platform, each exactly once.

Records are first read into the spool (services/push_spool.py), then sent in signed batches. A batch is
marked acknowledged only with the platform's answer in hand, so a run that is killed or loses the network
resends at most the batch that was in flight, which the platform answers `unchanged` for what had arrived.
Overload answers (429, 503) are waited out for as long as `Retry-After` says; other server errors and
network failures are retried with exponential backoff and jitter, until nothing has got through for
`give_up_after` seconds. Answers that retrying cannot change (a refused signature, a malformed batch)
stop the run, with the batch kept in the spool for the next one.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from bloodcert.services.push_spool import Batch, Outcome, Spool
from bloodcert.services.record_files import record_files
from bloodcert.services.request_signing import RequestSigner

DONATIONS_PATH = "/api/v1/station/donations"
MAX_BATCH_RECORDS = 1000  # the station API's limit
MAX_BATCH_BYTES = 1536 * 1024  # well inside the API's 2 MiB body limit
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
OVERLOADED = {429, 503}


class PushStopped(Exception):
    """The run stopped before every record was answered for; the rest stays spooled for the next run."""

    def __init__(self, message: str, *, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class PushOptions:
    """How to reach the platform and how patiently."""

    base_url: str
    batch_size: int = 500
    give_up_after_s: float = 900.0
    timeout_s: float = 30.0

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + DONATIONS_PATH


@dataclass(slots=True)
class PushRun:
    """What one run sent and what the platform answered."""

    batches: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    retries: int = 0


class Pusher:
    """Sends a spool's waiting records; `sleep` and `clock` are injectable for tests."""

    def __init__(
        self,
        spool: Spool,
        signer: RequestSigner,
        options: PushOptions,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.spool = spool
        self.signer = signer
        self.options = options
        self.client = client or httpx.Client(timeout=options.timeout_s)
        self.sleep = sleep
        self.clock = clock
        self.on_batch = on_batch
        self.run_totals = PushRun()

    def run(self) -> PushRun:
        """Send batches until none is left waiting; PushStopped when the platform cannot take them now."""
        limit = max(1, min(self.options.batch_size, MAX_BATCH_RECORDS))
        with self.spool.rejections_file() as rejections:
            while (batch := self.spool.next_batch(limit, MAX_BATCH_BYTES)) is not None:
                outcomes = self._deliver(batch)
                for entry in self.spool.acknowledge(batch, outcomes):
                    rejections.write(entry)
                self.run_totals.batches += 1
                self.run_totals.outcomes.update(o.outcome for o in outcomes)
                if self.on_batch is not None:
                    self.on_batch(len(outcomes))
        return self.run_totals

    def _deliver(self, batch: Batch) -> list[Outcome]:
        """Send the batch until the platform answers it; each attempt is signed afresh (a new nonce)."""
        failures = 0
        last_success = self.clock()
        while True:
            self.spool.attempted(batch)
            wait, problem = self._attempt(batch)
            if isinstance(wait, list):
                return wait
            failures += 1
            self.run_totals.retries += 1
            waited_out = self.clock() - last_success
            if waited_out + (wait or 0) > self.options.give_up_after_s:
                raise PushStopped(
                    f"the platform has not taken a batch for {waited_out:.0f} s ({problem}); "
                    f"{self.spool.waiting()} records stay spooled for the next run",
                    exit_code=3,
                )
            self.sleep(wait if wait is not None else _backoff(failures))

    def _attempt(self, batch: Batch) -> tuple[list[Outcome] | float | None, str]:
        """Outcomes, or (seconds to wait or None for backoff, what went wrong)."""
        url = self.options.url
        try:
            response = self.client.post(
                url, content=batch.body, headers=self.signer.headers("POST", url, batch.body)
            )
        except httpx.TransportError as exc:
            return None, f"network: {type(exc).__name__}"
        if response.status_code == 200:
            return _outcomes(response), ""
        problem = _problem(response)
        if response.status_code in OVERLOADED:
            return _retry_after(response.headers.get("Retry-After")), problem
        if response.status_code >= 500:
            return None, problem
        if response.status_code == 401 and problem.startswith("replayed_nonce"):
            return 0.0, problem  # a nonce that happened to be used: signing again takes a new one
        raise PushStopped(
            f"the platform refused the batch with {response.status_code}: {problem}; "
            f"{self.spool.waiting()} records stay spooled",
            exit_code=2,
        )


def _outcomes(response: httpx.Response) -> list[Outcome]:
    try:
        results = response.json()["results"]
        return [
            Outcome(
                donation_no=r.get("donation_no"),
                outcome=str(r["outcome"]),
                certificate_no=r.get("certificate_no"),
                errors=list(r.get("errors") or []),
            )
            for r in results
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PushStopped("the platform's answer is not a list of results", exit_code=2) from exc


def _problem(response: httpx.Response) -> str:
    """The problem's slug and detail, for messages (never the body of a non-problem answer)."""
    try:
        body: Any = response.json()
        slug = str(body.get("type", "")).rsplit("/", 1)[-1]
        return f"{slug}: {body.get('detail', '')}".strip(": ")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _backoff(failures: int) -> float:
    """1, 2, 4 … 60 s, each between half and all of that (jitter spreads stations' retries apart)."""
    ceiling = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (failures - 1))
    return float(ceiling * (0.5 + random.random() / 2))  # jitter, not a secret


def spool_inputs(spool: Spool, paths: list[Path]) -> int:
    """Read every file (or folder of files) into the spool; returns how many records were new."""
    return sum(spool.add_file(file) for path in paths for file in record_files(path))
