"""Whether a database is at the migrations' head, so commands can say clearly what to run."""

from __future__ import annotations

from alembic.migration import MigrationContext

from bloodcert.storage.migrate import current_heads
from bloodcert.storage.uow import Database


def is_up_to_date(db: Database) -> bool:
    """True when the database's revision is the shipped head."""
    with db.engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_heads()
    return set(revision) == current_heads(db.url)
