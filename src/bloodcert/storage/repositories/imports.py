"""Progress of bulk imports, committed with each chunk so that an import resumes after a crash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from bloodcert.storage.rows import ImportRunRow
from bloodcert.storage.tables import import_runs
from bloodcert.storage.writes import NewImportRun, column_values


class ImportRunRepository:
    """Queries over `import_runs`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get_by_fingerprint(self, fingerprint: str) -> ImportRunRow | None:
        """The run for this exact file, if one was started before."""
        row = self.conn.execute(
            select(
                import_runs.c.id,
                import_runs.c.fingerprint,
                import_runs.c.lines_done,
                import_runs.c.accepted,
                import_runs.c.rejected,
                import_runs.c.finished_at,
            ).where(import_runs.c.fingerprint == fingerprint)
        ).first()
        return ImportRunRow(*row) if row else None

    def start(self, run: NewImportRun) -> int:
        """Open a run for a file; returns its id."""
        result = self.conn.execute(insert(import_runs).values(**column_values(run)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def advance(self, run_id: int, *, lines_done: int, accepted: int, rejected: int) -> None:
        """Record how far the run got; committed in the same transaction as the chunk it describes."""
        self.conn.execute(
            update(import_runs)
            .where(import_runs.c.id == run_id)
            .values(lines_done=lines_done, accepted=accepted, rejected=rejected)
        )

    def finish(self, run_id: int, now: datetime) -> None:
        """Mark the run complete."""
        self.conn.execute(update(import_runs).where(import_runs.c.id == run_id).values(finished_at=now))
