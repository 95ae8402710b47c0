from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bloodcert.domain.identity import (
    FieldProblem,
    IdType,
    id_birth_date,
    id_sex,
    identity_key,
    mask_id_number,
    merge_key,
    normalize_id_number,
    normalize_name,
    validate_id_number,
)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
PROVINCES = [
    *range(11, 16),
    *range(21, 24),
    *range(31, 38),
    *range(41, 47),
    *range(50, 55),
    *range(61, 66),
    71,
]
TODAY = date(2025, 6, 1)

FEMALE_ID = "330106199001011221"
OTHER_FEMALE_ID = "110105198503150043"


def with_check_char(body: str) -> str:
    """Append the GB 11643 check character, computed here independently of the module under test."""
    return body + CHECK_CHARS[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def with_other_check_char(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def codes(problems: list[FieldProblem]) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in problems]


def check(
    id_type: IdType,
    number: str,
    *,
    sex: str | None = None,
    birth_date: date | None = None,
    today: date = TODAY,
) -> list[tuple[str, str]]:
    return codes(validate_id_number(id_type, number, sex=sex, birth_date=birth_date, today=today))


def first_ending_in_x(bodies: list[str]) -> str:
    return next(n for n in map(with_check_char, bodies) if n.endswith("X"))


MALE_ID = with_check_char("11010519850315001")
HK_RESIDENCE_PERMIT = with_check_char("81000019900101002")
TAIWAN_RESIDENCE_PERMIT = with_check_char("83000020000229003")
# The 2023 foreign permanent residence ID uses the same MOD 11-2 check as the resident ID.
FOREIGN_2023 = with_check_char("91108401990010100")


# Resident ID (居民身份证)


@pytest.mark.parametrize("number", [FEMALE_ID, OTHER_FEMALE_ID, MALE_ID])
def test_resident_id_from_the_domain_examples_is_valid(number: str) -> None:
    assert check(IdType.RESIDENT_ID, number) == []


def test_resident_id_with_x_check_character_is_valid() -> None:
    number = first_ending_in_x([f"110105198001010{i:02d}" for i in range(100)])
    assert check(IdType.RESIDENT_ID, number) == []


@pytest.mark.parametrize("number", [FEMALE_ID, OTHER_FEMALE_ID, MALE_ID])
def test_resident_id_with_wrong_check_character_is_rejected(number: str) -> None:
    assert check(IdType.RESIDENT_ID, with_other_check_char(number)) == [
        ("donor.id_number", "invalid_checksum")
    ]


@pytest.mark.parametrize(
    "number",
    [
        "33010619900101122",
        "3301061990010112210",
        "33010619900101122A",
        "3301061990X1011221",
        "33010619900101122x",
        "３３０１０６１９９００１０１１２２１",
    ],
)
def test_resident_id_of_wrong_length_or_characters_is_a_format_problem(number: str) -> None:
    assert check(IdType.RESIDENT_ID, number) == [("donor.id_number", "invalid_format")]


@pytest.mark.parametrize("body", ["11010519900230004", "11010519901301004", "11010519000229004"])
def test_resident_id_with_impossible_birth_date_is_a_format_problem(body: str) -> None:
    assert check(IdType.RESIDENT_ID, with_check_char(body)) == [("donor.id_number", "invalid_format")]


def test_resident_id_born_on_leap_day_is_valid() -> None:
    assert check(IdType.RESIDENT_ID, with_check_char("11010520000229004")) == []


def test_resident_id_with_birth_date_in_the_future_is_rejected() -> None:
    number = with_check_char("11010520250602004")
    assert check(IdType.RESIDENT_ID, number) == [("donor.id_number", "invalid_format")]
    assert check(IdType.RESIDENT_ID, number, today=date(2025, 6, 2)) == []


@pytest.mark.parametrize(
    "prefix", ["00", "10", "16", "20", "39", "47", "55", "66", "72", "81", "82", "83", "99"]
)
def test_resident_id_with_unknown_province_is_rejected(prefix: str) -> None:
    problems = validate_id_number(
        IdType.RESIDENT_ID, with_check_char(f"{prefix}010519900101002"), sex=None, birth_date=None
    )
    assert codes(problems) == [("donor.id_number", "invalid_format")]
    assert problems[0].message == "unknown address code"


@pytest.mark.parametrize("prefix", [str(p) for p in PROVINCES])
def test_resident_id_from_every_real_province_is_valid(prefix: str) -> None:
    assert check(IdType.RESIDENT_ID, with_check_char(f"{prefix}010519900101002")) == []


def test_resident_id_with_retired_county_code_is_still_valid() -> None:
    # 330103 (杭州市下城区) was merged away in 2021; people keep their old numbers.
    assert check(IdType.RESIDENT_ID, with_check_char("33010319700101002")) == []


def test_resident_id_uses_the_given_field_name() -> None:
    problems = validate_id_number(
        IdType.RESIDENT_ID, "123", sex=None, birth_date=None, field="donations[3].donor.id_number"
    )
    assert codes(problems) == [("donations[3].donor.id_number", "invalid_format")]


# Sex and birth date contradictions


def test_resident_id_agreeing_with_sex_and_birth_date_has_no_problems() -> None:
    assert check(IdType.RESIDENT_ID, FEMALE_ID, sex="F", birth_date=date(1990, 1, 1)) == []
    assert check(IdType.RESIDENT_ID, MALE_ID, sex="M", birth_date=date(1985, 3, 15)) == []


def test_female_resident_id_given_as_male_contradicts_the_id() -> None:
    assert check(IdType.RESIDENT_ID, FEMALE_ID, sex="M") == [("donor.sex", "contradicts_id")]


def test_male_resident_id_given_as_female_contradicts_the_id() -> None:
    assert check(IdType.RESIDENT_ID, MALE_ID, sex="F") == [("donor.sex", "contradicts_id")]


def test_other_birth_date_contradicts_the_id() -> None:
    assert check(IdType.RESIDENT_ID, FEMALE_ID, birth_date=date(1990, 1, 2)) == [
        ("donor.birth_date", "contradicts_id")
    ]


def test_both_sex_and_birth_date_contradictions_are_reported() -> None:
    assert check(IdType.RESIDENT_ID, FEMALE_ID, sex="M", birth_date=date(1991, 1, 1)) == [
        ("donor.sex", "contradicts_id"),
        ("donor.birth_date", "contradicts_id"),
    ]


def test_invalid_resident_id_is_not_cross_checked() -> None:
    assert check(
        IdType.RESIDENT_ID, with_other_check_char(FEMALE_ID), sex="M", birth_date=date(2000, 1, 1)
    ) == [("donor.id_number", "invalid_checksum")]


def test_residence_permit_is_cross_checked_like_a_resident_id() -> None:
    assert check(IdType.HMT_RESIDENCE_PERMIT, HK_RESIDENCE_PERMIT, sex="M", birth_date=date(1990, 1, 2)) == [
        ("donor.sex", "contradicts_id"),
        ("donor.birth_date", "contradicts_id"),
    ]


def test_documents_without_encoded_sex_are_never_contradicted() -> None:
    assert check(IdType.PASSPORT, "E12345678", sex="M", birth_date=date(1990, 1, 1)) == []


def test_birth_date_and_sex_are_read_from_a_resident_id() -> None:
    assert id_birth_date(IdType.RESIDENT_ID, FEMALE_ID) == date(1990, 1, 1)
    assert id_sex(IdType.RESIDENT_ID, FEMALE_ID) == "F"
    assert id_birth_date(IdType.RESIDENT_ID, MALE_ID) == date(1985, 3, 15)
    assert id_sex(IdType.RESIDENT_ID, MALE_ID) == "M"


def test_birth_date_and_sex_are_read_from_a_residence_permit() -> None:
    assert id_birth_date(IdType.HMT_RESIDENCE_PERMIT, TAIWAN_RESIDENCE_PERMIT) == date(2000, 2, 29)
    assert id_sex(IdType.HMT_RESIDENCE_PERMIT, TAIWAN_RESIDENCE_PERMIT) == "M"


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        (IdType.RESIDENT_ID, with_other_check_char(FEMALE_ID)),
        (IdType.RESIDENT_ID, "1234"),
        (IdType.RESIDENT_ID, with_check_char("11010519900230004")),
        (IdType.RESIDENT_ID, HK_RESIDENCE_PERMIT),
        (IdType.HMT_RESIDENCE_PERMIT, FEMALE_ID),
        (IdType.PASSPORT, FEMALE_ID),
        (IdType.FOREIGN_PERMANENT_RESIDENT, FOREIGN_2023),
    ],
)
def test_birth_date_and_sex_are_unknown_for_invalid_numbers_and_other_documents(
    id_type: IdType, number: str
) -> None:
    assert id_birth_date(id_type, number) is None
    assert id_sex(id_type, number) is None


# Residence permit for Hong Kong, Macao and Taiwan residents (港澳台居民居住证)


@pytest.mark.parametrize("body", ["81000019900101002", "82000019851231001", "83000020000229003"])
def test_residence_permit_with_hk_macao_or_taiwan_address_code_is_valid(body: str) -> None:
    assert check(IdType.HMT_RESIDENCE_PERMIT, with_check_char(body)) == []


@pytest.mark.parametrize("body", ["11010519900101002", "81010519900101002", "84000019900101002"])
def test_residence_permit_with_other_address_code_is_rejected(body: str) -> None:
    assert check(IdType.HMT_RESIDENCE_PERMIT, with_check_char(body)) == [
        ("donor.id_number", "invalid_format")
    ]


def test_residence_permit_with_wrong_check_character_is_rejected() -> None:
    assert check(IdType.HMT_RESIDENCE_PERMIT, with_other_check_char(HK_RESIDENCE_PERMIT)) == [
        ("donor.id_number", "invalid_checksum")
    ]


# Other document types


@pytest.mark.parametrize("number", ["H12345678", "M00000001"])
def test_hk_macao_permit_of_h_or_m_and_eight_digits_is_valid(number: str) -> None:
    assert check(IdType.HK_MACAO_PERMIT, number) == []


@pytest.mark.parametrize(
    "number", ["H1234567", "H123456789", "H1234567890", "K12345678", "h12345678", "12345678"]
)
def test_hk_macao_permit_of_other_shape_is_rejected(number: str) -> None:
    assert check(IdType.HK_MACAO_PERMIT, number) == [("donor.id_number", "invalid_format")]


def test_taiwan_permit_of_eight_digits_is_valid() -> None:
    assert check(IdType.TAIWAN_PERMIT, "01234567") == []


@pytest.mark.parametrize("number", ["1234567", "123456789", "T1234567", "１２３４５６７８"])
def test_taiwan_permit_of_other_shape_is_rejected(number: str) -> None:
    assert check(IdType.TAIWAN_PERMIT, number) == [("donor.id_number", "invalid_format")]


@pytest.mark.parametrize("number", [FOREIGN_2023, "USA330619900101"])
def test_foreign_permanent_residence_id_of_either_version_is_valid(number: str) -> None:
    assert check(IdType.FOREIGN_PERMANENT_RESIDENT, number) == []


def test_foreign_permanent_residence_id_with_x_check_character_is_valid() -> None:
    number = first_ending_in_x([f"911084019900101{i:02d}" for i in range(100)])
    assert check(IdType.FOREIGN_PERMANENT_RESIDENT, number) == []


def test_foreign_permanent_residence_id_with_wrong_check_character_is_rejected() -> None:
    assert check(IdType.FOREIGN_PERMANENT_RESIDENT, with_other_check_char(FOREIGN_2023)) == [
        ("donor.id_number", "invalid_checksum")
    ]


@pytest.mark.parametrize(
    "number",
    [
        "811084019900101003",
        "91108401990010100",
        "9110840199001010A3",
        "US3306199001011",
        "USA33061990010",
        "usa330619900101",
    ],
)
def test_foreign_permanent_residence_id_of_other_shape_is_rejected(number: str) -> None:
    assert check(IdType.FOREIGN_PERMANENT_RESIDENT, number) == [("donor.id_number", "invalid_format")]


@pytest.mark.parametrize("number", ["E1234", "E12345678", "G1234567890123456", "12345"])
def test_passport_of_five_to_seventeen_letters_or_digits_is_valid(number: str) -> None:
    assert check(IdType.PASSPORT, number) == []


@pytest.mark.parametrize("number", ["E123", "E12345678901234567", "e12345678", "E1234/678", "E１２３４５"])
def test_passport_of_other_shape_is_rejected(number: str) -> None:
    assert check(IdType.PASSPORT, number) == [("donor.id_number", "invalid_format")]


@pytest.mark.parametrize("number", ["南字第12345678号", "1", "ABC123", "军字第0001号"])
def test_military_id_of_digits_letters_or_chinese_characters_is_valid(number: str) -> None:
    assert check(IdType.MILITARY, number) == []


@pytest.mark.parametrize("number", ["南字第12345678号-1", "a123", "1" * 21, "南字(1)"])
def test_military_id_of_other_shape_is_rejected(number: str) -> None:
    assert check(IdType.MILITARY, number) == [("donor.id_number", "invalid_format")]


@pytest.mark.parametrize("number", ["X", "ab-12/34 (x)", "证件 1", "Z" * 32])
def test_other_document_of_up_to_32_printable_characters_is_valid(number: str) -> None:
    assert check(IdType.OTHER, number) == []


@pytest.mark.parametrize("number", ["Z" * 33, "AB\n12", "AB\x0012"])
def test_other_document_too_long_or_unprintable_is_rejected(number: str) -> None:
    assert check(IdType.OTHER, number) == [("donor.id_number", "invalid_format")]


@pytest.mark.parametrize("id_type", list(IdType))
def test_empty_number_of_any_type_is_missing(id_type: IdType) -> None:
    assert check(id_type, "") == [("donor.id_number", "missing_field")]


# Messages never reveal the number


INVALID_NUMBERS = [
    (IdType.RESIDENT_ID, with_other_check_char(FEMALE_ID)),
    (IdType.RESIDENT_ID, "33010619900101122"),
    (IdType.RESIDENT_ID, with_check_char("11010519900230004")),
    (IdType.RESIDENT_ID, with_check_char("11010520300101004")),
    (IdType.RESIDENT_ID, with_check_char("99010519900101002")),
    (IdType.HMT_RESIDENCE_PERMIT, FEMALE_ID),
    (IdType.HMT_RESIDENCE_PERMIT, with_other_check_char(HK_RESIDENCE_PERMIT)),
    (IdType.HK_MACAO_PERMIT, "K12345678"),
    (IdType.TAIWAN_PERMIT, "123456789"),
    (IdType.FOREIGN_PERMANENT_RESIDENT, with_other_check_char(FOREIGN_2023)),
    (IdType.FOREIGN_PERMANENT_RESIDENT, "USA33061990010"),
    (IdType.PASSPORT, "E12345678/"),
    (IdType.MILITARY, "南字第12345678号-1"),
    (IdType.OTHER, "Z" * 33),
]


@pytest.mark.parametrize(("id_type", "number"), INVALID_NUMBERS)
def test_problem_messages_never_contain_the_number(id_type: IdType, number: str) -> None:
    problems = validate_id_number(id_type, number, sex="M", birth_date=date(1990, 1, 1), today=TODAY)
    assert problems
    for problem in problems:
        assert number not in problem.message
        assert number[-4:] not in problem.message


def test_contradiction_messages_never_contain_the_number() -> None:
    problems = validate_id_number(IdType.RESIDENT_ID, FEMALE_ID, sex="M", birth_date=date(2000, 1, 1))
    assert len(problems) == 2
    assert all(FEMALE_ID not in p.message and "1221" not in p.message for p in problems)


# Normalisation and keys


def test_full_width_digits_and_spaces_normalise_to_the_plain_number() -> None:
    assert normalize_id_number("３３０１０６　１９９００１０１　１２２ｘ") == "33010619900101122X"


@pytest.mark.parametrize(
    "raw",
    [
        "330106-19900101-1221",
        " 330 106 1990 0101 1221 ",
        "330106\t19900101\n1221",
        "３３０１０６－１９９００１０１－１２２１",
        "330106\u200b19900101\ufeff1221",
    ],
)
def test_separators_and_invisible_characters_are_removed_from_numbers(raw: str) -> None:
    assert normalize_id_number(raw) == FEMALE_ID


def test_latin_numbers_are_upper_cased() -> None:
    assert normalize_id_number("ｅ１２３ ４５６７８") == "E12345678"
    assert normalize_id_number("h12345678") == "H12345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("王 芳", "王芳"),
        ("  王\u3000\u3000芳 ", "王芳"),
        ("john smith", "JOHN SMITH"),
        ("JOHN  SMITH", "JOHN SMITH"),
        ("Ｊｏｈｎ　Ｓｍｉｔｈ", "JOHN SMITH"),
        ("艾力・买买提", "艾力·买买提"),
        ("艾力•买买提", "艾力·买买提"),
        ("艾力 · 买买提", "艾力·买买提"),
        ("艾力･买买提", "艾力·买买提"),
        ("王 John", "王 JOHN"),
    ],
)
def test_names_are_normalised(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_full_width_number_and_spaced_name_give_the_same_merge_key() -> None:
    plain = merge_key(IdType.RESIDENT_ID, FEMALE_ID, "王芳", "A")
    assert merge_key(IdType.RESIDENT_ID, "３３０１０６　１９９００１０１　１２２１", "王 芳", "Ａ") == plain
    assert plain == "resident_id|330106199001011221|王芳|A"


def test_case_of_latin_names_does_not_change_the_merge_key() -> None:
    assert merge_key(IdType.PASSPORT, "e12345678", "john smith", "ab") == merge_key(
        IdType.PASSPORT, "E12345678", "JOHN  SMITH", "AB"
    )


def test_other_blood_type_gives_another_merge_key() -> None:
    assert merge_key(IdType.RESIDENT_ID, FEMALE_ID, "王芳", "A") != merge_key(
        IdType.RESIDENT_ID, FEMALE_ID, "王芳", "B"
    )


def test_other_document_type_with_same_number_gives_another_merge_key() -> None:
    assert merge_key(IdType.TAIWAN_PERMIT, "01234567", "林美", "O") != merge_key(
        IdType.OTHER, "01234567", "林美", "O"
    )


def test_a_bar_inside_a_part_cannot_make_two_donors_share_a_merge_key() -> None:
    assert merge_key(IdType.OTHER, "X|Y", "Z", "O") != merge_key(IdType.OTHER, "X", "Y|Z", "O")


def test_identity_key_is_type_and_normalised_number() -> None:
    assert identity_key(IdType.RESIDENT_ID, "330106 19900101 1221") == "resident_id:330106199001011221"
    assert identity_key(IdType.HK_MACAO_PERMIT, "ｈ１２３４５６７８") == "hk_macao_permit:H12345678"


# Masking


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        (FEMALE_ID, "330***********1221"),
        ("330106 19900101 1221", "330***********1221"),
        ("H12345678", "H12**5678"),
        ("E12345678", "E12**5678"),
        ("01234567", "012*4567"),
        ("1234567", "*****67"),
        ("1234", "**34"),
        ("123", "**3"),
        ("12", "*2"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_numbers_are_masked(number: str, masked: str) -> None:
    assert mask_id_number(number) == masked


@pytest.mark.parametrize("length", range(1, 40))
def test_masking_never_reveals_a_number_whole(length: int) -> None:
    number = "".join(str(i % 10) for i in range(length))
    masked = mask_id_number(number)
    assert len(masked) == length
    assert masked != number
    assert "*" in masked


# Property


@st.composite
def resident_id_bodies(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(PROVINCES))
    rest_of_address = draw(st.integers(0, 9999))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(0, 999))
    return f"{province:02d}{rest_of_address:04d}{birth:%Y%m%d}{sequence:03d}"


@given(body=resident_id_bodies(), data=st.data())
def test_computed_check_character_validates_and_any_other_is_a_checksum_problem(
    body: str, data: st.DataObject
) -> None:
    number = with_check_char(body)
    assert check(IdType.RESIDENT_ID, number) == []
    wrong = data.draw(st.sampled_from([c for c in "0123456789X" if c != number[-1]]))
    assert check(IdType.RESIDENT_ID, body + wrong) == [("donor.id_number", "invalid_checksum")]
