"""Never more bookings than capacity: many donors race for the last places of a slot, on both databases."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import Kind
from bloodcert.errors import Conflict
from bloodcert.services import booking
from bloodcert.services.sites import save_site, set_day_slots
from bloodcert.storage.tables import appointments, persons, slots
from bloodcert.storage.uow import Database
from tests.factories import create_station

DONORS = 16
CAPACITY = 5
SITE = {
    "name": "武林广场献血屋",
    "type": "fixed",
    "region": "330105",
    "lat": 30.2741,
    "lon": 120.1650,
    "address": "杭州市拱墅区武林广场1号",
    "hours": [{"weekday": d, "opens": "08:30", "closes": "17:00"} for d in range(1, 8)],
}


def _persons(db: Database, n: int) -> list[int]:
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = []
    with db.transaction() as uow:
        for i in range(n):
            row = {
                "merge_hash": i.to_bytes(32, "big"),
                "identity_hash": i.to_bytes(32, "big"),
                "name_hash": i.to_bytes(32, "big"),
                "id_type": "resident_id",
                "id_number": f"33010619900101{i:04d}",
                "name": f"献血者{i}",
                "abo": "O",
                "donation_count": 0,
                "whole_blood_ml": 0,
                "platelet_units": 0,
                "plasma_ml": 0,
                "created_at": now,
                "updated_at": now,
            }
            ids.append(
                int(uow.conn.execute(insert(persons).values(row).returning(persons.c.id)).scalar_one())
            )
    return ids


def _slot(db: Database) -> int:
    station = create_station(db).station
    day = datetime.now(BEIJING).date() + timedelta(days=1)
    body = json.dumps(
        {"date": day.isoformat(), "slots": [{"starts_at": "09:00", "capacity": CAPACITY}]}
    ).encode()
    with db.transaction() as uow:
        save_site(uow, station.id, "WL01", json.dumps(SITE).encode(), datetime.now(UTC))
        _day, [slot] = set_day_slots(uow, station.id, "WL01", body)
    return slot.id


def test_many_donors_racing_for_a_slot_book_exactly_its_capacity(db: Database) -> None:
    slot_id = _slot(db)
    person_ids = _persons(db, DONORS)
    start = threading.Barrier(DONORS)
    outcomes: list[str] = []

    def one(person_id: int) -> None:
        start.wait()
        try:
            with db.transaction() as uow:
                booking.book(uow, (person_id,), slot_id, Kind.WHOLE_BLOOD, datetime.now(UTC))
            outcomes.append("booked")
        except Conflict as exc:
            outcomes.append(exc.slug)

    threads = [threading.Thread(target=one, args=(pid,)) for pid in person_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["booked"] * CAPACITY + ["slot_full"] * (DONORS - CAPACITY)
    with db.reading() as uow:
        assert uow.conn.execute(select(slots.c.booked).where(slots.c.id == slot_id)).scalar_one() == CAPACITY
        assert uow.conn.execute(select(func.count()).select_from(appointments)).scalar_one() == CAPACITY
