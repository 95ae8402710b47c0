"""check_record (docs/station-integration.md): every error and warning code, normalisation, derivation and the content hash."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bloodcert.domain.donation_rules import Kind
from bloodcert.domain.records import Checked, Status, check_record, content_hash
from tests.factories import WANG_FANG, make_record

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def with_check_char(body: str) -> str:
    """A resident ID from its 17-character body, check character computed here (GB 11643)."""
    return body + CHECK_CHARS[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def check(record: object, *, now: datetime = NOW) -> Checked:
    return check_record(record, now=now)


def errors(record: object) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in check(record).errors]


def warnings(record: object) -> list[tuple[str | None, str]]:
    return [(w.field, w.code) for w in check(record).warnings]


def with_path(path: str, value: Any) -> dict[str, Any]:
    """A valid record with one (possibly nested, dotted) field replaced."""
    record = make_record()
    node = record
    *parents, leaf = path.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = value
    return record


# --- a valid record ----------------------------------------------------------------------------------


def test_a_valid_record_passes_with_no_errors_or_warnings() -> None:
    checked = check(make_record(donation_no="A1"))
    assert checked.errors == []
    assert checked.warnings == []
    assert checked.donation_no == "A1"
    report = checked.report
    assert report is not None
    assert (report.donation_no, report.version, report.status) == ("A1", 1, Status.VALID)
    assert (report.kind, report.volume_ml, report.units) == (Kind.WHOLE_BLOOD, 400, None)
    assert report.donated_on == date(2024, 5, 1)
    assert report.donor.id_number == WANG_FANG["id_number"]


def test_a_valid_platelet_record_carries_units_and_no_volume() -> None:
    checked = check(make_record(kind="platelets", volume_ml=None, units=2))
    assert checked.errors == []
    assert checked.report is not None
    assert (checked.report.volume_ml, checked.report.units) == (None, 2)


def test_the_retired_region_330103_of_the_spec_example_is_accepted() -> None:
    checked = check(make_record(site={"name": "武林广场献血屋", "type": "fixed", "region": "330103"}))
    assert checked.errors == []
    assert checked.report is not None
    assert checked.report.site_region == "330103"


# --- missing_field -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "donation_no",
        "version",
        "status",
        "donated_at",
        "kind",
        "donor.id_type",
        "donor.id_number",
        "donor.name",
        "donor.abo",
        "site.name",
        "site.type",
        "site.region",
        "test_result",
    ],
)
def test_a_required_field_that_is_absent_is_a_missing_field(path: str) -> None:
    assert errors(with_path(path, None)) == [(path, "missing_field")]


def test_a_blank_string_counts_as_missing() -> None:
    assert errors(with_path("donor.name", "   ")) == [("donor.name", "missing_field")]


@pytest.mark.parametrize("kind", ["whole_blood", "plasma"])
def test_volume_is_required_for_whole_blood_and_plasma(kind: str) -> None:
    assert errors(make_record(kind=kind, volume_ml=None)) == [("volume_ml", "missing_field")]


def test_units_are_required_for_platelets() -> None:
    assert errors(make_record(kind="platelets", volume_ml=None, units=None)) == [("units", "missing_field")]


def test_sex_birth_date_and_rhd_are_optional() -> None:
    record = make_record()
    for key in ("sex", "birth_date", "rhd"):
        del record["donor"][key]
    assert errors(record) == []


# --- invalid_value -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status", "deleted"),
        ("kind", "red_cells"),
        ("site.type", "tent"),
        ("donor.abo", "C"),
        ("donor.abo", "a"),
        ("donor.rhd", "weak"),
        ("donor.sex", "X"),
        ("donor.id_type", "driving_licence"),
        ("test_result", "maybe"),
    ],
)
def test_an_unknown_enum_value_is_an_invalid_value(path: str, value: str) -> None:
    assert errors(with_path(path, value)) == [(path, "invalid_value")]


def test_an_enum_given_as_a_number_is_an_invalid_value() -> None:
    assert errors(make_record(kind=1)) == [("kind", "invalid_value")]


def test_three_platelet_units_are_an_invalid_value() -> None:
    assert errors(make_record(kind="platelets", volume_ml=None, units=3)) == [("units", "invalid_value")]


def test_zero_platelet_units_are_an_invalid_value() -> None:
    assert errors(make_record(kind="platelets", volume_ml=None, units=0)) == [("units", "invalid_value")]


def test_units_given_for_whole_blood_are_an_invalid_value() -> None:
    assert errors(make_record(units=1)) == [("units", "invalid_value")]


def test_a_volume_given_for_platelets_is_an_invalid_value() -> None:
    assert errors(make_record(kind="platelets", volume_ml=400, units=1)) == [("volume_ml", "invalid_value")]


@pytest.mark.parametrize("volume", [0, -200, 1001])
def test_a_volume_out_of_range_is_an_invalid_value(volume: int) -> None:
    assert errors(make_record(volume_ml=volume)) == [("volume_ml", "invalid_value")]


def test_version_zero_is_an_invalid_value() -> None:
    assert errors(make_record(version=0)) == [("version", "invalid_value")]


# --- invalid_format ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", True, 1.0, [1]])
def test_a_version_that_is_not_an_integer_is_an_invalid_format(version: object) -> None:
    assert errors(make_record(version=version)) == [("version", "invalid_format")]


@pytest.mark.parametrize("raw", [None, [], ["a record"], "a record", 42, True])
def test_a_record_that_is_not_an_object_is_an_invalid_format(raw: object) -> None:
    checked = check(raw)
    assert [(e.field, e.code) for e in checked.errors] == [("", "invalid_format")]
    assert checked.report is None
    assert checked.donation_no is None


@pytest.mark.parametrize(
    "donated_at", ["2024-05-01T09:30:00", "2024-05-01", "01/05/2024 09:30", "yesterday", 20240501]
)
def test_a_donation_time_without_a_utc_offset_or_unparseable_is_an_invalid_format(donated_at: object) -> None:
    assert errors(make_record(donated_at=donated_at)) == [("donated_at", "invalid_format")]


@pytest.mark.parametrize("birth_date", ["1990-1-1", "1990/01/01", "19900101", "1990-02-30", 19900101])
def test_a_malformed_birth_date_is_an_invalid_format(birth_date: object) -> None:
    assert errors(with_path("donor.birth_date", birth_date)) == [("donor.birth_date", "invalid_format")]


@pytest.mark.parametrize("region", ["33010", "3301030", "33O103", 330103])
def test_a_region_that_is_not_six_digits_is_an_invalid_format(region: object) -> None:
    assert errors(with_path("site.region", region)) == [("site.region", "invalid_format")]


@pytest.mark.parametrize(
    "number",
    [
        "33010619900101122",  # 17 characters
        "3301061990010112211",  # 19 characters
        "33010619900101122A",  # a letter other than X
        "330106199002301221",  # 30 February
        "990106199001011221",  # no such province
    ],
)
def test_a_malformed_resident_id_is_an_invalid_format(number: str) -> None:
    assert errors(with_path("donor.id_number", number)) == [("donor.id_number", "invalid_format")]


def test_a_donation_number_that_is_too_long_is_an_invalid_format() -> None:
    assert errors(make_record(donation_no="D" * 65)) == [("donation_no", "invalid_format")]


def test_a_name_with_control_characters_is_an_invalid_format() -> None:
    assert errors(with_path("donor.name", "王\x00芳")) == [("donor.name", "invalid_format")]


# --- invalid_checksum, contradicts_id ----------------------------------------------------------------


def test_a_resident_id_with_a_wrong_check_character_is_an_invalid_checksum() -> None:
    assert errors(with_path("donor.id_number", "330106199001011222")) == [
        ("donor.id_number", "invalid_checksum")
    ]


def test_a_sex_that_contradicts_the_resident_id_is_rejected() -> None:
    assert errors(with_path("donor.sex", "M")) == [("donor.sex", "contradicts_id")]


def test_a_birth_date_that_contradicts_the_resident_id_is_rejected() -> None:
    assert errors(with_path("donor.birth_date", "1990-01-02")) == [("donor.birth_date", "contradicts_id")]


def test_a_passport_carries_no_sex_or_birth_date_to_contradict() -> None:
    record = make_record(
        donor={"id_type": "passport", "id_number": "E12345678", "sex": "M", "birth_date": "1970-06-15"}
    )
    assert errors(record) == []


# --- unknown_region, future_date ---------------------------------------------------------------------


def test_a_six_digit_code_outside_gb_t_2260_is_an_unknown_region() -> None:
    assert errors(with_path("site.region", "999999")) == [("site.region", "unknown_region")]


@pytest.mark.parametrize("code", ["330113", "330114", "500157", "540481"])
def test_a_donation_in_a_district_created_since_2021_is_accepted(code: str) -> None:
    # 杭州市临平区 and 钱塘区 (2021), 重庆市两江新区 (2025), 米林市 (2023).
    assert errors(with_path("site.region", code)) == []


def test_a_donation_in_the_future_is_a_future_date() -> None:
    later = (NOW + timedelta(hours=1)).isoformat()
    assert errors(make_record(donated_at=later)) == [("donated_at", "future_date")]


def test_a_station_clock_a_little_fast_is_tolerated() -> None:
    assert errors(make_record(donated_at=(NOW + timedelta(minutes=2)).isoformat())) == []


def test_the_future_is_judged_in_absolute_time_whatever_the_offset() -> None:
    # 15:30 at +08:00 is 07:30 UTC, before NOW (08:00 UTC), though "15:30" reads later than "08:00".
    assert errors(make_record(donated_at="2026-11-27T15:30:00+08:00")) == []
    assert errors(make_record(donated_at="2026-11-27T16:30:00+08:00")) == [("donated_at", "future_date")]


def test_a_birth_date_in_the_future_is_a_future_date() -> None:
    record = make_record(donor={"id_type": "passport", "id_number": "E12345678", "birth_date": "2027-01-01"})
    assert errors(record) == [("donor.birth_date", "future_date")]


# --- several problems at once ------------------------------------------------------------------------


def test_every_problem_in_one_record_is_reported_not_only_the_first() -> None:
    record = make_record(
        donation_no="A1",
        version=0,
        status="deleted",
        kind="whole_blood",
        volume_ml=None,
        units=2,
        donated_at=(NOW + timedelta(days=1)).isoformat(),
        site={"name": "", "type": "tent", "region": "999999"},
        test_result="maybe",
        donor={"sex": "M", "abo": "C"},
    )
    checked = check(record)
    assert checked.report is None
    assert checked.donation_no == "A1"
    assert sorted((e.field, e.code) for e in checked.errors) == sorted(
        [
            ("version", "invalid_value"),
            ("status", "invalid_value"),
            ("donor.abo", "invalid_value"),
            ("donor.sex", "contradicts_id"),
            ("donated_at", "future_date"),
            ("volume_ml", "missing_field"),
            ("units", "invalid_value"),
            ("site.name", "missing_field"),
            ("site.type", "invalid_value"),
            ("site.region", "unknown_region"),
            ("test_result", "invalid_value"),
        ]
    )


def test_a_rejected_record_reports_no_warnings() -> None:
    checked = check(make_record(volume_ml=350, version=0))
    assert checked.warnings == []


# --- warnings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("volume", [100, 250, 350, 450])
def test_whole_blood_other_than_200_300_or_400_ml_is_accepted_with_a_nonstandard_volume_warning(
    volume: int,
) -> None:
    checked = check(make_record(volume_ml=volume))
    assert checked.errors == []
    assert checked.report is not None
    assert checked.report.volume_ml == volume
    assert [(w.field, w.code) for w in checked.warnings] == [("volume_ml", "nonstandard_volume")]


@pytest.mark.parametrize("volume", [200, 300, 400])
def test_standard_whole_blood_volumes_raise_no_warning(volume: int) -> None:
    assert warnings(make_record(volume_ml=volume)) == []


def test_plasma_volume_is_not_held_to_the_whole_blood_standard() -> None:
    assert warnings(make_record(kind="plasma", volume_ml=600)) == []


def test_a_donor_under_18_on_the_donation_date_is_accepted_with_an_age_warning() -> None:
    checked = check(make_record(donated_at="2007-12-31T09:30:00+08:00"))  # born 1990-01-01: 17
    assert checked.report is not None
    assert [(w.field, w.code) for w in checked.warnings] == [("donor.birth_date", "age_out_of_range")]


def test_a_donor_on_their_18th_birthday_raises_no_age_warning() -> None:
    assert warnings(make_record(donated_at="2008-01-01T09:30:00+08:00")) == []


def test_a_donor_over_60_is_accepted_with_an_age_warning() -> None:
    number = with_check_char("11010519500101002")
    record = make_record(donor={"id_number": number, "sex": "F", "birth_date": "1950-01-01"})
    checked = check(record)
    assert checked.errors == []
    assert [w.code for w in checked.warnings] == ["age_out_of_range"]


def test_the_age_warning_uses_the_birth_date_read_from_the_resident_id() -> None:
    record = make_record(donated_at="2007-12-31T09:30:00+08:00")
    del record["donor"]["birth_date"]
    assert [w.code for w in check(record).warnings] == ["age_out_of_range"]


def test_both_warnings_can_apply_to_one_record() -> None:
    record = make_record(volume_ml=350, donated_at="2007-05-01T09:30:00+08:00")
    assert sorted(code for _, code in warnings(record)) == ["age_out_of_range", "nonstandard_volume"]


# --- normalisation and derivation --------------------------------------------------------------------


def test_full_width_digits_spaces_and_hyphens_in_an_id_number_are_normalised() -> None:
    fullwidth = "３３０１０６ １９９００１０１－１２２１"
    checked = check(make_record(donor={"id_number": fullwidth}))
    assert checked.errors == []
    assert checked.report is not None
    assert checked.report.donor.id_number == "330106199001011221"


def test_a_lower_case_x_check_character_is_normalised() -> None:
    number = with_check_char("11010519800101069")
    assert number.endswith("X"), "the fixture must end with the X check character"
    checked = check(make_record(donor={"id_number": number.lower(), "sex": "M", "birth_date": "1980-01-01"}))
    assert checked.errors == []
    assert checked.report is not None
    assert checked.report.donor.id_number == number


def test_sex_and_birth_date_are_read_from_the_resident_id_when_absent() -> None:
    record = make_record()
    del record["donor"]["sex"]
    record["donor"]["birth_date"] = None
    checked = check(record)
    assert checked.report is not None
    assert checked.report.donor.sex == "F"
    assert checked.report.donor.birth_date == date(1990, 1, 1)


def test_sex_and_birth_date_stay_unknown_for_a_passport_that_does_not_give_them() -> None:
    record = make_record(donor={"id_type": "passport", "id_number": "e1234567 8"})
    del record["donor"]["sex"]
    del record["donor"]["birth_date"]
    checked = check(record)
    assert checked.report is not None
    assert checked.report.donor.id_number == "E12345678"
    assert (checked.report.donor.sex, checked.report.donor.birth_date) == (None, None)


def test_text_fields_are_trimmed() -> None:
    checked = check(make_record(donation_no="  A1  ", donor={"name": " 王芳 "}))
    assert checked.report is not None
    assert (checked.report.donation_no, checked.report.donor.name) == ("A1", "王芳")


def test_the_donation_date_is_the_calendar_date_where_it_happened() -> None:
    checked = check(make_record(donated_at="2024-05-01T07:30:00+08:00"))  # 2024-04-30 23:30 UTC
    assert checked.report is not None
    assert checked.report.donated_on == date(2024, 5, 1)


# --- the content hash --------------------------------------------------------------------------------


def test_the_content_hash_ignores_key_order_at_every_level() -> None:
    record = make_record(donation_no="A1")
    reordered = dict(reversed(list(record.items())))
    reordered["donor"] = dict(reversed(list(record["donor"].items())))
    reordered["site"] = dict(reversed(list(record["site"].items())))
    assert content_hash(reordered) == content_hash(record)
    first, second = check(record).report, check(reordered).report
    assert first is not None
    assert second is not None
    assert first.content_hash == second.content_hash


def test_the_content_hash_ignores_the_station_key() -> None:
    record = make_record(donation_no="A1")
    assert content_hash({**record, "station": "33000001"}) == content_hash(record)
    assert content_hash({**record, "station": "11000001"}) == content_hash(record)


def test_the_content_hash_changes_with_the_content() -> None:
    record = make_record(donation_no="A1")
    assert content_hash({**record, "volume_ml": 300}) != content_hash(record)
    changed = copy.deepcopy(record)
    changed["donor"]["rhd"] = "negative"
    assert content_hash(changed) != content_hash(record)


# --- privacy -----------------------------------------------------------------------------------------

PRIVATE_NUMBER = "330106199001011221"


@pytest.mark.parametrize(
    "donor",
    [
        {"id_number": "330106199001011222"},  # invalid_checksum
        {"id_number": "33010619900101122"},  # invalid_format
        {"id_number": "330106199002301221"},  # impossible date
        {"sex": "M", "birth_date": "1990-01-02"},  # contradicts_id twice
        {"id_number": "３３０１０６１９９００１０１１２２２"},  # full-width, bad check character
        {"id_type": "passport", "id_number": "E1-2!"},
        {"id_type": "hk_macao_permit", "id_number": PRIVATE_NUMBER},
        {"id_type": "foreign_permanent_resident", "id_number": "9" + PRIVATE_NUMBER[1:]},
    ],
)
def test_messages_never_contain_the_id_number(donor: dict[str, str]) -> None:
    record = make_record(donor=donor, volume_ml=350, donated_at="2007-05-01T09:30:00+08:00")
    checked = check(record)
    assert checked.errors, "each case must be rejected"
    number = donor.get("id_number", PRIVATE_NUMBER)
    compact = "".join(number.split())
    messages = [e.message for e in checked.errors] + [w.message for w in checked.warnings]
    for message in messages:
        for secret in (number, compact, PRIVATE_NUMBER, PRIVATE_NUMBER[:-1], PRIVATE_NUMBER[6:14]):
            assert secret not in message


def test_warning_messages_never_contain_the_id_number_or_birth_date() -> None:
    checked = check(make_record(volume_ml=350, donated_at="2007-05-01T09:30:00+08:00"))
    assert len(checked.warnings) == 2
    for warning in checked.warnings:
        assert PRIVATE_NUMBER not in warning.message
        assert "1990" not in warning.message
