"""The audit log: who read or changed what, when, and from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from bloodcert.storage.tables import audit_log


class AuditRepository:
    """Appends to `audit_log`; nothing here updates or deletes."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        obj: str | None,
        client: str | None,
        outcome: str = "ok",
    ) -> None:
        """Record one event."""
        self.conn.execute(
            insert(audit_log).values(
                at=at, actor=actor, action=action, object=obj, client=client, outcome=outcome
            )
        )

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest events."""
        rows = self.conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
