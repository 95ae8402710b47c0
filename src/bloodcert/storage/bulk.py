"""Bulk statements at the driver level, for the paths that touch thousands of rows per transaction.

Imports, station batches and the audit trail insert rows by the thousand. SQLAlchemy's executemany
compiles the statement and walks every parameter through its processing per call; here the statement is
built once per (table, columns, dialect), each value goes through its column's own bind processor (the
encrypted types encrypt, JSON serialises, DATETIME formats as SQLAlchemy stores it), and the driver's
executemany does the rest. Primary keys are allocated before the insert, so no RETURNING is needed.

Lookups by (station, key) pairs join a list of the pairs against the table's unique index, in one
statement: a row-value IN list would make SQLite scan the whole table, and one statement per station
costs more in statement overhead than the lookups themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table

Processor = Callable[[Any], Any] | None
MAX_PAIRS = 5000  # 10,000 bound values per statement, well under SQLite's limit of 32,766


def station_pairs(
    conn: Connection, pairs: Iterable[tuple[int, Any]], select_from: str, key_type: str
) -> Iterator[tuple[Any, ...]]:
    """Rows of `select_from`, a query whose FROM names `{pairs}`: a relation k(station_id, key) of the
    distinct pairs, joined by the caller to a table's (station_id, key) unique index. `key_type` is the
    key's PostgreSQL type (text, bytea)."""
    wanted = list(set(pairs))
    for start in range(0, len(wanted), MAX_PAIRS):
        part = wanted[start : start + MAX_PAIRS]
        if conn.dialect.name == "postgresql":
            relation = f"unnest(%s::bigint[], %s::{key_type}[]) AS k(station_id, key)"
            params: Any = ([p[0] for p in part], [p[1] for p in part])
        else:
            values = ",".join(["(?,?)"] * len(part))
            relation = f"(SELECT column1 AS station_id, column2 AS key FROM (VALUES {values})) AS k"  # noqa: S608
            params = tuple(x for p in part for x in p)
        yield from conn.exec_driver_sql(select_from.format(pairs=relation), params)


def result_processor(column: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """How SQLAlchemy would turn the driver's value of this column into Python (dates on SQLite)."""
    process = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return process if process is not None else (lambda value: value)


@lru_cache(maxsize=128)
def _plan(table: Table, names: tuple[str, ...], dialect: Dialect) -> tuple[str, tuple[Processor, ...]]:
    columns = [table.c[name] for name in names]
    mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 - schema names
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    processors = tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
    return sql, processors


def _defaults(table: Table, names: set[str]) -> dict[str, Any]:
    """Scalar Python-side defaults of the columns a row leaves out (callables are not supported here)."""
    found: dict[str, Any] = {}
    for column in table.columns:
        if column.name in names or column.default is None:
            continue
        arg = getattr(column.default, "arg", None)
        if callable(arg) or not getattr(column.default, "is_scalar", False):
            raise ValueError(f"{table.name}.{column.name} has a computed default; give it a value")
        found[column.name] = arg
    return found


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows; rows with different sets of keys go in one statement per set, none loses a value."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    for names, group in shapes.items():
        defaults = _defaults(table, set(names))
        sql, processors = _plan(table, (*names, *defaults), conn.dialect)
        extra = tuple(defaults.values())
        params = [
            tuple(
                p(v) if p is not None else v for p, v in zip(processors, (*row.values(), *extra), strict=True)
            )
            for row in group
        ]
        conn.exec_driver_sql(sql, params)


def allocate_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """`count` new primary keys of `table`, ascending, reserved for this transaction.

    PostgreSQL draws them from the column's sequence; SQLite continues after the largest id, which is safe
    because writers hold SQLite's write lock from BEGIN IMMEDIATE to commit.
    """
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (table.name, count),
        )
        return sorted(int(r[0]) for r in rows)
    top = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}").scalar_one()  # noqa: S608
    return list(range(int(top) + 1, int(top) + 1 + count))


def insert_rows_with_ids(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows under newly allocated ids; returns the ids in the rows' order."""
    ids = allocate_ids(conn, table, len(rows))
    insert_rows(conn, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids
