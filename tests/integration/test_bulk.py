"""storage.bulk against SQLite and PostgreSQL: driver-level inserts store what SQLAlchemy's would."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from bloodcert.storage.bulk import allocate_ids, insert_rows, insert_rows_with_ids, station_pairs
from bloodcert.storage.tables import persons
from bloodcert.storage.uow import Database

STAMP = datetime(2026, 11, 27, 9, 30, 15, 123456)


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "merge_hash": bytes([n]) * 32,
        "identity_hash": bytes([n]) * 32,
        "name_hash": b"\x01" * 32,
        "id_type": "passport",
        "id_number": f"E{n:08d}",
        "name": f"测试{n}",
        "sex": "F",
        "birth_date": date(1990, 1, n),
        "abo": "O",
        "rhd": None,
        "first_at": STAMP,
        "last_at": None,
        "created_at": STAMP,
        "updated_at": STAMP,
        **extra,
    }


def stored(db: Database) -> list[dict[str, Any]]:
    with db.reading() as uow:
        return [dict(r._mapping) for r in uow.conn.execute(select(persons).order_by(persons.c.id))]


def test_rows_read_back_exactly_as_through_sqlalchemy(db: Database) -> None:
    """Encrypted text and dates, DATETIME with microseconds, NULLs and scalar column defaults."""
    with db.transaction() as uow:
        uow.conn.execute(insert(persons), [person(1, id=1)])
        insert_rows(uow.conn, persons, [person(2, id=2)])
    defaults = {"donation_count": 0, "whole_blood_ml": 0, "platelet_units": 0, "plasma_ml": 0}
    assert stored(db) == [{**person(1, id=1), **defaults}, {**person(2, id=2), **defaults}]
    with db.reading() as uow:  # the stored DATETIME text compares like SQLAlchemy's own
        assert uow.conn.execute(select(persons.c.id).where(persons.c.first_at == STAMP)).all() == [(1,), (2,)]


def test_allocated_ids_are_new_ascending_and_used_in_order(db: Database) -> None:
    with db.transaction() as uow:
        first = insert_rows_with_ids(uow.conn, persons, [person(1), person(2)])
        more = allocate_ids(uow.conn, persons, 3)
    assert first == sorted(first) and len(set(first + more)) == 5
    assert min(more) > max(first)
    assert [(r["id"], r["id_number"]) for r in stored(db)] == [
        (first[0], "E00000001"),
        (first[1], "E00000002"),
    ]


def test_rows_of_differing_shapes_keep_every_value(db: Database) -> None:
    with db.transaction() as uow:
        insert_rows(uow.conn, persons, [person(1, id=1), {**person(2, id=2), "donation_count": 3}])
    assert [r["donation_count"] for r in stored(db)] == [0, 3]


@pytest.mark.parametrize("size", [1, 3, 5001])
def test_station_pairs_finds_exactly_the_pairs_present(db: Database, size: int) -> None:
    with db.transaction() as uow:
        insert_rows(uow.conn, persons, [person(1, id=1), person(2, id=2)])
        wanted = [(1, bytes([1]) * 32), (1, bytes([2]) * 32), (2, bytes([1]) * 32)][:size]
        wanted += [(9, bytes([9]) * 32)] * max(0, size - 3)  # many duplicates of a missing pair
        rows = list(
            station_pairs(
                uow.conn,
                wanted,
                "SELECT p.id FROM {pairs} JOIN persons p ON p.id = k.station_id AND p.merge_hash = k.key",
                "bytea",
            )
        )
    assert sorted(r[0] for r in rows) == [1]
