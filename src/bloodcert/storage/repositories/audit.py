"""The audit log: who read or changed what, when, and from where. Appends only; pruning keeps a checkpoint."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from bloodcert.storage.bulk import insert_rows
from bloodcert.storage.reads import Query, ReadModel
from bloodcert.storage.rows import AuditHead
from bloodcert.storage.tables import audit_head, audit_log
from bloodcert.storage.writes import AuditEntry

GENESIS = b"\x00" * 32
_ENTRY_COLUMNS = tuple(audit_log.c[name] for name in AuditEntry.__struct_fields__)
# Every audited request reads and moves the head: read models compiled once per dialect and run on the driver
# connection (storage/reads.py), since building a statement costs more than running it.
_HEAD_MODEL = ReadModel(AuditHead, audit_head)
_HEAD = Query(_HEAD_MODEL, _HEAD_MODEL.select().where(audit_head.c.id == 1))
_HEAD_FOR_UPDATE = Query(_HEAD_MODEL, _HEAD_MODEL.select().where(audit_head.c.id == 1).with_for_update())


@dataclass(frozen=True, slots=True)
class _Moved:
    last_id: int


_MOVE_HEAD = Query(
    ReadModel(_Moved, audit_head),
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(last_id=bindparam("new_last_id"), last_hash=bindparam("new_last_hash"))
    .returning(audit_head.c.last_id),
)


def _entry(row: Any) -> AuditEntry:
    m = row._mapping
    return AuditEntry(
        id=int(m["id"]),
        at=m["at"],
        actor=m["actor"],
        action=m["action"],
        object=m["object"],
        client=m["client"],
        outcome=m["outcome"],
        prev_hash=bytes(m["prev_hash"]),
        entry_hash=bytes(m["entry_hash"]),
        repeats=int(m["repeats"]),
    )


class AuditRepository:
    """Queries over `audit_log` and `audit_head`; nothing here edits an entry."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def head_for_update(self) -> AuditHead:
        """The chain's ends, locked so that appends from every worker form one chain."""
        dialect = self.conn.dialect
        query = _HEAD_FOR_UPDATE if dialect.name == "postgresql" else _HEAD
        row = query.first(self.conn.connection.driver_connection, dialect)
        if row is None:
            head = AuditHead(last_id=0, last_hash=GENESIS, base_id=0, base_hash=GENESIS)
            self.conn.execute(
                insert(audit_head).values(id=1, last_id=0, last_hash=GENESIS, base_id=0, base_hash=GENESIS)
            )
            return head
        return AuditHead(int(row.last_id), bytes(row.last_hash), int(row.base_id), bytes(row.base_hash))

    def insert_many(self, rows: Sequence[AuditEntry]) -> None:
        """Append entries (their ids and hashes computed by the caller).

        Every read of personal data adds an entry, so this is a driver-level executemany (storage.bulk).
        """
        insert_rows(self.conn, audit_log, rows)

    def move_head(self, *, last_id: int, last_hash: bytes) -> None:
        """Record the newest entry."""
        raw = self.conn.connection.driver_connection
        _MOVE_HEAD.all(raw, self.conn.dialect, new_last_id=last_id, new_last_hash=last_hash)

    def entries(self, batch: int = 5000) -> Iterator[AuditEntry]:
        """Every entry in id order, fetched in batches."""
        after = -1
        while True:
            rows = self.conn.execute(
                select(*_ENTRY_COLUMNS).where(audit_log.c.id > after).order_by(audit_log.c.id).limit(batch)
            ).all()
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            after = rows[-1].id

    def recent(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """The newest entries."""
        rows = self.conn.execute(
            select(*_ENTRY_COLUMNS).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
        )
        return [_entry(r) for r in rows]

    def prune_through(self, last_id: int, last_hash: bytes) -> int:
        """Delete entries up to `last_id` and make the chain start after it; returns how many went."""
        removed = self.conn.execute(delete(audit_log).where(audit_log.c.id <= last_id)).rowcount
        self.conn.execute(
            update(audit_head).where(audit_head.c.id == 1).values(base_id=last_id, base_hash=last_hash)
        )
        return int(removed)

    def last_before(self, cutoff: datetime) -> AuditEntry | None:
        """The newest entry older than `cutoff`."""
        row = self.conn.execute(
            select(*_ENTRY_COLUMNS).where(audit_log.c.at < cutoff).order_by(audit_log.c.id.desc()).limit(1)
        ).first()
        return _entry(row) if row else None
