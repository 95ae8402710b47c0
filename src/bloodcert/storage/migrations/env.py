"""Alembic environment: runs migrations on the engine bloodcert configures."""

from __future__ import annotations

from alembic import context

from bloodcert.storage.engine import make_engine
from bloodcert.storage.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "bloodcert.storage.migrate sets sqlalchemy.url"

connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
