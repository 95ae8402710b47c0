"""The tamper-evident audit trail: keyed hash chain, verification, and retention.

Each entry's hash is HMAC-SHA256(audit key, previous hash ‖ entry), so an edited, deleted or reordered entry
breaks the chain, and someone who can write to the database but lacks the key cannot forge a new one.
The head hash printed by `bloodcert audit verify` can be anchored outside the system to detect a cut tail.
"""

from __future__ import annotations

import hashlib
import hmac
import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import AuditEntry

MIN_RETENTION_DAYS = 180


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing that happened. `obj` names what was touched, never with a full ID number."""

    actor: str
    action: str
    obj: str | None = None
    client: str | None = None
    outcome: str = "ok"


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What `bloodcert audit verify` found."""

    entries: int
    intact: bool
    first_bad_id: int | None
    problem: str | None
    head_hash: str


def _entry_hash(key: bytes, prev: bytes, entry_id: int, at: datetime, event: AuditEvent) -> bytes:
    fields = [
        str(entry_id),
        at.isoformat(),
        event.actor,
        event.action,
        event.obj or "",
        event.client or "",
        event.outcome,
    ]
    message = prev + "\x1f".join(fields).encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def append(uow: UnitOfWork, key: bytes, event: AuditEvent, now: datetime | None = None) -> None:
    """Add an event at the end of the chain, in the caller's transaction."""
    append_many(uow, key, [(event, now or datetime.now(UTC))])


def append_many(uow: UnitOfWork, key: bytes, events: list[tuple[AuditEvent, datetime]]) -> None:
    """Add events, in order, at the end of the chain: one head lock, one bulk insert, one head update."""
    if not events:
        return
    head = uow.audit.head_for_update()
    entry_id, prev = head.last_id, head.last_hash
    rows = []
    for event, when in events:
        entry_id += 1
        at = when.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        digest = _entry_hash(key, prev, entry_id, at, event)
        rows.append(
            AuditEntry(
                id=entry_id,
                at=at,
                actor=event.actor[:64],
                action=event.action[:64],
                object=(event.obj or None) and event.obj[:128],
                client=(event.client or None) and event.client[:64],
                outcome=event.outcome[:16],
                prev_hash=prev,
                entry_hash=digest,
            )
        )
        prev = digest
    uow.audit.insert_many(rows)
    uow.audit.move_head(last_id=entry_id, last_hash=prev)


def verify_chain(uow: UnitOfWork, key: bytes) -> ChainReport:
    """Walk the chain from the last checkpoint; report the first entry that does not fit."""
    head = uow.audit.head_for_update()
    expected_id, prev = head.base_id + 1, head.base_hash
    count = 0
    for row in uow.audit.entries():
        count += 1
        problem = _check(key, row, expected_id, prev)
        if problem:
            return ChainReport(count, False, row.id, problem, head.last_hash.hex())
        expected_id, prev = row.id + 1, row.entry_hash
    if expected_id - 1 != head.last_id or prev != head.last_hash:
        return ChainReport(
            count, False, expected_id, "entries after the last one are missing", head.last_hash.hex()
        )
    return ChainReport(count, True, None, None, prev.hex())


def _check(key: bytes, row: AuditEntry, expected_id: int, prev: bytes) -> str | None:
    if row.id != expected_id:
        return f"entry {expected_id} is missing or out of order"
    if row.prev_hash != prev:
        return "the link to the previous entry is broken"
    event = AuditEvent(row.actor, row.action, row.object, row.client, row.outcome)
    if not hmac.compare_digest(_entry_hash(key, prev, row.id, row.at, event), row.entry_hash):
        return "the entry was edited"
    return None


def prune(uow: UnitOfWork, key: bytes, *, retention_days: int, now: datetime) -> int:
    """Drop entries older than the retention period (never less than 180 days); the chain stays verifiable."""
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(f"audit retention must be at least {MIN_RETENTION_DAYS} days")
    report = verify_chain(uow, key)
    if not report.intact:
        raise ValueError(f"the audit chain is broken at entry {report.first_bad_id}; not pruning")
    cutoff = (now - timedelta(days=retention_days)).astimezone(UTC).replace(tzinfo=None)
    last = uow.audit.last_before(cutoff)
    if last is None:
        return 0
    return uow.audit.prune_through(last.id, last.entry_hash)


class AuditSink:
    """Where request handlers send audit events.

    `sync` appends each event in its own transaction before the response goes out. `buffered` (the
    default) queues events and a background thread appends them in one transaction every
    `interval_s`, so that a read of personal data costs a queue put, not a database write; at most one
    interval of events is at risk if the process dies, and shutdown flushes the queue.
    """

    def __init__(self, db: Any, key: bytes, *, mode: str = "sync", interval_s: float = 0.05) -> None:
        self.db = db
        self.key = key
        self.mode = mode
        self.interval_s = interval_s
        self._queue: queue.SimpleQueue[tuple[AuditEvent, datetime]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        """Record one event (now, or within one interval in buffered mode)."""
        now = datetime.now(UTC)
        if self.mode != "buffered":
            with self.db.transaction() as uow:
                append(uow, self.key, event, now)
            return
        self._queue.put((event, now))
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self) -> int:
        """Append every queued event now; returns how many."""
        events: list[tuple[AuditEvent, datetime]] = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if events:
            with self.db.transaction() as uow:
                append_many(uow, self.key, events)
        return len(events)

    def close(self) -> None:
        """Stop the background thread and flush what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
