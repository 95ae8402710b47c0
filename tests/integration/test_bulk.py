"""storage.bulk against SQLite and PostgreSQL: driver-level inserts store what SQLAlchemy's would, under
ids the database assigns."""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import insert, select

from bloodcert.storage.bulk import SQLITE_ROWS, insert_rows, insert_rows_returning_ids, station_pairs
from bloodcert.storage.tables import persons, quality_issues
from bloodcert.storage.uow import Database
from bloodcert.storage.writes import NewPerson, NewQualityIssue, column_values
from tests.factories import create_station

STAMP = datetime(2026, 11, 27, 9, 30, 15, 123456)


def person(n: int, **extra: Any) -> NewPerson:
    values: dict[str, Any] = {
        "merge_hash": n.to_bytes(4, "big") * 8,
        "identity_hash": n.to_bytes(4, "big") * 8,
        "name_hash": b"\x01" * 32,
        "id_type": "passport",
        "id_number": f"E{n:08d}",
        "name": f"测试{n}",
        "sex": "F",
        "birth_date": date(1990, 1, 1 + n % 28),
        "abo": "O",
        "rhd": None,
        "first_at": STAMP,
        "last_at": None,
        "created_at": STAMP,
        "updated_at": STAMP,
        **extra,
    }
    return NewPerson(**values)


def stored(db: Database) -> list[dict[str, Any]]:
    with db.reading() as uow:
        return [dict(r._mapping) for r in uow.conn.execute(select(persons).order_by(persons.c.id))]


def test_rows_read_back_exactly_as_through_sqlalchemy(db: Database) -> None:
    """Encrypted text and dates, DATETIME with microseconds, NULLs and defaults of the row type."""
    rows = [person(1), person(2, donation_count=3, last_at=STAMP)]
    with db.transaction() as uow:
        uow.conn.execute(insert(persons), [column_values(r) for r in rows])
        # The same rows again (under other merge keys, which are unique) through the driver.
        insert_rows_returning_ids(
            uow.conn,
            persons,
            [msgspec.structs.replace(r, merge_hash=b"\xff" + r.merge_hash[1:]) for r in rows],
        )
    found = [{k: v for k, v in r.items() if k not in ("id", "merge_hash")} for r in stored(db)]
    assert found[2:] == found[:2]
    assert found[2]["name"] == "测试1" and found[3]["donation_count"] == 3 and found[2]["last_at"] is None
    with db.reading() as uow:  # the stored DATETIME text compares like SQLAlchemy's own
        assert len(uow.conn.execute(select(persons.c.id).where(persons.c.first_at == STAMP)).all()) == 4


def test_rows_without_ids_keep_every_value(db: Database) -> None:
    station = create_station(db).station
    issue = NewQualityIssue(
        station_id=station.id,
        donation_no=None,
        severity="error",
        code="invalid_format",
        field=None,
        message="测试",
        record={"donation_no": 7, "note": "原样保存"},
        status="open",
        created_at=STAMP,
        source="api",
    )
    with db.transaction() as uow:
        insert_rows(uow.conn, quality_issues, [issue, issue])
    with db.reading() as uow:
        found = uow.conn.execute(select(quality_issues.c.record, quality_issues.c.created_at)).all()
    assert [tuple(r) for r in found] == [({"donation_no": 7, "note": "原样保存"}, STAMP)] * 2


@pytest.mark.parametrize("count", [1, SQLITE_ROWS + 7])
def test_ids_come_from_the_database_in_the_rows_order(db: Database, count: int) -> None:
    with db.transaction() as uow:
        first = insert_rows_returning_ids(uow.conn, persons, [person(1)])
        ids = insert_rows_returning_ids(uow.conn, persons, [person(n) for n in range(2, count + 2)])
    assert len(set(first + ids)) == count + 1
    assert min(ids) > first[0]
    by_id = {r["id"]: r["id_number"] for r in stored(db)}
    assert [by_id[i] for i in first + ids] == [f"E{n:08d}" for n in range(1, count + 2)]


def test_concurrent_writers_never_share_an_id(db: Database) -> None:
    """Each writer's ids are the rows it wrote, whatever the other writers did meanwhile."""
    claimed: dict[int, list[tuple[int, int]]] = {}

    def write(writer: int) -> None:
        mine = claimed.setdefault(writer, [])
        for batch in range(5):
            numbers = [writer * 10_000 + batch * 100 + k for k in range(40)]
            with db.transaction() as uow:
                ids = insert_rows_returning_ids(uow.conn, persons, [person(n) for n in numbers])
            mine += zip(ids, numbers, strict=True)

    threads = [threading.Thread(target=write, args=(w,)) for w in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pairs = [p for mine in claimed.values() for p in mine]
    assert len({i for i, _ in pairs}) == len(pairs) == 600
    by_id = {r["id"]: r["id_number"] for r in stored(db)}
    assert all(by_id[i] == f"E{n:08d}" for i, n in pairs)


@pytest.mark.parametrize("size", [1, 3, 5001])
def test_station_pairs_finds_exactly_the_pairs_present(db: Database, size: int) -> None:
    with db.transaction() as uow:
        first, _ = insert_rows_returning_ids(uow.conn, persons, [person(1), person(2)])
        one, two = person(1).merge_hash, person(2).merge_hash
        wanted = [(first, one), (first, two), (first + 1, one)][:size]
        wanted += [(9999, one)] * max(0, size - 3)  # many duplicates of a missing pair
        rows = list(
            station_pairs(
                uow.conn,
                wanted,
                "SELECT p.id FROM {pairs} JOIN persons p ON p.id = k.station_id AND p.merge_hash = k.key",
                "bytea",
            )
        )
    assert [r[0] for r in rows] == [first]
