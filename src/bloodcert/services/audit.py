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
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bloodcert.services.flushing import Flusher
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
    repeats: int = 1  # how many events of one client in one window this entry stands for (refusals)


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
    if event.repeats != 1:
        # Only counted entries carry the count, so that every entry written before it existed still verifies.
        fields.append(str(event.repeats))
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
                repeats=event.repeats,
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


def key_fits(uow: UnitOfWork, key: bytes) -> bool | None:
    """Whether `key` is the one the newest entry was chained with (None while the log is empty).

    One entry, not the whole walk of `verify_chain`: cheap enough to ask before every command, so that
    entries are never appended under a key that does not fit the chain.
    """
    newest = uow.audit.recent(1)
    if not newest:
        return None
    row = newest[0]
    return _check(key, row, row.id, row.prev_hash) is None


def _check(key: bytes, row: AuditEntry, expected_id: int, prev: bytes) -> str | None:
    if row.id != expected_id:
        return f"entry {expected_id} is missing or out of order"
    if row.prev_hash != prev:
        return "the link to the previous entry is broken"
    event = AuditEvent(row.actor, row.action, row.object, row.client, row.outcome, row.repeats)
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


@dataclass(slots=True)
class _Tally:
    """Refusals of one client, counted over one window; the first one names the path."""

    first: AuditEvent
    started: float
    count: int = 1


class AuditSink:
    """Where request handlers send audit events.

    `sync` appends each event in its own transaction before the response goes out. `buffered` (the
    default) queues events and a background thread appends them in one transaction every
    `interval_s`, so that a read of personal data costs a queue put, not a database write; at most one
    interval of events is at risk if the process dies, and shutdown flushes the queue.

    Refusals (401 and 403) are counted instead (`refused`): every refusal of one client with one outcome
    within `refusal_window_s` becomes one entry, written when the window ends, whose `repeats` says how
    many there were. Anyone can be refused as often as they like; one entry per client and window keeps
    the chain readable and its growth bounded by clients, not requests. At most `max_tallies` windows are
    open at once: past that, the open ones are written early rather than forgotten.
    """

    def __init__(
        self,
        db: Any,
        key: bytes,
        *,
        mode: str = "sync",
        interval_s: float = 0.05,
        refusal_window_s: float = 60.0,
        max_tallies: int = 10_000,
    ) -> None:
        self.db = db
        self.key = key
        self.mode = mode
        self.interval_s = interval_s
        self.refusal_window_s = refusal_window_s
        self.max_tallies = max_tallies
        self._queue: queue.SimpleQueue[tuple[AuditEvent, datetime]] = queue.SimpleQueue()
        self._unwritten: list[tuple[AuditEvent, datetime]] = []  # a failed flush's events, first next time
        self._flusher = Flusher("audit-flush", self.flush)
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, str, str | None, str], _Tally] = {}

    def record(self, event: AuditEvent) -> None:
        """Record one event (now, or within one interval in buffered mode)."""
        self._write([(event, datetime.now(UTC))])
        if self.mode != "buffered":
            self._write(self._ended_tallies(time.monotonic()))

    def refused(self, event: AuditEvent) -> None:
        """Count a refusal of the event's client; its window becomes one entry when it ends."""
        now = time.monotonic()
        early: list[tuple[AuditEvent, datetime]] = []
        with self._lock:
            key = (event.actor, event.action, event.client, event.outcome)
            tally = self._tallies.get(key)
            if tally is not None:
                tally.count += 1
            else:
                if len(self._tallies) >= self.max_tallies:
                    early = self._take_tallies(lambda _t: True)
                self._tallies[key] = _Tally(event, now)
        self._write(early)
        if self.mode != "buffered":
            self._write(self._ended_tallies(now))
        else:
            self._flusher.start(self.interval_s)

    def _ended_tallies(self, now: float) -> list[tuple[AuditEvent, datetime]]:
        with self._lock:
            return self._take_tallies(lambda t: now - t.started >= self.refusal_window_s)

    def _take_tallies(self, done: Callable[[_Tally], bool]) -> list[tuple[AuditEvent, datetime]]:
        # Called with the lock held.
        ended = [key for key, tally in self._tallies.items() if done(tally)]
        stamp = datetime.now(UTC)
        return [(replace(t.first, repeats=t.count), stamp) for t in map(self._tallies.pop, ended)]

    def _write(self, events: list[tuple[AuditEvent, datetime]]) -> None:
        if not events:
            return
        if self.mode != "buffered":
            with self.db.transaction() as uow:
                append_many(uow, self.key, events)
            return
        for item in events:
            self._queue.put(item)
        self._flusher.start(self.interval_s)

    def flush(self) -> int:
        """Append every queued event, and every refusal window that has ended, now; returns how many.

        When the append fails, the events are kept (in their order, ahead of any queued since) for the
        next flush, and the error is raised."""
        with self._lock:
            events, self._unwritten = self._unwritten, []
        events += self._ended_tallies(time.monotonic()) if self.mode == "buffered" else []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if events:
            try:
                with self.db.transaction() as uow:
                    append_many(uow, self.key, events)
            except Exception:
                with self._lock:
                    self._unwritten = events + self._unwritten
                raise
        return len(events)

    def end_refusal_windows(self) -> int:
        """End every open refusal window now and write its entry (in buffered mode: queue it)."""
        with self._lock:
            pending = self._take_tallies(lambda _t: True)
        self._write(pending)
        return len(pending)

    def close(self) -> None:
        """Stop the background thread and write what is left, open refusal windows included."""
        self._flusher.stop()
        self.end_refusal_windows()
        self.flush()
