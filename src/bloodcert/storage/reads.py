"""Named read models for the hottest reads, run on the raw driver connection.

A read model is a row type (a struct or dataclass of storage/rows.py) and, for each of its fields, the
column of storage/tables.py it comes from. Its queries are SQLAlchemy statements over those columns,
compiled once per dialect (and per length of an IN list) into the driver's own SQL and parameter order:
every request after the first costs one execute and the columns' result processors, with no statement
building, compilation or result proxies. Values come back exactly as SQLAlchemy would return them, through the
columns' own types (dates parsed from SQLite's text, personal data decrypted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import ClauseElement, ColumnElement, CompoundSelect, Dialect, Select, Table, select

from bloodcert.storage.driver import Processor, bind_processor, result_processor

R = TypeVar("R")


class ReadModel(Generic[R]):
    """A row type and the column behind each of its fields, in the fields' order."""

    def __init__(self, row: type[R], columns: Table | Mapping[str, ColumnElement[Any]]) -> None:
        struct_fields: tuple[str, ...] | None = getattr(row, "__struct_fields__", None)
        names = struct_fields if struct_fields is not None else [f.name for f in fields(row)]  # type: ignore[arg-type]
        source: Any = columns.c if isinstance(columns, Table) else columns
        self.row = row
        # A field without a column is an error here, at import, not at the first request.
        self.columns: tuple[ColumnElement[Any], ...] = tuple(source[name] for name in names)

    @staticmethod
    def of_columns(columns: Sequence[ColumnElement[Any]]) -> ReadModel[tuple[Any, ...]]:
        """A model of plain rows: a tuple of these columns' values (for queries whose rows take more than
        one shape, such as a UNION of two kinds of row)."""
        model: ReadModel[tuple[Any, ...]] = object.__new__(ReadModel)
        model.row = _values  # type: ignore[assignment]
        model.columns = tuple(columns)
        return model

    def select(self) -> Select[Any]:
        """SELECT of the model's columns, for its queries to add FROM, WHERE and ORDER BY to."""
        return select(*self.columns)


def _values(*values: Any) -> tuple[Any, ...]:
    return values


@dataclass(frozen=True, slots=True)
class _Prepared(Generic[R]):
    """One query compiled for one dialect and one length of each IN list."""

    sql: str
    template: tuple[Any, ...]  # the driver's parameters, with the values the statement itself binds
    slots: tuple[tuple[int, str, int | None], ...]  # (position, bind name, index in its list) of the rest
    names: tuple[str, ...] | None  # the driver's parameter names, when it takes them by name
    binds: tuple[tuple[int, Processor], ...]
    decode: Callable[[Sequence[Any]], R]

    def params(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for these bind values."""
        out = list(self.template)
        for position, name, index in self.slots:
            out[position] = values[name] if index is None else values[name][index]
        for position, process in self.binds:
            out[position] = process(out[position])
        return dict(zip(self.names, out, strict=True)) if self.names is not None else out


class Query(Generic[R]):
    """A query of a read model, run on a DBAPI connection; `expanding` names its IN-list parameters.

    The statement is a SELECT of the model's columns (or a UNION of such SELECTs), or an INSERT or UPDATE
    … RETURNING them.
    """

    def __init__(
        self,
        model: ReadModel[R],
        statement: Select[Any] | CompoundSelect[Any] | ClauseElement,
        expanding: tuple[str, ...] = (),
    ) -> None:
        self.model = model
        self.statement = statement
        self.expanding = expanding

    def all(self, raw: Any, dialect: Dialect, **values: Any) -> list[R]:
        """Every row, as the model's row type."""
        lengths = tuple([len(values[name]) for name in self.expanding]) if self.expanding else ()
        prepared = _prepare(self, dialect, lengths)
        # Both drivers (sqlite3, psycopg) execute on the connection through a cursor of their own, which
        # is gone once its rows are fetched: a cursor object and its close() less per query.
        rows = raw.execute(prepared.sql, prepared.params(values)).fetchall()
        decode = prepared.decode
        return [decode(r) for r in rows]

    def first(self, raw: Any, dialect: Dialect, **values: Any) -> R | None:
        """The first row, or None."""
        rows = self.all(raw, dialect, **values)
        return rows[0] if rows else None


@lru_cache(maxsize=512)
def _prepare(query: Query[R], dialect: Dialect, lengths: tuple[int, ...]) -> _Prepared[R]:
    compiled: Any = query.statement.compile(dialect=dialect)
    expanded = compiled.construct_expanded_state(
        {
            **dict.fromkeys(compiled.binds),
            **{name: [0] * n for name, n in zip(query.expanding, lengths, strict=True)},
        }
    )
    driver_names = list(expanded.positiontup or expanded.parameters)
    sources: dict[str, tuple[str, int | None]] = {name: (name, None) for name in compiled.binds}
    for name, n in zip(query.expanding, lengths, strict=True):
        sources.update({f"{name}_{i + 1}": (name, i) for i in range(n)})
    template: list[Any] = []
    slots: list[tuple[int, str, int | None]] = []
    binds: list[tuple[int, Processor]] = []
    for position, driver_name in enumerate(driver_names):
        name, index = sources[driver_name]
        bind = compiled.binds[name]
        template.append(None if bind.required else bind.effective_value)
        if bind.required:
            slots.append((position, name, index))
        process = bind_processor(bind, dialect)
        if process is not None:
            binds.append((position, process))
    return _Prepared(
        sql=expanded.statement,
        template=tuple(template),
        slots=tuple(slots),
        names=None if compiled.positional else tuple(driver_names),
        binds=tuple(binds),
        decode=_decoder(query.model, dialect),
    )


def _decoder(model: ReadModel[R], dialect: Dialect) -> Callable[[Sequence[Any]], R]:
    row = model.row
    processed = tuple(
        (i, p) for i, p in enumerate(result_processor(c, dialect) for c in model.columns) if p is not None
    )

    if not processed:
        return lambda raw: row(*raw)

    def decode(raw: Sequence[Any]) -> R:
        values = list(raw)
        for i, process in processed:
            values[i] = process(values[i])
        return row(*values)

    return decode
