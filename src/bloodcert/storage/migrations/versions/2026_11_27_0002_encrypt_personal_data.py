"""Encrypt personal data at rest: persons' ID numbers, names and birth dates, donors' birth dates, the raw
records kept in donation_versions and quality_issues, and certificates' QR texts (they carry the name)

Each column becomes LargeBinary holding AES-256-GCM ciphertext (bloodcert.storage.crypto). Existing rows
are converted in place, a batch at a time, with the key the caller passes as
`config.attributes["data_key"]` (`bloodcert db upgrade` passes BLOODCERT_DATA_KEY or DATA_DIR/data.key).
Without a key the migration refuses to convert rows rather than write anything it cannot vouch for; an
empty database needs no key. `bloodcert.storage.migrate.upgrade` then rewrites the tables (VACUUM) so that
the replaced plaintext does not linger on disk; whoever runs this migration by other means must do that
too. The downgrade decrypts back to the 0001 columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import context, op

from bloodcert.storage.crypto import (
    DataKeyError,
    EncryptedDate,
    EncryptedJSON,
    EncryptedText,
    FieldCipher,
)
from bloodcert.storage.migrate import REWRITTEN_TABLES

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH_ROWS = 1000


# NamedTuples, not dataclasses: Alembic loads this file outside sys.modules, where dataclasses cannot
# resolve postponed annotations.
class Field(NamedTuple):
    """An encrypted column, with its plaintext type at revision 0001 and the application's column type."""

    table: str
    column: str
    plain_type: sa.types.TypeEngine[Any]
    nullable: bool
    codec: EncryptedText | EncryptedDate | EncryptedJSON
    context: bytes  # the associated data, as in tables.py: b"persons.name"


def _field(table: str, column: str, plain: sa.types.TypeEngine[Any], nullable: bool, codec: Any) -> Field:
    name = f"{table}.{column}"
    return Field(table, column, plain, nullable, codec(name), name.encode())


FIELDS = (
    _field("persons", "id_number", sa.String(length=64), False, EncryptedText),
    _field("persons", "name", sa.String(length=100), False, EncryptedText),
    _field("persons", "birth_date", sa.Date(), True, EncryptedDate),
    _field("donors", "birth_date", sa.Date(), True, EncryptedDate),
    _field("donation_versions", "record", sa.JSON(), False, EncryptedJSON),
    _field("certificates", "qr", sa.Text(), False, EncryptedText),
    _field("quality_issues", "record", sa.JSON(), True, EncryptedJSON),
)


class Step(NamedTuple):
    """One direction of the conversion: new columns named COLUMN+suffix are filled, then take the name."""

    suffix: str
    old_type: Callable[[Field], sa.types.TypeEngine[Any]]
    new_type: Callable[[Field], sa.types.TypeEngine[Any]]
    transform: Callable[[Field, Any], Any]


def upgrade() -> None:
    cipher = _cipher("encrypt")
    converted = _run(Step("_sealed", _plain_type, _sealed_type, lambda f, v: _seal(cipher, f, v)))
    if converted:
        # The replaced plaintext lingers in dead rows, dropped columns and free pages until the tables are
        # rewritten, which cannot happen in this transaction: bloodcert.storage.migrate.upgrade does it.
        context.config.attributes[REWRITTEN_TABLES] = sorted({f.table for f in FIELDS})


def downgrade() -> None:
    cipher = _cipher("decrypt")
    _run(Step("_plain", _sealed_type, _plain_type, lambda f, v: _open(cipher, f, v)))


def _run(step: Step) -> int:
    """Convert every table; returns how many rows were converted."""
    converted = 0
    for table in dict.fromkeys(f.table for f in FIELDS):
        fields = [f for f in FIELDS if f.table == table]
        with op.batch_alter_table(table) as batch:
            for f in fields:
                batch.add_column(sa.Column(f.column + step.suffix, step.new_type(f), nullable=True))
        converted += _convert(table, fields, step)
        _swap(table, fields, step)
    _check_foreign_keys()
    return converted


def _cipher(direction: str) -> FieldCipher | None:
    """The cipher from the caller's data key; refuses to go on without one when there are rows to convert."""
    key = context.config.attributes.get("data_key")
    if key:
        return FieldCipher(key)
    conn = op.get_bind()
    for f in FIELDS:
        column: sa.ColumnClause[Any] = sa.column(f.column)
        query = sa.select(sa.literal(1)).select_from(sa.table(f.table, column)).where(column.is_not(None))
        if conn.execute(query.limit(1)).first() is not None:
            raise DataKeyError(
                f"migration 0002 must {direction} the existing personal data ({f.table}.{f.column} has rows) "
                "and no data key was given: run `bloodcert db upgrade` with BLOODCERT_DATA_KEY (or "
                "DATA_DIR/data.key) set, or call upgrade(url, data_key=...)"
            )
    return None


def _seal(cipher: FieldCipher | None, f: Field, value: Any) -> bytes | None:
    if value is None and f.nullable:
        return None
    assert cipher is not None, "_cipher() refuses to go on with rows and no key"
    return cipher.encrypt(f.codec.encode(value), f.context)


def _open(cipher: FieldCipher | None, f: Field, value: Any) -> Any:
    if value is None:
        return None
    assert cipher is not None, "_cipher() refuses to go on with rows and no key"
    return f.codec.decode(cipher.decrypt(bytes(value), f.context))


def _plain_type(f: Field) -> sa.types.TypeEngine[Any]:
    return f.plain_type


def _sealed_type(_f: Field) -> sa.types.TypeEngine[Any]:
    return sa.LargeBinary()


def _convert(table: str, fields: list[Field], step: Step) -> int:
    """Fill the new columns from the old ones, BATCH_ROWS rows at a time, in primary key order."""
    conn = op.get_bind()
    stub = sa.table(
        table,
        sa.column("id", sa.BigInteger()),
        *(sa.column(f.column, step.old_type(f)) for f in fields),
        *(sa.column(f.column + step.suffix, step.new_type(f)) for f in fields),
    )
    read = sa.select(stub.c.id, *(stub.c[f.column] for f in fields)).order_by(stub.c.id).limit(BATCH_ROWS)
    write = (
        sa.update(stub)
        .where(stub.c.id == sa.bindparam("b_id"))
        .values({f.column + step.suffix: sa.bindparam(f"b_{f.column}") for f in fields})
    )
    last, done = None, 0
    while rows := conn.execute(read if last is None else read.where(stub.c.id > last)).all():
        params = []
        for row in rows:
            values = zip(fields, row[1:], strict=True)
            params.append({"b_id": row[0], **{f"b_{f.column}": step.transform(f, v) for f, v in values}})
        conn.execute(write, params)
        last, done = rows[-1][0], done + len(rows)
    return done


def _swap(table: str, fields: list[Field], step: Step) -> None:
    """Drop the old columns and give the new ones their names (one table rebuild on SQLite)."""
    with op.batch_alter_table(table) as batch:
        for f in fields:
            batch.drop_column(f.column)
            batch.alter_column(
                f.column + step.suffix,
                new_column_name=f.column,
                existing_type=step.new_type(f),
                nullable=f.nullable,
            )


def _check_foreign_keys() -> None:
    """SQLite migrations run with foreign keys unenforced (env.py); prove the rebuilt tables kept them."""
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"migration 0002 would leave broken foreign keys: {broken[:5]}")
