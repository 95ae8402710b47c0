"""Sites and booking over HTTP: stations sign their sites and slots, anyone finds a site, donors book."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from typing import Any

from litestar.testing import TestClient

from bloodcert.domain.clock import BEIJING
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.test_donor_api import bearer, log_in, seed
from tests.factories import LI_LEI, WANG_FANG, StationKey, create_station, make_record, signed_headers

TOMORROW = datetime.now(BEIJING).date() + timedelta(days=1)
WEEK = [{"weekday": d, "opens": "08:30", "closes": "17:00"} for d in range(1, 8)]
WULIN = {
    "name": "武林广场献血屋",
    "type": "fixed",
    "region": "330105",
    "lat": 30.2741,
    "lon": 120.1650,
    "address": "杭州市拱墅区武林广场1号",
    "hours": WEEK,
}


def signed(client: TestClient, key: StationKey, method: str, path: str, payload: Any = None) -> Any:  # type: ignore[type-arg]
    url = BASE + path
    body = json.dumps(payload).encode() if payload is not None else None
    headers = signed_headers(key, method, url, body)
    return client.request(method, url, content=body, headers=headers)


def put_site(client: TestClient, key: StationKey, code: str, **changes: Any) -> Any:  # type: ignore[type-arg]
    return signed(client, key, "PUT", f"/api/v1/station/sites/{code}", {**WULIN, **changes})


def put_slots(
    client: TestClient, key: StationKey, code: str, slots: list[dict[str, Any]], day: date = TOMORROW
) -> Any:  # type: ignore[type-arg]
    return signed(
        client, key, "PUT", f"/api/v1/station/sites/{code}/slots", {"date": day.isoformat(), "slots": slots}
    )


def law_of_cosines_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance by the spherical law of cosines: a different formula from the server's haversine."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    cos_c = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return 6371.0088 * math.acos(min(1.0, cos_c))


def test_a_station_registers_a_site_and_anyone_finds_it(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    response = put_site(client, key, "WL01")
    assert response.status_code == 200, response.text
    found = client.get(BASE + "/api/v1/sites?region=3301").json()["sites"]
    assert [(s["station_code"], s["name"], s["type"], s["region"]) for s in found] == [
        ("33000001", "武林广场献血屋", "fixed", "330105")
    ]
    assert found[0]["hours"][0] == {"weekday": 1, "opens": "08:30", "closes": "17:00"}
    assert "distance_km" not in found[0]
    assert client.get(BASE + "/api/v1/sites?region=11").json()["sites"] == []


def test_putting_a_site_again_replaces_it(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    put_site(client, key, "WL01")
    assert put_site(client, key, "WL01", name="武林献血屋", hours=WEEK[:1]).status_code == 200
    [site] = client.get(BASE + "/api/v1/sites").json()["sites"]
    assert site["name"] == "武林献血屋" and len(site["hours"]) == 1


def test_a_bad_region_a_point_outside_china_and_overlaps_are_400_with_fields(
    client: TestClient, db: Database
) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    bus = {
        **WULIN,
        "type": "mobile",
        "schedule": [
            {
                "date": "2026-12-05",
                "place": "浙大",
                "lat": 30.26,
                "lon": 120.12,
                "opens": "09:00",
                "closes": "12:00",
            },
            {
                "date": "2026-12-05",
                "place": "西湖",
                "lat": 30.25,
                "lon": 120.15,
                "opens": "11:00",
                "closes": "15:00",
            },
        ],
    }
    cases = [
        (put_site(client, key, "A", region="339999"), "region", "unknown_region"),
        (put_site(client, key, "B", lat=35.68, lon=139.69), "lat", "outside_china"),
        (signed(client, key, "PUT", "/api/v1/station/sites/C", bus), "schedule[1]", "overlapping"),
        (
            put_site(client, key, "D", hours=[WEEK[0], {**WEEK[0], "opens": "16:00", "closes": "18:00"}]),
            "hours[1]",
            "overlapping",
        ),
    ]
    for response, field, code in cases:
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert {"field": field, "code": code} in [
            {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
        ]
    assert client.get(BASE + "/api/v1/sites").json()["sites"] == []


def test_sites_come_nearest_first_with_independently_checked_distances(
    client: TestClient, db: Database
) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    places = {"WL": (30.2741, 120.1650), "XS": (30.1850, 120.2640), "YH": (30.4210, 120.3010)}
    for code, (lat, lon) in places.items():
        assert put_site(client, key, code, name=f"site {code}", lat=lat, lon=lon).status_code == 200
    me = (30.19, 120.26)
    found = client.get(BASE + "/api/v1/sites", params={"near": f"{me[0]},{me[1]}"}).json()["sites"]
    expected = sorted(places, key=lambda c: law_of_cosines_km(me, places[c]))
    assert [s["name"] for s in found] == [f"site {c}" for c in expected]
    for site in found:
        code = site["name"].split()[1]
        assert math.isclose(site["distance_km"], law_of_cosines_km(me, places[code]), abs_tol=0.002)


def test_a_mobile_site_is_found_where_it_stands_on_the_day_and_only_when_open(
    client: TestClient, db: Database
) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    day = TOMORROW.isoformat()
    stop = {
        "date": day,
        "place": "浙江大学紫金港",
        "lat": 30.30,
        "lon": 120.09,
        "opens": "09:00",
        "closes": "15:00",
    }
    bus = {**WULIN, "name": "献血车1号", "type": "mobile", "hours": [], "schedule": [stop]}
    assert signed(client, key, "PUT", "/api/v1/station/sites/BUS1", bus).status_code == 200
    found = client.get(BASE + "/api/v1/sites", params={"open_on": day}).json()["sites"]
    assert [(s["name"], s["lat"], s["lon"]) for s in found] == [("献血车1号", 30.30, 120.09)]
    later = (TOMORROW + timedelta(days=1)).isoformat()
    assert client.get(BASE + "/api/v1/sites", params={"open_on": later}).json()["sites"] == []


def test_slots_are_set_by_the_station_and_read_by_anyone(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    site_id = put_site(client, key, "WL01").json()["id"]
    response = put_slots(
        client, key, "WL01", [{"starts_at": "09:00", "capacity": 5}, {"starts_at": "10:00", "capacity": 3}]
    )
    assert response.status_code == 200, response.text
    slots = client.get(BASE + f"/api/v1/sites/{site_id}/slots", params={"date": TOMORROW.isoformat()}).json()[
        "slots"
    ]
    assert [(s["starts_at"], s["capacity"], s["booked"]) for s in slots] == [("09:00", 5, 0), ("10:00", 3, 0)]
    put_slots(client, key, "WL01", [{"starts_at": "10:00", "capacity": 4}])
    slots = client.get(BASE + f"/api/v1/sites/{site_id}/slots", params={"date": TOMORROW.isoformat()}).json()[
        "slots"
    ]
    assert [(s["starts_at"], s["capacity"]) for s in slots] == [("10:00", 4)]


def test_another_station_cannot_touch_a_stations_site(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key_a = create_station(db)
    key_b = create_station(db, "31000001", region="310000")
    put_site(client, key_a, "WL01")
    put_slots(client, key_a, "WL01", [{"starts_at": "09:00", "capacity": 5}])
    assert put_slots(client, key_b, "WL01", [{"starts_at": "09:00", "capacity": 0}]).status_code == 404
    bookings = f"/api/v1/station/sites/WL01/bookings?date={TOMORROW.isoformat()}"
    assert signed(client, key_b, "GET", bookings).status_code == 404
    assert signed(client, key_a, "GET", bookings).status_code == 200
    assert client.put(BASE + "/api/v1/station/sites/WL01", json=WULIN).status_code == 401


def _site_with_slot(client: TestClient, db: Database, capacity: int = 2) -> tuple[StationKey, int, int]:  # type: ignore[type-arg]
    key = create_station(db)
    site_id = put_site(client, key, "WL01").json()["id"]
    [slot] = put_slots(client, key, "WL01", [{"starts_at": "09:00", "capacity": capacity}]).json()["slots"]
    return key, site_id, slot["id"]


def test_a_donor_books_lists_and_cancels(client: TestClient, db: Database, signing: Signing) -> None:  # type: ignore[type-arg]
    _key, site_id, slot_id = _site_with_slot(client, db)
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
    auth = bearer(log_in(client))
    response = client.post(
        BASE + "/api/v1/me/appointments", json={"slot_id": slot_id, "kind": "whole_blood"}, headers=auth
    )
    assert response.status_code == 201, response.text
    appointment = response.json()
    assert appointment == {"id": appointment["id"], "slot_id": slot_id, "status": "booked"}
    mine = client.get(BASE + "/api/v1/me/appointments", headers=auth).json()
    assert [(a["site_id"], a["date"], a["starts_at"], a["status"]) for a in mine["appointments"]] == [
        (site_id, TOMORROW.isoformat(), "09:00", "booked")
    ]
    slots = client.get(BASE + f"/api/v1/sites/{site_id}/slots", params={"date": TOMORROW.isoformat()}).json()[
        "slots"
    ]
    assert slots[0]["booked"] == 1
    assert (
        client.delete(BASE + f"/api/v1/me/appointments/{appointment['id']}", headers=auth).status_code == 204
    )
    slots = client.get(BASE + f"/api/v1/sites/{site_id}/slots", params={"date": TOMORROW.isoformat()}).json()[
        "slots"
    ]
    assert slots[0]["booked"] == 0
    assert (
        client.delete(BASE + f"/api/v1/me/appointments/{appointment['id']}", headers=auth).status_code == 409
    )


def test_a_full_slot_is_409_slot_full(client: TestClient, db: Database, signing: Signing) -> None:  # type: ignore[type-arg]
    _key, _site_id, slot_id = _site_with_slot(client, db, capacity=1)
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI, donated_at="2024-01-10T09:00:00+08:00")])
    body = {"slot_id": slot_id, "kind": "whole_blood"}
    first = client.post(BASE + "/api/v1/me/appointments", json=body, headers=bearer(log_in(client)))
    assert first.status_code == 201
    second = client.post(
        BASE + "/api/v1/me/appointments",
        json=body,
        headers=bearer(log_in(client, donor=LI_LEI, donation_no="L1")),
    )
    assert second.status_code == 409
    assert second.json()["type"] == "slot_full"


def test_a_donor_who_gave_whole_blood_3_months_ago_is_refused_with_the_date(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    _key, _site_id, slot_id = _site_with_slot(client, db)
    three_months_ago = TOMORROW - timedelta(days=91)
    donated = datetime.combine(three_months_ago, datetime.min.time().replace(hour=9), BEIJING)
    seed(db, signing, [make_record(donation_no="W1", donated_at=donated.isoformat())])
    auth = bearer(log_in(client))
    response = client.post(
        BASE + "/api/v1/me/appointments", json={"slot_id": slot_id, "kind": "whole_blood"}, headers=auth
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "not_eligible"
    month = three_months_ago.month + 6
    year, month = three_months_ago.year + (month - 1) // 12, (month - 1) % 12 + 1
    assert date.fromisoformat(problem["eligible_from"]).replace(day=1) == date(year, month, 1)
    assert problem["eligible_from"] in problem["detail"]


def test_the_station_sees_bookings_and_a_no_show_is_shown_to_the_donor(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    key, _site_id, slot_id = _site_with_slot(client, db)
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
    auth = bearer(log_in(client))
    booked = client.post(
        BASE + "/api/v1/me/appointments", json={"slot_id": slot_id, "kind": "whole_blood"}, headers=auth
    ).json()
    day = signed(
        client, key, "GET", f"/api/v1/station/sites/WL01/bookings?date={TOMORROW.isoformat()}"
    ).json()
    [entry] = day["bookings"]
    assert (entry["id"], entry["name"], entry["id_number_masked"]) == (
        booked["id"],
        "王芳",
        "330***********1221",
    )
    marked = signed(
        client, key, "PUT", f"/api/v1/station/sites/WL01/bookings/{booked['id']}", {"status": "no_show"}
    )
    assert marked.json() == {"id": booked["id"], "status": "no_show"}
    mine = client.get(BASE + "/api/v1/me/appointments", headers=auth).json()
    assert mine["no_shows"] == 1 and mine["appointments"][0]["status"] == "no_show"


def test_a_donor_moves_a_booking_to_another_slot(client: TestClient, db: Database, signing: Signing) -> None:  # type: ignore[type-arg]
    key, site_id, slot_id = _site_with_slot(client, db)
    slots = put_slots(
        client, key, "WL01", [{"starts_at": "09:00", "capacity": 2}, {"starts_at": "11:00", "capacity": 1}]
    ).json()["slots"]
    later = slots[1]["id"]
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
    auth = bearer(log_in(client))
    booked = client.post(
        BASE + "/api/v1/me/appointments", json={"slot_id": slot_id, "kind": "whole_blood"}, headers=auth
    ).json()
    moved = client.patch(
        BASE + f"/api/v1/me/appointments/{booked['id']}", json={"slot_id": later}, headers=auth
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["slot_id"] == later
    slots = client.get(BASE + f"/api/v1/sites/{site_id}/slots", params={"date": TOMORROW.isoformat()}).json()[
        "slots"
    ]
    assert [s["booked"] for s in slots] == [0, 1]


def test_another_donors_booking_is_404(client: TestClient, db: Database, signing: Signing) -> None:  # type: ignore[type-arg]
    _key, _site_id, slot_id = _site_with_slot(client, db)
    seed(db, signing, [make_record(donation_no="W1", donated_at="2024-01-10T09:00:00+08:00")])
    seed(db, signing, [make_record(donation_no="L1", donor=LI_LEI, donated_at="2024-01-10T09:00:00+08:00")])
    wang = bearer(log_in(client))
    booked = client.post(
        BASE + "/api/v1/me/appointments", json={"slot_id": slot_id, "kind": "whole_blood"}, headers=wang
    ).json()
    li = bearer(log_in(client, donor=LI_LEI, donation_no="L1"))
    assert client.delete(BASE + f"/api/v1/me/appointments/{booked['id']}", headers=li).status_code == 404
    assert client.get(BASE + "/api/v1/me/appointments", headers=li).json()["appointments"] == []


def test_a_donor_past_60_is_refused_with_the_age_limit_and_no_date(
    client: TestClient, db: Database, signing: Signing
) -> None:  # type: ignore[type-arg]
    _key, _site_id, slot_id = _site_with_slot(client, db)
    old = {"id_number": "110105196001011220", "birth_date": "1960-01-01"}
    seed(db, signing, [make_record(donation_no="W1", donor=old, donated_at="2019-01-10T09:00:00+08:00")])
    response = client.post(
        BASE + "/api/v1/me/appointments",
        json={"slot_id": slot_id, "kind": "whole_blood"},
        headers=bearer(log_in(client, donor=WANG_FANG | old)),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "not_eligible" and "eligible_from" not in problem
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("age", "too_old")]
    assert "up to the age of 60" in problem["detail"]
