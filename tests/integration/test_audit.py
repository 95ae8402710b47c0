"""The audit log is a keyed hash chain: any edited, deleted or reordered entry is found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, update

from bloodcert.config import ConfigError, Settings
from bloodcert.services.audit import AuditEvent, append, prune, verify_chain
from bloodcert.storage.tables import audit_head, audit_log
from bloodcert.storage.uow import Database

KEY = b"k" * 32
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fill(db: Database, n: int = 5, start: datetime = T0) -> None:
    with db.transaction() as uow:
        for i in range(n):
            append(
                uow,
                KEY,
                AuditEvent(f"donor:session:{i}", "read:me", None, "10.0.0.1"),
                start + timedelta(days=i),
            )


def check(db: Database) -> tuple[bool, int | None]:
    with db.reading() as uow:
        report = verify_chain(uow, KEY)
    return report.intact, report.first_bad_id


def test_an_untouched_chain_verifies(db: Database) -> None:
    fill(db)
    with db.reading() as uow:
        report = verify_chain(uow, KEY)
    assert (report.intact, report.entries) == (True, 5)
    assert len(report.head_hash) == 64


def test_an_edited_entry_is_found(db: Database) -> None:
    fill(db)
    with db.transaction() as uow:
        uow.conn.execute(update(audit_log).where(audit_log.c.id == 3).values(actor="staff:mallory"))
    assert check(db) == (False, 3)


def test_a_deleted_entry_is_found(db: Database) -> None:
    fill(db)
    with db.transaction() as uow:
        uow.conn.execute(delete(audit_log).where(audit_log.c.id == 2))
    assert check(db) == (False, 3)


def test_reordered_entries_are_found(db: Database) -> None:
    fill(db)
    with db.transaction() as uow:
        uow.conn.execute(update(audit_log).where(audit_log.c.id == 2).values(id=100))
        uow.conn.execute(update(audit_log).where(audit_log.c.id == 4).values(id=2))
        uow.conn.execute(update(audit_log).where(audit_log.c.id == 100).values(id=4))
    assert check(db)[0] is False


def test_a_cut_tail_is_found(db: Database) -> None:
    fill(db)
    with db.transaction() as uow:
        uow.conn.execute(delete(audit_log).where(audit_log.c.id == 5))
    assert check(db) == (False, 5)


def test_a_forged_chain_without_the_key_is_found(db: Database) -> None:
    fill(db)
    with db.transaction() as uow:
        uow.conn.execute(update(audit_head).values(last_id=4))
        uow.conn.execute(delete(audit_log).where(audit_log.c.id == 5))
    with db.reading() as uow:
        assert verify_chain(uow, b"x" * 32).intact is False


def test_pruning_keeps_the_retention_and_a_verifiable_chain(db: Database) -> None:
    fill(db, 5, start=datetime.now(UTC) - timedelta(days=400))
    fill(db, 2, start=datetime.now(UTC) - timedelta(days=1))
    with db.transaction() as uow:
        removed = prune(uow, KEY, retention_days=365, now=datetime.now(UTC))
    assert removed == 5
    assert check(db) == (True, None)
    with db.transaction() as uow, pytest.raises(ValueError, match="180"):
        prune(uow, KEY, retention_days=90, now=datetime.now(UTC))


def test_retention_under_180_days_is_refused_by_configuration(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="180"):
        Settings.from_env({"BLOODCERT_DATA_DIR": str(tmp_path), "BLOODCERT_AUDIT_RETENTION_DAYS": "30"})
