"""Supply levels and call-ups: a type turning short reaches exactly the opted-in, eligible donors of that
type who live or last donated nearby, checked against a count made independently over generated data;
at most twice a month each; and a one-click stop."""

from __future__ import annotations

import calendar
import copy
import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from sqlalchemy import select

from bloodcert.domain.donation_rules import Kind
from bloodcert.domain.notifications import Preferences, Topic, choices_from_json
from bloodcert.domain.supply import Level
from bloodcert.errors import NotFound
from bloodcert.services import booking, supply
from bloodcert.services import notifications as notify
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import report_donations
from bloodcert.services.sites import save_site, set_day_slots
from bloodcert.services.synthetic import Generator
from bloodcert.storage.rows import StationRow
from bloodcert.storage.tables import notifications
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import create_station
from tests.integration.test_booking_concurrency import SITE

TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
# The station is Hangzhou's (3301): two Hangzhou counties, Ningbo and Beijing share the donations.
REGIONS = ("330106", "330102", "330211", "110105")
HOMES = ("330100", "330200", "110100", None)


def _publish(db: Database, station: StationRow, levels: list[tuple[str, str, Level]], now: datetime) -> Any:
    with db.transaction() as uow:
        return supply.publish(uow, station, levels, actor="test", now=now, monthly_cap=2, index_key=INDEX_KEY)


def _months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _may_give_whole_blood(history: list[tuple[str, date]]) -> bool:
    """GB 18467 as the public text has it: six months after whole blood, four weeks after platelets."""
    for kind, day in history:
        if kind == "whole_blood" and _months_later(day, 6) > TODAY:
            return False
        if kind == "platelets" and day + timedelta(days=28) > TODAY:
            return False
    return True


@cache
def _records() -> list[dict[str, Any]]:
    # Made once for both databases: the generator's name tables take a second to build.
    return list(Generator(seed=19, today=TODAY).records(220))


def _generated(db: Database, signing: Signing, station: StationRow) -> dict[str, dict[str, Any]]:
    """Generated donors reported by the station (as history), each with a site region from REGIONS."""
    rng = random.Random(19)
    records = copy.deepcopy(_records())
    for r in records:
        r["site"]["region"] = rng.choice(REGIONS)
    with db.transaction() as uow:
        report_donations(
            uow,
            station=station,
            records=records,
            index_key=INDEX_KEY,
            signing=signing,
            now=NOW,
            source="import",
        )
        rows = uow.donations.current_by_keys((station.id, r["donation_no"]) for r in records)
    donors: dict[str, dict[str, Any]] = defaultdict(lambda: {"history": []})
    for r in records:
        person = donors[r["donor"]["id_number"] + r["donor"]["name"] + r["donor"]["abo"]]
        person["person_id"] = rows[(station.id, r["donation_no"])].person_id
        person["type"] = (r["donor"]["abo"], r["donor"]["rhd"])
        person["history"].append((r["kind"], date.fromisoformat(r["donated_at"][:10])))
        if r["donated_at"] >= person.get("last_at", ""):
            person["last_at"], person["last_region"] = r["donated_at"], r["site"]["region"]
    return donors


def _choose(db: Database, donors: dict[str, dict[str, Any]]) -> None:
    rng = random.Random(7)
    with db.transaction() as uow:
        for person in donors.values():
            person["opted_in"] = rng.random() < 0.6
            person["home"] = rng.choice(HOMES)
            choices = choices_from_json({"callup": ["inbox"]} if person["opted_in"] else {})
            notify.save_preferences(uow, person["person_id"], Preferences(choices, None, person["home"]), NOW)


def test_a_call_up_reaches_exactly_the_eligible_opted_in_donors_of_the_type_nearby(
    db: Database, signing: Signing
) -> None:
    station = create_station(db, "33010001", region="330100").station
    donors = _generated(db, signing, station)
    _choose(db, donors)
    expected = {
        p["person_id"]
        for p in donors.values()
        if p["type"] == ("O", "positive")
        and p["opted_in"]
        and ((p["home"] or "").startswith("3301") or p["last_region"].startswith("3301"))
        and _may_give_whole_blood(p["history"])
    }
    assert 5 <= len(expected) < len(donors) / 4  # the data has donors on both sides of every rule
    done = _publish(db, station, [("O", "positive", Level.LOW), ("A", "positive", Level.ADEQUATE)], NOW)
    [callup] = done.callups
    with db.reading() as uow:
        told = {
            r[0]
            for r in uow.conn.execute(
                select(notifications.c.person_id).where(notifications.c.topic == "callup")
            )
        }
    assert told == expected and callup.reached == len(expected)
    assert (callup.abo, callup.rhd, callup.level, callup.area) == ("O", "positive", "low", "3301")


def _one_donor(db: Database, signing: Signing) -> tuple[StationRow, int]:
    station = create_station(db, "33010001", region="330100").station
    record = {
        "donation_no": "X1",
        "version": 1,
        "status": "valid",
        "donor": {
            "id_type": "resident_id",
            "id_number": "330106199001011221",
            "name": "王芳",
            "sex": "F",
            "birth_date": "1990-01-01",
            "abo": "O",
            "rhd": "positive",
        },
        "donated_at": "2025-01-10T09:00:00+08:00",
        "kind": "whole_blood",
        "volume_ml": 400,
        "units": None,
        "site": {"name": "武林广场献血屋", "type": "fixed", "region": "330103"},
        "test_result": "qualified",
    }
    with db.transaction() as uow:
        report_donations(
            uow,
            station=station,
            records=[record],
            index_key=INDEX_KEY,
            signing=signing,
            now=NOW,
            source="import",
        )
        person_id = uow.donations.current_by_keys([(station.id, "X1")])[(station.id, "X1")].person_id
        notify.save_preferences(uow, person_id, Preferences(choices_from_json({"callup": ["inbox"]})), NOW)
    return station, person_id


def _flip(db: Database, station: StationRow, now: datetime) -> int:
    _publish(db, station, [("O", "positive", Level.ADEQUATE)], now)
    done = _publish(db, station, [("O", "positive", Level.LOW)], now)
    return int(done.callups[0].reached)


def test_a_donor_is_called_up_at_most_twice_a_month_and_again_next_month(
    db: Database, signing: Signing
) -> None:
    station, _person = _one_donor(db, signing)
    this_month = [_flip(db, station, NOW + timedelta(days=d)) for d in (-20, -10, -1)]
    next_month = _flip(db, station, datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    assert this_month == [1, 1, 0] and next_month == 1


def test_staying_low_calls_up_nobody_again_and_getting_worse_does(db: Database, signing: Signing) -> None:
    station, _person = _one_donor(db, signing)
    low = _publish(db, station, [("O", "positive", Level.LOW)], NOW - timedelta(days=20))
    still = _publish(db, station, [("O", "positive", Level.LOW)], NOW - timedelta(days=19))
    worse = _publish(db, station, [("O", "positive", Level.CRITICAL)], NOW - timedelta(days=18))
    assert (len(low.callups), len(still.callups), len(worse.callups)) == (1, 0, 1)


def test_the_link_in_a_call_up_stops_call_ups_with_one_click_and_nothing_else(
    db: Database, signing: Signing
) -> None:
    station, person = _one_donor(db, signing)
    _publish(db, station, [("O", "positive", Level.LOW)], NOW - timedelta(days=20))
    with db.reading() as uow:
        [entry] = [e for e in notify.inbox(uow, [person], "en") if e.topic == "callup"]
    assert entry.link is not None and entry.link.startswith("/callups/")
    token = entry.link.split("/")[2].split("?")[0]
    with db.transaction() as uow:
        supply.stop_callups(uow, INDEX_KEY, token, NOW)
        assert not notify.preferences_of(uow, person).wants(Topic.CALLUP)
        assert notify.preferences_of(uow, person).wants(Topic.RECORD)
    assert _flip(db, station, datetime(2026, 12, 5, 2, 0, tzinfo=UTC)) == 0


def test_a_forged_stop_link_is_not_found(db: Database, signing: Signing) -> None:
    _station, person = _one_donor(db, signing)
    token = supply.optout_token(b"another key" * 3, person)
    with pytest.raises(NotFound), db.transaction() as uow:
        supply.stop_callups(uow, INDEX_KEY, token, NOW)
    with db.reading() as uow:
        assert notify.preferences_of(uow, person).wants(Topic.CALLUP)


def test_the_station_sees_how_many_were_reached_and_how_many_booked(db: Database, signing: Signing) -> None:
    station, person = _one_donor(db, signing)
    _publish(db, station, [("O", "positive", Level.CRITICAL)], datetime.now(UTC) - timedelta(days=1))
    with db.reading() as uow:
        [before] = supply.station_callups(uow, station.id)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    body = {"date": tomorrow.isoformat(), "slots": [{"starts_at": "09:00", "capacity": 3}]}
    with db.transaction() as uow:
        save_site(uow, station.id, "WL01", json.dumps(SITE).encode(), datetime.now(UTC))
        _day, [slot] = set_day_slots(uow, station.id, "WL01", json.dumps(body).encode())
        booking.book(uow, (person,), slot.id, Kind.WHOLE_BLOOD, datetime.now(UTC))
    with db.reading() as uow:
        [after] = supply.station_callups(uow, station.id)
    assert (before.reached, before.booked, after.booked) == (1, 0, 1)
