"""Replay protection for station requests, kept in the database so every worker sees every nonce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from bloodcert.storage.reads import Query, ReadModel
from bloodcert.storage.tables import seen_nonces


@dataclass(frozen=True, slots=True)
class _Seen:
    nonce: str


_SEEN = ReadModel(_Seen, seen_nonces)


def _remember(dialect: Any) -> Query[_Seen]:
    # ON CONFLICT DO NOTHING rather than check-then-insert: two workers racing on one nonce must
    # not both pass, nor turn the loser into a 500. Every signed request runs it: compiled once per
    # dialect and run on the driver connection (storage/reads.py).
    return Query(
        _SEEN,
        dialect.insert(seen_nonces)
        .values(key_id=bindparam("key_id"), nonce=bindparam("nonce"), seen_at=bindparam("seen_at"))
        .on_conflict_do_nothing(index_elements=["key_id", "nonce"])
        .returning(seen_nonces.c.nonce),
    )


_REMEMBER = {"postgresql": _remember(postgresql), "sqlite": _remember(sqlite)}


class NonceRepository:
    """Queries over `seen_nonces`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def remember(self, key_id: str, nonce: str, now: datetime) -> bool:
        """Record a nonce; False when this key already used it (a replay)."""
        dialect = self.conn.dialect
        raw = self.conn.connection.driver_connection
        return (
            _REMEMBER[dialect.name].first(raw, dialect, key_id=key_id, nonce=nonce, seen_at=now) is not None
        )

    def forget_before(self, cutoff: datetime) -> int:
        """Drop nonces too old to matter (older than the signature window)."""
        return self.conn.execute(delete(seen_nonces).where(seen_nonces.c.seen_at < cutoff)).rowcount
