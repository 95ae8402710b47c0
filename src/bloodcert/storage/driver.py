"""How values cross between Python and the driver, as the columns' SQLAlchemy types define it.

The driver-level paths (bulk writes, read models) call these processors themselves, so that what they
write and read is exactly what SQLAlchemy would have: DATETIME as SQLite's text, dates parsed back, JSON
serialised, personal data encrypted and decrypted by the column's own type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Dialect, LargeBinary

Processor = Callable[[Any], Any]


def result_processor(column: ColumnElement[Any], dialect: Dialect) -> Processor | None:
    """How SQLAlchemy turns the driver's value of this column into Python (SQLite's DATE and DATETIME
    text into dates, encrypted columns into plaintext); None when the value is used as it comes."""
    processor: Processor | None = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return processor


def bind_processor(column: ColumnElement[Any], dialect: Dialect) -> Processor | None:
    """How SQLAlchemy turns a Python value for this column into the driver's; None when it goes as it is.

    A plain LargeBinary's processor only wraps bytes in the DBAPI's Binary type, which both drivers
    (sqlite3, psycopg) take as they are, so it is skipped: it costs about 2 µs a value on the hot paths.
    Types built on it (the encrypted columns) keep theirs.
    """
    impl = column.type.dialect_impl(dialect)
    if type(impl) is LargeBinary:
        return None
    processor: Processor | None = impl.bind_processor(dialect)
    return processor
