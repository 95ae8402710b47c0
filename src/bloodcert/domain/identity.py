"""Identity documents (证件): normalisation, validation, masking and the cross-station merge key."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_2


class IdType(StrEnum):
    """证件类型: the kind of identity document a donor presents."""

    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident"
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
    MILITARY = "military"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one input field; `message` never repeats the ID number."""

    field: str
    code: str
    message: str


# Only these documents encode the holder's birth date and sex.
_ENCODING_TYPES = frozenset({IdType.RESIDENT_ID, IdType.HMT_RESIDENCE_PERMIT})

SEX_FIELD = "donor.sex"
BIRTH_DATE_FIELD = "donor.birth_date"

# GB/T 2260 province-level prefixes. 81/82/83 (HK, Macao, Taiwan) belong to the residence permit only.
_RESIDENT_PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66), 71]
)
_HMT_ADDRESS_CODES = frozenset({"810000", "820000", "830000"})

_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
_EIGHTEEN_CHAR_RE = re.compile(r"[0-9]{17}[0-9X]")
_HK_MACAO_RE = re.compile(r"[HM][0-9]{8}")
_TAIWAN_RE = re.compile(r"[0-9]{8}")
_FOREIGN_2023_RE = re.compile(r"9[0-9]{16}[0-9X]")
_FOREIGN_2017_RE = re.compile(r"[A-Z]{3}[0-9]{12}")
_PASSPORT_RE = re.compile(r"[A-Z0-9]{5,17}")
_MILITARY_RE = re.compile(rf"[0-9A-Z{_CJK}]{{1,20}}")

_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_MIDDLE_DOTS_RE = re.compile("[\u00b7\u2022\u2027\u30fb\uff65]")
_SPACE_BETWEEN_CJK_RE = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")
_SPACE_AROUND_DOT_RE = re.compile(" ?\u00b7 ?")


def normalize_id_number(raw: str) -> str:
    """NFKC (full-width → half-width), remove all whitespace (incl. U+3000) and hyphens, upper-case."""
    if raw.isascii() and raw.isalnum():
        return raw.upper()  # the common case, already clean: skip the per-character walk
    text = unicodedata.normalize("NFKC", raw)
    # Numbers pasted from spreadsheets and chat apps often carry zero-width characters (category Cf).
    kept = (c for c in text if not c.isspace() and c not in _HYPHENS and unicodedata.category(c) != "Cf")
    return "".join(kept).upper()


def normalize_name(raw: str) -> str:
    """NFKC, collapse whitespace, drop spaces between CJK characters, upper-case Latin, unify middle dots."""
    text = " ".join(unicodedata.normalize("NFKC", raw).split())
    text = _MIDDLE_DOTS_RE.sub("\u00b7", text)
    text = _SPACE_AROUND_DOT_RE.sub("\u00b7", text)
    return _SPACE_BETWEEN_CJK_RE.sub("", text).upper()


def validate_id_number(
    id_type: IdType,
    id_number: str,
    *,
    sex: str | None,
    birth_date: date | None,
    field: str = "donor.id_number",
    today: date | None = None,
) -> list[FieldProblem]:
    """Validate a normalised ID number for its type and cross-check the sex and birth date it encodes."""
    if not id_number:
        return [FieldProblem(field, "missing_field", "ID number is required")]
    if id_type in _ENCODING_TYPES:
        problem = _eighteen_char_problem(id_type, id_number, today or date.today())
        if problem is not None:
            return [FieldProblem(field, problem[0], problem[1])]
        return _contradictions(id_number, sex, birth_date)
    problem = _SIMPLE_CHECKS[id_type](id_number)
    return [] if problem is None else [FieldProblem(field, problem[0], problem[1])]


def id_birth_date(id_type: IdType, id_number: str) -> date | None:
    """Birth date encoded in a well-formed resident ID or HMT residence permit, else None."""
    if not _encodes_birth_date_and_sex(id_type, id_number):
        return None
    return ric.get_birth_date(id_number)


def id_sex(id_type: IdType, id_number: str) -> str | None:
    """Sex encoded in a well-formed resident ID or HMT residence permit: 'M' odd sequence, 'F' even."""
    if not _encodes_birth_date_and_sex(id_type, id_number):
        return None
    return _encoded_sex(id_number)


def mask_id_number(id_number: str) -> str:
    """First 3 and last 4 characters shown, the rest '*'; short numbers show at most their last 2."""
    number = normalize_id_number(id_number)
    if len(number) > 7:
        return number[:3] + "*" * (len(number) - 7) + number[-4:]
    # Never more than half of a short number, so not even a 2-character number is shown whole.
    shown = min(2, len(number) // 2)
    return "*" * (len(number) - shown) + number[len(number) - shown :]


def identity_key(id_type: IdType, id_number: str) -> str:
    """Type and normalised number, e.g. 'resident_id:330106199001011221'."""
    return f"{id_type.value}:{normalize_id_number(id_number)}"


def merge_key(id_type: IdType, id_number: str, name: str, abo: str) -> str:
    """证件类型+证件号码+姓名+ABO — the cross-station merge key, built from normalised parts joined by '|'."""
    abo_part = "".join(unicodedata.normalize("NFKC", abo).split()).upper()
    parts = (id_type.value, normalize_id_number(id_number), normalize_name(name), abo_part)
    return "|".join(_escape_key_part(part) for part in parts)


def _escape_key_part(part: str) -> str:
    # An 'other' number or a name may contain '|'; escaping keeps two different donors from sharing a key.
    return part.replace("\\", "\\\\").replace("|", "\\|")


def _encodes_birth_date_and_sex(id_type: IdType, number: str) -> bool:
    return id_type in _ENCODING_TYPES and _eighteen_char_problem(id_type, number, date.max) is None


def _eighteen_char_problem(id_type: IdType, number: str, today: date) -> tuple[str, str] | None:
    structure_problem = _eighteen_char_structure_problem(id_type, number)
    if structure_problem is not None:
        return ("invalid_format", structure_problem)
    # ric.validate() is not used whole: it also rejects retired county codes, which old IDs still carry.
    try:
        encoded_birth_date = ric.get_birth_date(number)
    except ValidationError:
        return ("invalid_format", "ID number contains an impossible birth date")
    if number[-1] != ric.calc_check_digit(number):
        return ("invalid_checksum", "ID number check character does not match")
    if encoded_birth_date > today:
        return ("invalid_format", "ID number contains a birth date in the future")
    return None


def _eighteen_char_structure_problem(id_type: IdType, number: str) -> str | None:
    if len(number) != 18:
        return "ID number must be 18 characters long"
    if not _EIGHTEEN_CHAR_RE.fullmatch(number):
        return "ID number must be 17 digits followed by a digit or X"
    return _address_problem(id_type, number[:6])


def _address_problem(id_type: IdType, address_code: str) -> str | None:
    if id_type is IdType.HMT_RESIDENCE_PERMIT:
        if address_code not in _HMT_ADDRESS_CODES:
            return "residence permit address code must be 810000, 820000 or 830000"
        return None
    if int(address_code[:2]) not in _RESIDENT_PROVINCES:
        return "unknown address code"
    return None


def _encoded_sex(number: str) -> str:
    return "M" if int(number[16]) % 2 else "F"


def _contradictions(number: str, sex: str | None, birth_date: date | None) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    # Other sex values are the sex field's own validator's business, not a contradiction.
    if sex in ("F", "M") and sex != _encoded_sex(number):
        problems.append(FieldProblem(SEX_FIELD, "contradicts_id", "sex does not match the ID number"))
    if birth_date is not None and birth_date != ric.get_birth_date(number):
        problems.append(
            FieldProblem(BIRTH_DATE_FIELD, "contradicts_id", "birth date does not match the ID number")
        )
    return problems


def _pattern_check(pattern: re.Pattern[str], message: str) -> Callable[[str], tuple[str, str] | None]:
    def check(number: str) -> tuple[str, str] | None:
        return None if pattern.fullmatch(number) else ("invalid_format", message)

    return check


def _foreign_permanent_resident_problem(number: str) -> tuple[str, str] | None:
    if _FOREIGN_2017_RE.fullmatch(number):
        return None
    if not _FOREIGN_2023_RE.fullmatch(number):
        return (
            "invalid_format",
            "foreign permanent residence ID must be 9 + 16 digits + a digit or X, or 3 letters + 12 digits",
        )
    if not mod_11_2.is_valid(number):
        return ("invalid_checksum", "foreign permanent residence ID check character does not match")
    return None


def _other_problem(number: str) -> tuple[str, str] | None:
    if len(number) <= 32 and number.isprintable():
        return None
    return ("invalid_format", "document number must be 1 to 32 printable characters")


_SIMPLE_CHECKS: dict[IdType, Callable[[str], tuple[str, str] | None]] = {
    IdType.PASSPORT: _pattern_check(_PASSPORT_RE, "passport number must be 5 to 17 letters A-Z or digits"),
    IdType.HK_MACAO_PERMIT: _pattern_check(_HK_MACAO_RE, "Hong Kong/Macao permit must be H or M + 8 digits"),
    IdType.TAIWAN_PERMIT: _pattern_check(_TAIWAN_RE, "Taiwan permit must be 8 digits"),
    IdType.FOREIGN_PERMANENT_RESIDENT: _foreign_permanent_resident_problem,
    IdType.MILITARY: _pattern_check(
        _MILITARY_RE, "military ID must be 1 to 20 digits, letters A-Z or Chinese characters"
    ),
    IdType.OTHER: _other_problem,
}
