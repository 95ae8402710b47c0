"""A station's donation record: parsing, validation and the checks that need no stored data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from bloodcert.domain.donation_rules import STANDARD_WHOLE_BLOOD_ML, Kind, age_out_of_range
from bloodcert.domain.identity import (
    FieldProblem,
    IdType,
    id_birth_date,
    id_sex,
    normalize_id_number,
    validate_id_number,
)
from bloodcert.domain.regions import is_known_region

# A station's clock may run a little fast; beyond this a donation "in the future" is an error.
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_VOLUME_ML = 1000
MAX_TEXT = 100


class Status(StrEnum):
    """Whether the station stands by the donation (valid) or has withdrawn it (void)."""

    VALID = "valid"
    VOID = "void"


ABO_TYPES = frozenset({"A", "B", "O", "AB"})
RHD_TYPES = frozenset({"positive", "negative"})
SITE_TYPES = frozenset({"fixed", "mobile", "group"})
TEST_RESULTS = frozenset({"qualified", "unqualified", "pending"})


@dataclass(frozen=True, slots=True)
class RecordWarning:
    """A problem that does not stop a record: it is accepted and recorded as a data-quality issue."""

    code: str
    message: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class DonorFacts:
    """The donor as the station reported them, with the ID number normalised."""

    id_type: IdType
    id_number: str
    name: str
    sex: str | None
    birth_date: date | None
    abo: str
    rhd: str | None


@dataclass(frozen=True, slots=True)
class DonationReport:
    """One validated record: a donation (献血) as a station reports it."""

    donation_no: str
    version: int
    status: Status
    donor: DonorFacts
    donated_at: datetime
    kind: Kind
    volume_ml: int | None
    units: int | None
    site_name: str
    site_type: str
    site_region: str
    test_result: str
    content_hash: bytes
    record: dict[str, Any] = field(repr=False, compare=False)

    @property
    def donated_on(self) -> date:
        """The calendar date at the place of donation."""
        return self.donated_at.date()


@dataclass(slots=True)
class Checked:
    """The outcome of validating one raw record."""

    report: DonationReport | None
    errors: list[FieldProblem]
    warnings: list[RecordWarning]
    donation_no: str | None


def content_hash(record: Mapping[str, Any]) -> bytes:
    """SHA-256 over a record's canonical JSON: equal content, equal hash, whatever the key order."""
    body = {k: v for k, v in record.items() if k != "station"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).digest()


def check_record(raw: object, *, now: datetime) -> Checked:
    """Validate a raw record (GB 11643, GB/T 2260, GB 18467); never raises on bad input."""
    if not isinstance(raw, dict):
        problem = FieldProblem("", "invalid_format", "each record must be a JSON object")
        return Checked(None, [problem], [], None)
    p = _Parser(raw)
    donation_no = p.text("donation_no", max_len=64)
    version = p.integer("version", minimum=1)
    status = p.choice("status", {s.value for s in Status})
    donor = _donor(p, now)
    donated_at = p.timestamp("donated_at", now=now)
    kind = p.choice("kind", {k.value for k in Kind})
    volume_ml, units = _amount(p, kind)
    site_name = p.text("site.name", max_len=MAX_TEXT)
    site_type = p.choice("site.type", SITE_TYPES)
    site_region = p.region("site.region")
    test_result = p.choice("test_result", TEST_RESULTS)
    if p.errors or donor is None:
        return Checked(None, p.errors, [], donation_no)
    assert donation_no
    assert version
    assert status
    assert donated_at
    assert kind
    assert site_name
    assert site_type
    assert site_region
    assert test_result
    report = DonationReport(
        donation_no=donation_no,
        version=version,
        status=Status(status),
        donor=donor,
        donated_at=donated_at,
        kind=Kind(kind),
        volume_ml=volume_ml,
        units=units,
        site_name=site_name,
        site_type=site_type,
        site_region=site_region,
        test_result=test_result,
        content_hash=content_hash(raw),
        record=raw,
    )
    return Checked(report, [], static_warnings(report), donation_no)


def static_warnings(report: DonationReport) -> list[RecordWarning]:
    """Warnings that follow from the record alone (non-standard volume, donor age)."""
    warnings: list[RecordWarning] = []
    if report.kind is Kind.WHOLE_BLOOD and report.volume_ml not in STANDARD_WHOLE_BLOOD_ML:
        warnings.append(
            RecordWarning("nonstandard_volume", "whole blood is collected as 200, 300 or 400 ml", "volume_ml")
        )
    birth = report.donor.birth_date
    if birth is not None and age_out_of_range(birth, report.donated_on):
        warnings.append(
            RecordWarning(
                "age_out_of_range", "donor age is outside 18–60 on the donation date", "donor.birth_date"
            )
        )
    return warnings


def _donor(p: _Parser, now: datetime) -> DonorFacts | None:
    id_type = p.choice("donor.id_type", {t.value for t in IdType})
    raw_number = p.text("donor.id_number", max_len=64)
    name = p.text("donor.name", max_len=MAX_TEXT)
    sex = p.choice("donor.sex", {"F", "M"}, required=False)
    birth_date = p.day("donor.birth_date", required=False, today=now.date())
    abo = p.choice("donor.abo", ABO_TYPES)
    rhd = p.choice("donor.rhd", RHD_TYPES, required=False)
    if id_type is None or raw_number is None:
        return None
    number = normalize_id_number(raw_number)
    problems = validate_id_number(IdType(id_type), number, sex=sex, birth_date=birth_date, today=now.date())
    p.errors.extend(problems)
    if problems or name is None or abo is None:
        return None
    # Sex and birth date, when the station leaves them out, are read from a document that encodes them.
    return DonorFacts(
        id_type=IdType(id_type),
        id_number=number,
        name=name,
        sex=sex or id_sex(IdType(id_type), number),
        birth_date=birth_date or id_birth_date(IdType(id_type), number),
        abo=abo,
        rhd=rhd,
    )


def _amount(p: _Parser, kind: str | None) -> tuple[int | None, int | None]:
    if kind == Kind.PLATELETS:
        units = p.integer("units", minimum=1, maximum=2)
        p.must_be_null("volume_ml", "platelets are reported in therapeutic units (治疗量), not ml")
        return None, units
    if kind in (Kind.WHOLE_BLOOD, Kind.PLASMA):
        volume = p.integer("volume_ml", minimum=1, maximum=MAX_VOLUME_ML)
        p.must_be_null("units", "units (治疗量) apply to platelets only")
        return volume, None
    return None, None


@lru_cache(maxsize=64)
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


class _Parser:
    """Reads fields by dotted path and collects every problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.errors: list[FieldProblem] = []

    def get(self, path: str) -> Any:
        node: Any = self.raw
        for part in _parts(path):
            if type(node) is not dict:  # decoded JSON objects are dicts; an exact check is cheap
                return None
            node = node.get(part)
        return node

    def fail(self, path: str, code: str, message: str) -> None:
        self.errors.append(FieldProblem(path, code, message))

    def present(self, path: str, required: bool) -> Any:
        value = self.get(path)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(path, "missing_field", f"{path} is required")
            return None
        return value

    def text(self, path: str, *, max_len: int) -> str | None:
        value = self.present(path, True)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, "invalid_format", f"{path} must be a string")
            return None
        value = value.strip()
        if len(value) > max_len or not value.isprintable():
            self.fail(
                path, "invalid_format", f"{path} must be printable text of at most {max_len} characters"
            )
            return None
        return value

    def choice(self, path: str, allowed: set[str] | frozenset[str], *, required: bool = True) -> str | None:
        value = self.present(path, required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in allowed:
            self.fail(path, "invalid_value", f"{path} must be one of: {', '.join(sorted(allowed))}")
            return None
        return value

    def integer(self, path: str, *, minimum: int, maximum: int | None = None) -> int | None:
        value = self.present(path, True)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "invalid_format", f"{path} must be an integer")
            return None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            self.fail(path, "invalid_value", f"{path} must be at least {minimum}{upper}")
            return None
        return value

    def must_be_null(self, path: str, message: str) -> None:
        if self.get(path) is not None:
            self.fail(path, "invalid_value", message)

    def day(self, path: str, *, required: bool, today: date) -> date | None:
        value = self.present(path, required)
        if value is None:
            return None
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail(path, "invalid_format", f"{path} must be a date as YYYY-MM-DD")
            return None
        if parsed > today:
            self.fail(path, "future_date", f"{path} lies in the future")
            return None
        return parsed

    def timestamp(self, path: str, *, now: datetime) -> datetime | None:
        value = self.present(path, True)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail(path, "invalid_format", f"{path} must be an ISO 8601 time with a UTC offset")
            return None
        if parsed > now + FUTURE_TOLERANCE:
            self.fail(path, "future_date", f"{path} lies in the future")
            return None
        return parsed

    def region(self, path: str) -> str | None:
        value = self.present(path, True)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) != 6 or not value.isdigit():
            self.fail(path, "invalid_format", f"{path} must be a 6-digit GB/T 2260 code")
            return None
        if not is_known_region(value):
            self.fail(path, "unknown_region", f"{path} is not a GB/T 2260 region code")
            return None
        return value
