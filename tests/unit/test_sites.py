"""Site rules: validity, opening days, distances, and when a donor may book again."""

from __future__ import annotations

from datetime import date, time

from bloodcert.domain.donation_rules import Kind
from bloodcert.domain.eligibility import eligible_from
from bloodcert.domain.sites import (
    ScheduleStop,
    Site,
    SiteType,
    WeeklyHours,
    compass,
    haversine_km,
    site_problems,
)

MONDAY = WeeklyHours(1, time(8, 30), time(17, 0))
HOUSE = Site("WL01", "武林广场献血屋", SiteType.FIXED, "330105", 30.2741, 120.165, "武林广场1号", (MONDAY,))
STOP = ScheduleStop(date(2026, 12, 2), "浙大紫金港", 30.30, 120.09, time(9), time(15))
BUS = Site("BUS1", "献血车1号", SiteType.MOBILE, "330106", 30.26, 120.12, "西湖区", (), (STOP,))


def codes(site: Site) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in site_problems(site)}


def test_a_well_described_site_has_no_problems() -> None:
    assert site_problems(HOUSE) == [] and site_problems(BUS) == []


def test_a_retired_region_and_swapped_coordinates_are_problems() -> None:
    swapped = Site("X", "x", SiteType.FIXED, "330103", 120.165, 30.2741, "x", ())
    assert codes(swapped) == {("region", "unknown_region"), ("lat", "outside_china")}


def test_periods_sharing_time_on_one_day_overlap_but_touching_ones_do_not() -> None:
    touching = Site(
        "X", "x", SiteType.FIXED, "330105", 30.27, 120.16, "x", (MONDAY, WeeklyHours(1, time(17), time(20)))
    )
    assert codes(touching) == set()
    sharing = Site(
        "X", "x", SiteType.FIXED, "330105", 30.27, 120.16, "x", (MONDAY, WeeklyHours(1, time(16), time(20)))
    )
    assert codes(sharing) == {("hours[1]", "overlapping")}
    other_day = Site(
        "X", "x", SiteType.FIXED, "330105", 30.27, 120.16, "x", (MONDAY, WeeklyHours(2, time(9), time(12)))
    )
    assert codes(other_day) == set()


def test_only_a_mobile_site_has_a_schedule() -> None:
    house_with_stops = Site("X", "x", SiteType.FIXED, "330105", 30.27, 120.16, "x", (), (STOP,))
    assert ("schedule", "not_mobile") in codes(house_with_stops)


def test_a_house_is_open_on_its_weekdays_and_a_bus_on_its_dates_where_it_stands() -> None:
    assert HOUSE.open_on(date(2026, 11, 30)) and not HOUSE.open_on(date(2026, 12, 1))
    assert BUS.open_on(date(2026, 12, 2)) and not BUS.open_on(date(2026, 12, 3))
    assert BUS.position_on(date(2026, 12, 2)) == (30.30, 120.09)


def test_haversine_gives_the_known_distance_from_beijing_to_shanghai() -> None:
    # Tiananmen to the Bund: about 1067 km along the great circle.
    km = haversine_km((39.9087, 116.3975), (31.2400, 121.4900))
    assert 1060 < km < 1075
    assert haversine_km((30.0, 120.0), (30.0, 120.0)) == 0


def test_compass_points_the_way() -> None:
    assert compass((30.0, 120.0), (31.0, 120.0)) == "N"
    assert compass((30.0, 120.0), (30.0, 121.0)) == "E"
    assert compass((30.0, 120.0), (29.0, 119.0)) == "SW"


def test_whole_blood_3_months_ago_allows_whole_blood_only_after_6_months() -> None:
    history = [(Kind.WHOLE_BLOOD, date(2026, 9, 1))]
    assert eligible_from(history, Kind.WHOLE_BLOOD, date(2026, 12, 1)) == date(2027, 3, 1)
    assert eligible_from(history, Kind.PLATELETS, date(2026, 12, 1)) is None  # 3 months have passed
    assert eligible_from(history, Kind.WHOLE_BLOOD, date(2027, 3, 1)) is None
    assert eligible_from([], Kind.WHOLE_BLOOD, date(2026, 12, 1)) is None
