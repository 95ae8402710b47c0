"""Bulk statements at the driver level, for the paths that touch thousands of rows per transaction.

Imports, station batches and the audit trail insert rows by the thousand. SQLAlchemy's executemany
compiles the statement and walks every parameter through its processing per call; here the statement is
built once per (table, row type, dialect), each value goes through its column's own bind processor (the
encrypted types encrypt, JSON serialises, DATETIME formats as SQLAlchemy stores it), and the driver does
the rest. Rows are the typed write rows of storage/writes.py; their fields name the columns.

New ids come from the database, so that concurrent writers never collide: PostgreSQL draws them from the
table's sequence before the insert; SQLite assigns them in a multi-row `INSERT … RETURNING id`.

Lookups by (station, key) pairs join a list of the pairs against the table's unique index, in one
statement: a row-value IN list would make SQLite scan the whole table, and one statement per station
costs more in statement overhead than the lookups themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Any, ClassVar, Protocol

from sqlalchemy import Connection, Dialect, Table

from bloodcert.storage.driver import bind_processor

MAX_PAIRS = 5000  # 10,000 bound values per statement, well under SQLite's limit of 32,766
SQLITE_ROWS = 500  # rows per multi-row INSERT on SQLite: a few fixed statement shapes, each prepared once
SQLITE_VARIABLES = 32766


class WriteRow(Protocol):
    """A struct whose fields name its table's columns (storage/writes.py)."""

    __struct_fields__: ClassVar[tuple[str, ...]]


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


@dataclass(frozen=True, slots=True)
class _Plan:
    """How rows of one type go into one table on one dialect."""

    head: str  # INSERT INTO t (columns) VALUES
    row_marks: str  # (?, ?, …) for one row
    width: int
    values: Callable[[Any], tuple[Any, ...]]  # the row's field values, in column order
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)
    extra: tuple[Any, ...]  # scalar defaults of the columns the row type leaves out

    def params(self, rows: Sequence[Any], ids: Sequence[int] = ()) -> list[tuple[Any, ...]]:
        """Driver parameters of each row (after its id, when the plan has one), every value processed as
        SQLAlchemy would bind it."""
        out = []
        values, processed, extra = self.values, self.processed, self.extra
        for n, row in enumerate(rows):
            v = [ids[n], *values(row), *extra] if ids else [*values(row), *extra]
            for i, process in processed:
                v[i] = process(v[i])
            out.append(tuple(v))
        return out


@lru_cache(maxsize=128)
def _plan(table: Table, row_type: type[Any], dialect: Dialect, with_id: bool) -> _Plan:
    names: tuple[str, ...] = row_type.__struct_fields__
    defaults = _defaults(table, {*names, "id"})
    columns = [table.c[name] for name in (*(("id",) if with_id else ()), *names, *defaults)]
    mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    quote = dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) VALUES "  # noqa: S608 - schema names
    processors = [bind_processor(c, dialect) for c in columns]
    return _Plan(
        head=head,
        row_marks=f"({', '.join([mark] * len(columns))})",
        width=len(columns),
        values=attrgetter(*names),
        processed=tuple((i, p) for i, p in enumerate(processors) if p is not None),
        extra=tuple(defaults.values()),
    )


def _defaults(table: Table, names: set[str]) -> dict[str, Any]:
    """Scalar Python-side defaults of the columns a row type leaves out (callables are not supported)."""
    found: dict[str, Any] = {}
    for column in table.columns:
        if column.name in names or column.default is None:
            continue
        arg = getattr(column.default, "arg", None)
        if callable(arg) or not getattr(column.default, "is_scalar", False):
            raise ValueError(f"{table.name}.{column.name} has a computed default; give it a value")
        found[column.name] = arg
    return found


def insert_rows(conn: Connection, table: Table, rows: Sequence[WriteRow]) -> None:
    """Insert rows of one write-row type, in one driver-level executemany."""
    if not rows:
        return
    plan = _plan(table, type(rows[0]), conn.dialect, False)
    conn.exec_driver_sql(plan.head + plan.row_marks, plan.params(rows))


def insert_rows_returning_ids(conn: Connection, table: Table, rows: Sequence[WriteRow]) -> list[int]:
    """Insert rows under ids the database assigns; returns the ids in the rows' order."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        return _insert_with_sequence(conn, table, rows)
    plan = _plan(table, type(rows[0]), conn.dialect, False)
    params = plan.params(rows)
    per_statement = max(1, min(SQLITE_ROWS, SQLITE_VARIABLES // plan.width))
    ids: list[int] = []
    for start in range(0, len(params), per_statement):
        part = params[start : start + per_statement]
        flat = tuple(value for row in part for value in row)
        # SQLite gives an INTEGER PRIMARY KEY the next rowid as each row of the VALUES list is inserted, so
        # the ids ascend in the rows' order; RETURNING's own order is unspecified, hence the sort (the
        # same reasoning as SQLAlchemy's "insertmanyvalues" with an autoincrement sentinel).
        returned = conn.exec_driver_sql(_returning_sql(plan.head, plan.row_marks, len(part)), flat)
        ids += sorted(int(r[0]) for r in returned)
    return ids


@lru_cache(maxsize=64)
def _returning_sql(head: str, row_marks: str, count: int) -> str:
    return f"{head}{', '.join([row_marks] * count)} RETURNING id"


def _insert_with_sequence(conn: Connection, table: Table, rows: Sequence[WriteRow]) -> list[int]:
    """PostgreSQL: draw the ids from the table's own sequence (never handed out twice), then insert."""
    drawn = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        (table.name, len(rows)),
    )
    ids = sorted(int(r[0]) for r in drawn)
    plan = _plan(table, type(rows[0]), conn.dialect, True)
    conn.exec_driver_sql(plan.head + plan.row_marks, plan.params(rows, ids))
    return ids
