from collections import Counter

from bloodcert.domain.regions import get_region, is_known_region, mainland_provinces
from bloodcert.domain.stations import StationSeed, builtin_stations


def test_there_are_exactly_452_builtin_stations_sorted_by_code() -> None:
    stations = builtin_stations()
    assert len(stations) == 452
    assert [s.code for s in stations] == sorted(s.code for s in stations)


def test_station_codes_and_names_are_unique() -> None:
    stations = builtin_stations()
    assert len({s.code for s in stations}) == 452
    assert len({s.name for s in stations}) == 452


def test_every_station_code_is_its_region_code_and_a_sequence_number() -> None:
    for station in builtin_stations():
        assert len(station.code) == 8
        assert station.code.isdigit()
        assert station.code[:6] == station.region


def test_every_station_region_is_known_and_on_the_mainland() -> None:
    mainland = {p.code[:2] for p in mainland_provinces()}
    for station in builtin_stations():
        assert is_known_region(station.region), station
        assert station.region[:2] in mainland


def test_the_stations_cover_all_31_mainland_provinces() -> None:
    covered = {s.region[:2] for s in builtin_stations()}
    assert covered == {p.code[:2] for p in mainland_provinces()}


def test_every_province_has_exactly_one_blood_centre() -> None:
    centres = Counter(s.region[:2] for s in builtin_stations() if s.tier == "blood_centre")
    assert len(centres) == 31
    assert set(centres.values()) == {1}


def test_tiers_sit_at_province_prefecture_and_county_level() -> None:
    levels = {"blood_centre": "province", "central_station": "prefecture", "central_bank": "county"}
    for station in builtin_stations():
        region = get_region(station.region)
        assert region is not None
        assert region.level == levels[station.tier], station


def test_named_stations_follow_the_national_pattern() -> None:
    by_code = {s.code: s for s in builtin_stations()}
    assert by_code["33000001"] == StationSeed("33000001", "浙江省血液中心", "blood_centre", "330000")
    assert by_code["33020001"] == StationSeed("33020001", "宁波市中心血站", "central_station", "330200")
    assert by_code["11000001"].name == "北京市血液中心"


def test_a_provincial_capital_is_served_by_its_blood_centre_only() -> None:
    assert not any(s.region == "330100" for s in builtin_stations())


def test_central_blood_banks_are_in_remote_counties() -> None:
    banks = [s for s in builtin_stations() if s.tier == "central_bank"]
    assert banks
    assert all(s.name.endswith("中心血库") for s in banks)
    assert {s.region[:2] for s in banks} <= {"15", "51", "54", "63", "65"}


def test_the_caller_cannot_change_the_builtin_list() -> None:
    builtin_stations().clear()
    assert len(builtin_stations()) == 452
