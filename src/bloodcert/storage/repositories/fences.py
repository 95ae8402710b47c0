"""Read-your-writes fences for a read replica in the primary's `replica_fences` (storage/replica.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete

from bloodcert.storage.tables import replica_fences

# The WAL position that covers every transaction this connection has committed, as a number. With
# synchronous_commit on (any value but off) a commit returned only once its WAL was flushed, so the flush
# position covers it, and a standby reaches it exactly. With off, only the insert position is sure to
# cover it (it may point past the next page's header, which a standby reaches with the next record).
POSITION = (
    "(CASE WHEN current_setting('synchronous_commit') = 'off' THEN pg_current_wal_insert_lsn() "
    "ELSE pg_current_wal_flush_lsn() END - '0/0'::pg_lsn)::bigint"
)
POSITION_SQL = f"SELECT {POSITION}"
# One statement: the position is taken on the server after the write's commit, and a fence only rises.
_RAISE = f"""
INSERT INTO replica_fences (key, position, expires_at)
SELECT k, {POSITION}, (now() AT TIME ZONE 'UTC') + make_interval(secs => %(ttl)s)
FROM unnest(%(keys)s::text[]) AS k
ON CONFLICT (key) DO UPDATE
SET position = GREATEST(replica_fences.position, EXCLUDED.position), expires_at = EXCLUDED.expires_at
"""  # noqa: S608 - constant text: the values are parameters
_HIGHEST = (
    "SELECT max(position) FROM replica_fences "
    "WHERE key = ANY(%(keys)s::text[]) AND expires_at > (now() AT TIME ZONE 'UTC')"
)


class FenceRepository:
    """Queries over `replica_fences`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def raise_to_current(self, keys: Sequence[str], ttl_s: int) -> None:
        """Fence `keys` at the primary's current WAL position for `ttl_s` seconds (PostgreSQL only)."""
        self.conn.exec_driver_sql(_RAISE, {"keys": list(keys), "ttl": ttl_s})

    def forget_expired(self, now: datetime) -> int:
        """Drop fences past their expiry."""
        return int(
            self.conn.execute(delete(replica_fences).where(replica_fences.c.expires_at <= now)).rowcount
        )


def highest_fence(raw: Any, keys: Sequence[str]) -> int | None:
    """The highest live fence of `keys` (None: none), on the primary's autocommit driver connection."""
    row = raw.execute(_HIGHEST, {"keys": list(keys)}).fetchone()
    return None if row is None or row[0] is None else int(row[0])
