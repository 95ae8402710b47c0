"""The typed write rows match their tables: a misspelt or forgotten column cannot hide in one."""

from __future__ import annotations

import types
from typing import Union, get_args, get_origin, get_type_hints

import pytest
from sqlalchemy import Table

from bloodcert.storage.writes import WRITE_ROWS


def _optional(hint: object) -> bool:
    return get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)


CASES = [pytest.param(row, table, id=row.__name__) for row, table in WRITE_ROWS.items()]


@pytest.mark.parametrize(("row", "table"), CASES)
def test_every_field_is_a_column_of_its_table(row: type, table: Table) -> None:
    assert set(row.__struct_fields__) <= set(table.c.keys())


@pytest.mark.parametrize(("row", "table"), CASES)
def test_every_column_the_database_cannot_fill_is_a_field(row: type, table: Table) -> None:
    generated = table.autoincrement_column
    required = {c.name for c in table.columns if not c.nullable and c.default is None and c is not generated}
    assert required <= set(row.__struct_fields__)


@pytest.mark.parametrize(("row", "table"), CASES)
def test_a_field_may_be_none_exactly_when_its_column_is_nullable(row: type, table: Table) -> None:
    hints = get_type_hints(row)
    assert {name: _optional(hint) for name, hint in hints.items()} == {
        name: bool(table.c[name].nullable) for name in hints
    }


def test_every_table_written_in_bulk_or_by_services_has_a_row_type() -> None:
    names = {table.name for table in WRITE_ROWS.values()}
    assert names >= {
        "persons",
        "donors",
        "donations",
        "donation_versions",
        "certificates",
        "signing_keys",
        "status_lists",
        "quality_issues",
        "import_runs",
        "stations",
        "station_keys",
        "audit_log",
    }
