"""The local spool of `bloodcert push`: records wait here until the platform has answered for them.

One SQLite file in the spool folder (owner-only, like every file holding personal data) keeps:

- every record read, once (a record read again, from the same file or another, is recognised by a hash of
  its content and not queued twice), with where it came from;
- how far each input file was read, so a rerun does not read a finished file again;
- the batches: a batch is formed and written before it is sent, and marked acknowledged together with
  the platform's outcome for each of its records in one transaction. A batch that was sent but not
  acknowledged (the process was killed, the network dropped) is sent again as it was: the station API is
  idempotent per donation number and version, so a record that arrived the first time is `unchanged`.

A record's content is dropped from the spool once the platform has answered for it; its outcome stays.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bloodcert.errors import Conflict, ValidationFailed
from bloodcert.private_files import open_private, write_private
from bloodcert.services.record_files import Line, fingerprint, read_lines

SPOOL_FILE = "spool.sqlite3"
LOCK_FILE = "push.lock"
REJECTIONS_FILE = "rejected.jsonl"
COMMIT_EVERY = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    fingerprint TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    lines_done INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    formed_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    acknowledged_at TEXT
);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    ident TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    donation_no TEXT,
    body TEXT,
    batch INTEGER REFERENCES batches (id),
    outcome TEXT,
    certificate_no TEXT,
    errors TEXT
);
CREATE INDEX IF NOT EXISTS records_waiting ON records (batch, seq) WHERE outcome IS NULL;
"""


@dataclass(frozen=True, slots=True)
class Batch:
    """Records to send together, in spool order."""

    id: int
    seqs: list[int]
    donation_nos: list[str | None]
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """The platform's answer for one record."""

    donation_no: str | None
    outcome: str
    certificate_no: str | None
    errors: list[dict[str, Any]]


class Spool:
    """An open spool folder; one `bloodcert push` at a time holds it (a lock file says so)."""

    def __init__(self, directory: Path, conn: sqlite3.Connection, lock: IO[str]) -> None:
        self.directory = directory
        self._conn = conn
        self._lock = lock

    @classmethod
    def open(cls, directory: Path, url: str) -> Spool:
        """Open (or make) the spool in `directory` for the platform at `url`.

        Conflict if another push holds it or it belongs to another platform: its acknowledgements would
        mean nothing for this one.
        """
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = os.fdopen(os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600), "r+")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            lock.close()
            raise Conflict(f"another push is using the spool {directory}") from exc
        path = directory / SPOOL_FILE
        if not path.exists():
            write_private(path, b"", "new")  # owner-only from the first byte; SQLite keeps the mode
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        spool = cls(directory, conn, lock)
        known = conn.execute("SELECT value FROM meta WHERE name = 'url'").fetchone()
        if known is None:
            conn.execute("INSERT INTO meta VALUES ('url', ?)", (url,))
        elif known[0] != url:
            spool.close()
            raise Conflict(f"the spool {directory} holds records for {known[0]}; use another --spool")
        return spool

    def close(self) -> None:
        self._conn.close()
        self._lock.close()

    # ---- reading records in ----------------------------------------------------------------------------

    def add_file(self, path: Path) -> int:
        """Queue a file's records not read before (the rest of a file read in part); returns how many."""
        fp = fingerprint(path, None)
        row = self._conn.execute("SELECT lines_done FROM sources WHERE fingerprint = ?", (fp,)).fetchone()
        if row is None:
            self._conn.execute("INSERT INTO sources VALUES (?, ?, 0)", (fp, str(path)))
        return self._add(read_lines(path, None, skip=row[0] if row else 0), str(path), fp)

    def add_stream(self, lines: Iterable[Line], name: str) -> int:
        """Queue the records of a stream (standard input); records queued before are recognised."""
        return self._add(lines, name, None)

    def _add(self, lines: Iterable[Line], source: str, fp: str | None) -> int:
        added = 0
        pending: list[tuple[Any, ...]] = []
        last = 0
        for line in lines:
            pending.append(_row(line, source))
            last = line.number
            if len(pending) >= COMMIT_EVERY:
                added += self._insert(pending, fp, last)
                pending = []
        return added + self._insert(pending, fp, last)

    def _insert(self, rows: list[tuple[Any, ...]], fp: str | None, lines_done: int) -> int:
        """One transaction: the rows, and how far their file has been read."""
        with self._transaction():
            before = self._conn.total_changes
            self._conn.executemany(
                "INSERT OR IGNORE INTO records (ident, source, line, donation_no, body, outcome, errors)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            added = self._conn.total_changes - before
            if fp is not None and lines_done:
                self._conn.execute(
                    "UPDATE sources SET lines_done = max(lines_done, ?) WHERE fingerprint = ?",
                    (lines_done, fp),
                )
        return added

    # ---- sending ---------------------------------------------------------------------------------------

    def next_batch(self, max_records: int, max_bytes: int) -> Batch | None:
        """The batch sent but not acknowledged, if any; else a new one of waiting records; else None."""
        with self._transaction():
            open_batch = self._conn.execute(
                "SELECT id FROM batches WHERE acknowledged_at IS NULL ORDER BY id LIMIT 1"
            ).fetchone()
            if open_batch is not None:
                rows = self._conn.execute(
                    "SELECT seq, donation_no, body FROM records WHERE batch = ? ORDER BY seq",
                    (open_batch[0],),
                ).fetchall()
                return _batch(open_batch[0], rows)
            rows = self._conn.execute(
                "SELECT seq, donation_no, body FROM records WHERE batch IS NULL AND outcome IS NULL"
                " ORDER BY seq LIMIT ?",
                (max_records,),
            ).fetchall()
            if not rows:
                return None
            size, kept = 0, list[tuple[int, str | None, str]]()
            for row in rows:
                size += len(row[2].encode("utf-8")) + 1
                if kept and size > max_bytes:
                    break
                kept.append(row)
            batch_id = self._conn.execute("INSERT INTO batches (formed_at) VALUES (?)", (_now(),)).lastrowid
            assert batch_id is not None
            self._conn.executemany(
                "UPDATE records SET batch = ? WHERE seq = ?", [(batch_id, row[0]) for row in kept]
            )
            return _batch(batch_id, kept)

    def attempted(self, batch: Batch) -> None:
        """Count a sending attempt of the batch."""
        self._conn.execute("UPDATE batches SET attempts = attempts + 1 WHERE id = ?", (batch.id,))

    def acknowledge(self, batch: Batch, outcomes: list[Outcome]) -> list[dict[str, Any]]:
        """Record the platform's answer for every record of the batch; returns the rejections' entries."""
        if len(outcomes) != len(batch.seqs):
            raise ValidationFailed(
                f"the platform answered for {len(outcomes)} records of a batch of {len(batch.seqs)}"
            )
        for sent, answered in zip(batch.donation_nos, outcomes, strict=True):
            if answered.donation_no is not None and answered.donation_no != sent:
                raise ValidationFailed("the platform's answers are not in the order of the records sent")
        with self._transaction():
            self._conn.executemany(
                "UPDATE records SET outcome = ?, certificate_no = ?, errors = ?, body = NULL WHERE seq = ?",
                [
                    (o.outcome, o.certificate_no, _errors_json(o.errors), seq)
                    for seq, o in zip(batch.seqs, outcomes, strict=True)
                ],
            )
            self._conn.execute("UPDATE batches SET acknowledged_at = ? WHERE id = ?", (_now(), batch.id))
        marks = ",".join("?" * len(batch.seqs))
        return list(self._rejections(f"seq IN ({marks})", batch.seqs))

    # ---- what happened ---------------------------------------------------------------------------------

    def waiting(self) -> int:
        """Records the platform has not answered for yet."""
        row = self._conn.execute("SELECT count(*) FROM records WHERE outcome IS NULL").fetchone()
        return int(row[0])

    def outcomes(self) -> dict[str, int]:
        """How many records of the spool had each outcome (`rejected` includes lines that were not read)."""
        rows = self._conn.execute(
            "SELECT outcome, count(*) FROM records WHERE outcome IS NOT NULL GROUP BY outcome"
        ).fetchall()
        return {str(outcome): int(n) for outcome, n in rows}

    @contextmanager
    def rejections_file(self) -> Iterator[RejectionsFile]:
        """The rejections file, rewritten from the spool and then open to add the next batches' rejections.

        Rewriting it from the spool at the start keeps each rejection in it exactly once, even when a run
        was killed between acknowledging a batch and writing the batch's rejections.
        """
        path = self.write_rejections()
        with open_private(path, "append") as fh:
            yield RejectionsFile(path, fh)

    def write_rejections(self) -> Path:
        """Write every rejection of the spool to its rejections file, afresh; returns the file's path."""
        path = self.directory / REJECTIONS_FILE
        lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self._rejections("1 = 1", []))
        write_private(path, lines.encode("utf-8"))  # rejections quote donation numbers: owner-only
        return path

    def _rejections(self, where: str, params: list[int]) -> Iterator[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT source, line, donation_no, errors FROM records"  # noqa: S608 (placeholders only)
            f" WHERE outcome = 'rejected' AND {where} ORDER BY seq",
            params,
        ).fetchall()
        for source, line, donation_no, errors in rows:
            errors_out = json.loads(errors or "[]")
            yield {"file": source, "line": line, "donation_no": donation_no, "errors": errors_out}

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class RejectionsFile:
    """The spool's rejections, one JSON object a line: file, line, donation number and every error."""

    def __init__(self, path: Path, fh: IO[str]) -> None:
        self.path = path
        self._fh = fh

    def write(self, entry: dict[str, Any]) -> None:
        self._fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._fh.flush()


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _row(line: Line, source: str) -> tuple[Any, ...]:
    """A line as a spool row: (ident, source, line, donation_no, body, outcome, errors)."""
    record = line.record
    if line.parse_error is not None or not isinstance(record, dict):
        reason = line.parse_error or "the line is not a JSON object"
        error = [{"field": "", "code": "invalid_format", "message": reason}]
        ident = hashlib.sha256(f"unreadable:{source}:{line.number}".encode()).hexdigest()
        return (ident, source, line.number, None, None, "rejected", json.dumps(error))
    record = {k: v for k, v in record.items() if k != "station"}  # the signing key names the station
    body = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    donation_no = record.get("donation_no")
    ident = hashlib.sha256(body.encode("utf-8")).hexdigest()
    number = donation_no if isinstance(donation_no, str) else None
    return (ident, source, line.number, number, body, None, None)


def _errors_json(errors: list[dict[str, Any]]) -> str | None:
    return json.dumps(errors, ensure_ascii=False) if errors else None


def _batch(batch_id: int, rows: list[tuple[int, str | None, str]]) -> Batch:
    body = ('{"records":[' + ",".join(row[2] for row in rows) + "]}").encode("utf-8")
    return Batch(batch_id, [row[0] for row in rows], [row[1] for row in rows], body)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
