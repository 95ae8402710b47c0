"""Alembic environment: runs migrations on the engine bloodcert configures.

`config.attributes` carries what `bloodcert.storage.migrate` passes in (the data key for migrations that
encrypt rows, or a ready connection); migrations read it through `context.config.attributes`.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.pool import ConnectionPoolEntry

from bloodcert.storage.engine import make_engine
from bloodcert.storage.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "bloodcert.storage.migrate sets sqlalchemy.url"


def _sqlite_foreign_keys_off(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # SQLite changes a column's type by rebuilding the table (batch mode), which drops the old table; with
    # enforcement on, dropping a parent table such as `persons` fails. This is SQLite's own documented
    # procedure, and migrations that rebuild tables run `PRAGMA foreign_key_check` before they commit.
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")


connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_foreign_keys_off)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
