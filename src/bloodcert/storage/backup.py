"""A consistent copy of an SQLite database while it is in use, through SQLite's online backup API.

Copying the file with `cp` while the server runs can catch a page half written, or miss what still sits in
the `-wal` file; the backup API copies a snapshot, page by page, that readers and writers do not disturb
(in WAL mode they go on while it runs). PostgreSQL has its own tools for this (pg_dump, pg_basebackup:
docs/backup-and-restore.md).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bloodcert.private_files import write_private
from bloodcert.storage.uow import Database


class BackupError(Exception):
    """The backup cannot be made here; the message says why."""


@dataclass(frozen=True, slots=True)
class SqliteBackup:
    """What was written: the file, its size and SQLite's own check of the copy."""

    path: Path
    size: int
    check: str  # "ok", or the first problem PRAGMA quick_check found in the copy


def backup_sqlite(db: Database, target: Path) -> SqliteBackup:
    """Copy the SQLite database of `db` to `target`, a new file readable by its owner only."""
    if db.engine.dialect.name != "sqlite":
        raise BackupError(
            "this database is PostgreSQL: back it up with pg_dump or pg_basebackup "
            "(docs/backup-and-restore.md)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_private(target, b"", "new")  # an empty file is an empty database; private from the first byte
    except FileExistsError:
        raise BackupError(f"{target} exists; refusing to overwrite it") from None
    source = db.engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            source.driver_connection.backup(copy)  # type: ignore[union-attr]
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return SqliteBackup(target, target.stat().st_size, str(check))
