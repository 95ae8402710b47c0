"""Fixed-window abuse counters in the database, so that every worker counts against one limit."""

from __future__ import annotations

from sqlalchemy import Connection, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bloodcert.storage.tables import rate_counters


class RateCounterRepository:
    """Queries over `rate_counters`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def hit(self, key: str, *, now: float, window_s: float) -> tuple[int, float]:
        """Count one hit in the key's current window (a new window when the last one ended), atomically
        across workers; returns (hits in the window, when it ends)."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(rate_counters).values(key=key, count=1, expires_at=now + window_s)
        ended = rate_counters.c.expires_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": case((ended, stmt.excluded.count), else_=rate_counters.c.count + 1),
                "expires_at": case((ended, stmt.excluded.expires_at), else_=rate_counters.c.expires_at),
            },
        ).returning(rate_counters.c.count, rate_counters.c.expires_at)
        count, expires_at = self.conn.execute(stmt).one()
        return int(count), float(expires_at)

    def count(self, key: str, now: float) -> int:
        """Hits in the key's current window (0 when it has ended)."""
        found = self.conn.execute(
            select(rate_counters.c.count).where(rate_counters.c.key == key, rate_counters.c.expires_at > now)
        ).scalar()
        return int(found or 0)

    def forget_ended(self, now: float) -> int:
        """Drop the counters of windows that have ended."""
        return int(self.conn.execute(delete(rate_counters).where(rate_counters.c.expires_at <= now)).rowcount)
