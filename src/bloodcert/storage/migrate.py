"""Apply Alembic migrations to the configured database (`bloodcert db upgrade`)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files

from alembic import command
from alembic.config import Config

from bloodcert.storage.engine import make_engine

# Migrations that replace data in place list the tables here (in `Config.attributes`) for `compact`.
REWRITTEN_TABLES = "rewritten_tables"


def alembic_config(url: str, *, data_key: bytes | None = None) -> Config:
    """An Alembic config pointing at the migrations shipped inside the package.

    Migrations that encrypt or decrypt existing rows read the data key from `attributes["data_key"]`.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(files("bloodcert.storage") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["data_key"] = data_key
    return cfg


def upgrade(url: str, revision: str = "head", *, data_key: bytes | None = None) -> None:
    """Bring the database at `url` up to `revision`; `data_key` is needed when there is data to encrypt."""
    cfg = alembic_config(url, data_key=data_key)
    command.upgrade(cfg, revision)
    if rewritten := cfg.attributes.get(REWRITTEN_TABLES):
        compact(url, rewritten)


def downgrade(url: str, revision: str, *, data_key: bytes | None = None) -> None:
    """Take the database at `url` down to `revision` (used by migration tests)."""
    command.downgrade(alembic_config(url, data_key=data_key), revision)


def compact(url: str, tables: Iterable[str]) -> None:
    """Rewrite tables whose rows a migration replaced, so that none of the old content stays on disk.

    Encrypting in place leaves the plaintext behind otherwise: PostgreSQL keeps dead row versions and the
    data of dropped columns until a table is rewritten, and SQLite keeps freed pages and WAL frames.
    Neither VACUUM may run inside a transaction, so this runs after the migrations have committed.
    """
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("VACUUM")
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                cursor.close()
            finally:
                raw.close()
            return
        names = ", ".join(engine.dialect.identifier_preparer.quote(t) for t in sorted(set(tables)))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM FULL {names}")
    finally:
        engine.dispose()


def current_heads(url: str) -> set[str]:
    """The head revisions the shipped migrations define."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
