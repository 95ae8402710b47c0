"""Donor reads from a PostgreSQL hot standby (BLOODCERT_REPLICA_URL), without ever showing a donor less
than the primary has acknowledged: read-your-writes by fences.

Every write that changes what a donor sees goes through a person's totals (ingest of station batches and
imports, corrections, voids, merges and their undoing) or a person's review state, or ends a session
(logout). The unit of work notes those persons and sessions as it writes (`ChangedKeys`). When its
transaction has committed, `Database.transaction` takes the primary's WAL position (`POSITION_SQL`) and
records it as a fence for each of them (`p:<person id>`, `s:<session id>`; the position as
storage/repositories/fences.py POSITION takes it), in shared state every node
reads: Redis when BLOODCERT_REDIS_URL is set (a key per fence, expiring after `FENCE_TTL_S`), otherwise
the primary's `replica_fences` table (pruned by `bloodcert db prune`). Only then is the write answered.

A donor's read resolves the session on the standby in one query that also returns the standby's replay
position (`pg_last_wal_replay_lsn()`), then looks up the fences of the persons and the session reached.
When the standby has replayed every fence (or there is none), the donor's reads go to the standby;
otherwise (the standby lags behind a write this donor must see), when the session is not on the standby
(a login of seconds ago) or the standby cannot be reached, they go to the primary. A standby that fails
is left alone for `BACKOFF_S` (`Availability`), so that donors' requests meanwhile go straight to the
primary instead of each waiting for a connection timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from bloodcert.config import check_replica
from bloodcert.storage import redis_health
from bloodcert.storage.repositories.fences import POSITION_SQL, FenceRepository, highest_fence

# How long a fence is kept. A standby further behind than this could show a donor an older record: monitor
# its replay lag (docs/operations.md) and take it out of service long before.
FENCE_TTL_S = 300
# After a failure, donors' reads skip the standby this long before trying it again.
BACKOFF_S = 5.0
# A standby that does not answer a connection within this many seconds counts as down.
CONNECT_TIMEOUT_S = 2
# The fence of writes that cannot be known (Redis is lost): no standby has replayed it.
UNKNOWN = 1 << 64


class Fences(Protocol):
    """Where fences are kept, for every node to read."""

    def record(self, conn: Connection, keys: Sequence[str]) -> None:
        """Fence `keys` at the primary's current position; `conn` has just committed on the primary."""

    def highest(self, keys: Sequence[str]) -> int | None:
        """The highest live fence of `keys`, or None when none has one."""


def satisfied(replayed: int | None, fence: int | None) -> bool:
    """Whether a standby that replayed up to `replayed` shows everything fenced at `fence`."""
    return fence is None or (replayed is not None and replayed >= fence)


# Raise each key's fence to the new position (never lower it: a slower writer may record an older one
# after a newer) and renew its expiry. Positions are 16 hex digits, so strings compare as numbers.
_RAISE = """
for _, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if (not current) or current < ARGV[1] then
    redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
  else
    redis.call('EXPIRE', key, ARGV[2])
  end
end
return 0
"""


class RedisFences:
    """Fences in Redis: one key each, expiring after `ttl_s`.

    While Redis cannot be reached, fences are recorded in `fallback` (the `replica_fences` table), and no
    donor read may use the standby (the fences Redis held are unknown: `UNKNOWN`, which no standby
    reaches). For `ttl_s` after this process last failed to reach Redis, the fences in `fallback` count
    too, so that a write fenced there during the outage is never read from a standby that lags behind it.
    """

    def __init__(
        self, url: str, *, fallback: Fences, ttl_s: int = FENCE_TTL_S, prefix: str = "bloodcert:fence:"
    ) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=CONNECT_TIMEOUT_S)
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        self.fallback = fallback
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._raise = self.client.register_script(_RAISE)

    def record(self, conn: Connection, keys: Sequence[str]) -> None:
        if not redis_health.lost_within(redis_health.RETRY_S):
            position = int(conn.exec_driver_sql(POSITION_SQL).scalar_one())
            try:
                self._raise(keys=[self.prefix + k for k in keys], args=[f"{position:016x}", self.ttl_s])
                return
            except self.errors:
                redis_health.lost()
            conn.rollback()  # end the position query's transaction: the fallback opens its own
        self.fallback.record(conn, keys)

    def highest(self, keys: Sequence[str]) -> int | None:
        if redis_health.lost_within(redis_health.RETRY_S):
            return UNKNOWN
        try:
            found: list[Any] = self.client.mget([self.prefix + k for k in keys])
        except self.errors:
            redis_health.lost()
            return UNKNOWN
        values = [int(v, 16) for v in found if v is not None]
        if redis_health.lost_within(self.ttl_s) and (kept := self.fallback.highest(keys)) is not None:
            values.append(kept)
        return max(values, default=None)


class TableFences:
    """Fences in the primary's `replica_fences` table (see storage/repositories/fences.py)."""

    def __init__(self, primary_reads: Any, *, ttl_s: int = FENCE_TTL_S) -> None:
        self.primary_reads = primary_reads  # Database.donor_reads of the primary
        self.ttl_s = ttl_s

    def record(self, conn: Connection, keys: Sequence[str]) -> None:
        with conn.begin():
            FenceRepository(conn).raise_to_current(keys, self.ttl_s)

    def highest(self, keys: Sequence[str]) -> int | None:
        with self.primary_reads() as reads:
            return highest_fence(reads.raw, keys)


class Availability:
    """Whether to try the standby now: not for `backoff_s` after it failed."""

    def __init__(self, backoff_s: float = BACKOFF_S) -> None:
        self.backoff_s = backoff_s
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self) -> None:
        with self._lock:
            self._down_until = time.monotonic() + self.backoff_s


def with_connect_timeout(url: str) -> str:
    """The standby's URL with a connection timeout (CONNECT_TIMEOUT_S), unless it sets one."""
    if "connect_timeout=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}connect_timeout={CONNECT_TIMEOUT_S}"


T = TypeVar("T")


class Standby:
    """The read replica of a Database: its own Database (`db`, for reads only), where fences are kept,
    and whether it is worth trying now."""

    def __init__(self, db: Any, fences: Fences, availability: Availability | None = None) -> None:
        self.db = db
        self.fences = fences
        self.availability = availability or Availability()
        self._errors: tuple[type[BaseException], ...] = (DBAPIError, db.engine.dialect.loaded_dbapi.Error)

    @classmethod
    def of(cls, primary: Any, url: str, *, data_key: bytes | None, redis_url: str | None) -> Standby:
        """The standby at `url` of the `primary` Database (ConfigError unless both are PostgreSQL)."""
        check_replica(primary.url, url)
        db = type(primary)(with_connect_timeout(url), data_key=data_key, standby=True)
        table = TableFences(primary.donor_reads)
        fences: Fences = RedisFences(redis_url, fallback=table) if redis_url else table
        return cls(db, fences)

    def fence(self, conn: Connection, keys: Iterable[str]) -> None:
        """Fence what a transaction on the primary changed; `conn` has just committed it."""
        self.fences.record(conn, sorted(keys))

    def shows(self, keys: Sequence[str], replayed: int | None) -> bool:
        """Whether a standby that replayed up to `replayed` shows every write fenced under `keys`."""
        return satisfied(replayed, self.fences.highest(keys))

    def attempt(self, read: Callable[[Any], T]) -> tuple[bool, T | None]:
        """(True, what `read` returned) on the standby's donor reads; (False, None) when the standby is
        backing off or failed now (it then backs off). Errors of `read` itself pass through."""
        if not self.availability.up:
            return False, None
        try:
            with self.db.donor_reads() as reads:
                return True, read(reads)
        except self._errors:
            self.availability.failed()
            return False, None
