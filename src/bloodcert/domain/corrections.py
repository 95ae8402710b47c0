"""Donors' correction and back-fill requests (纠错与补录): what a request says, its states, who moves it.

- A **wrong record** names one of the donor's donations, the field that is wrong and what it should be; it
  goes to the station that reported the donation.
- A **missing donation** (补录) names the day, and the station (or the province, whose blood centre gets
  it), the site and the volume where known; it goes to that station.

States: `open` → the station answers `resolved` (naming the donation it reported or corrected), `rejected`
(with a reason) or `need_info` (a question to the donor, who answers: back to `open`). An `open` request past
its due time is `escalated` to the province's administrators; the station can still answer it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bloodcert.errors import ProblemField, ValidationFailed

MAX_MESSAGE = 1000
MAX_PROPOSED = 200
MAX_SITE = 100
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_STATION = re.compile(r"^[A-Za-z0-9-]{1,16}$")
_REGION = re.compile(r"^[0-9]{2}([0-9]{2}){0,2}$")


class Kind(StrEnum):
    """What the donor asks for."""

    WRONG_RECORD = "wrong_record"
    MISSING_DONATION = "missing_donation"


class Status(StrEnum):
    """Where a request stands."""

    OPEN = "open"
    NEED_INFO = "need_info"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    ESCALATED = "escalated"


class Answer(StrEnum):
    """What a station (or an administrator) answers."""

    RESOLVED = "resolved"
    REJECTED = "rejected"
    NEED_INFO = "need_info"


# The fields of a donation a donor may say are wrong.
FIELDS = (
    "donated_at",
    "kind",
    "volume_ml",
    "units",
    "site",
    "test_result",
    "donor.name",
    "donor.sex",
    "donor.birth_date",
    "donor.abo",
    "donor.rhd",
    "other",
)
FINAL = frozenset({Status.RESOLVED, Status.REJECTED})
ANSWERABLE = frozenset({Status.OPEN, Status.NEED_INFO, Status.ESCALATED})


@dataclass(frozen=True, slots=True)
class Draft:
    """A checked request, before it is routed."""

    kind: Kind
    message: str
    donation_no: str | None = None
    field: str | None = None
    proposed: str | None = None
    station_code: str | None = None
    region: str | None = None
    donated_on: date | None = None
    site: str | None = None
    volume_ml: int | None = None


def _text(value: object, name: str, limit: int, problems: list[ProblemField]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(ProblemField(name, "invalid_value", f"{name} must be text"))
        return None
    text = " ".join(value.split())
    if len(text) > limit:
        problems.append(ProblemField(name, "invalid_value", f"{name} is at most {limit} characters"))
        return None
    return text or None


def check_draft(
    *,
    kind: str,
    message: object,
    donation_no: object = None,
    field: object = None,
    proposed: object = None,
    station_code: object = None,
    region: object = None,
    donated_on: object = None,
    site: object = None,
    volume_ml: object = None,
    today: date,
) -> Draft:
    """Check a request as the donor sent it; every problem is listed at once."""
    problems: list[ProblemField] = []
    try:
        parsed = Kind(kind)
    except ValueError:
        raise ValidationFailed(
            "kind is wrong_record or missing_donation",
            errors=[ProblemField("kind", "invalid_value", "kind is wrong_record or missing_donation")],
        ) from None
    text = _text(message, "message", MAX_MESSAGE, problems)
    if not text and not any(p.field == "message" for p in problems):
        problems.append(ProblemField("message", "missing_field", "say what is wrong or missing"))
    number = _text(donation_no, "donation_no", 64, problems)
    named = _text(field, "field", 32, problems)
    wanted = _text(proposed, "proposed", MAX_PROPOSED, problems)
    code = _text(station_code, "station_code", 16, problems)
    if code and not _STATION.fullmatch(code):
        problems.append(
            ProblemField("station_code", "invalid_format", "a station code is 1–16 letters or digits")
        )
    area = _text(region, "region", 6, problems)
    if area and not _REGION.fullmatch(area):
        problems.append(
            ProblemField("region", "invalid_format", "a GB/T 2260 code or prefix (2, 4 or 6 digits)")
        )
    place = _text(site, "site", MAX_SITE, problems)
    day = _day(donated_on, today, problems)
    volume = _volume(volume_ml, problems)
    if parsed is Kind.WRONG_RECORD:
        if not number:
            problems.append(ProblemField("donation_no", "missing_field", "name the donation that is wrong"))
        if not named:
            problems.append(ProblemField("field", "missing_field", "name the field that is wrong"))
        elif named not in FIELDS:
            problems.append(ProblemField("field", "invalid_value", f"field is one of {', '.join(FIELDS)}"))
    else:
        if day is None and not any(p.field == "donated_on" for p in problems):
            problems.append(ProblemField("donated_on", "missing_field", "give the day of the donation"))
        if not code and not area:
            problems.append(
                ProblemField("station_code", "missing_field", "name the station, or the region (province)")
            )
    if problems:
        raise ValidationFailed("the request is not complete", errors=problems)
    assert text is not None
    return Draft(parsed, text, number, named, wanted, code, area, day, place, volume)


def _day(value: object, today: date, problems: list[ProblemField]) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        problems.append(ProblemField("donated_on", "invalid_format", "donated_on is YYYY-MM-DD"))
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems.append(ProblemField("donated_on", "invalid_format", "donated_on is not a calendar day"))
        return None
    if day > today:
        problems.append(ProblemField("donated_on", "future_date", "donated_on lies in the future"))
        return None
    return day


def _volume(value: object, problems: list[ProblemField]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 2000:
        problems.append(
            ProblemField("volume_ml", "invalid_value", "volume_ml is a whole number of ml, 1–2000")
        )
        return None
    return value


def after_answer(status: Status, answer: Answer) -> Status:
    """The state a station's answer leads to; a closed request takes no more answers."""
    if status not in ANSWERABLE:
        raise ValidationFailed(
            f"this request is {status.value} and takes no more answers", slug="request_closed"
        )
    return Status(answer.value)


def after_reply(status: Status) -> Status:
    """The donor's answer to a question opens the request again; only a question can be answered."""
    if status is not Status.NEED_INFO:
        raise ValidationFailed("only a request with a question to you can be answered", slug="request_closed")
    return Status.OPEN


def parse_answer(action: str, message: str, donation_no: str | None) -> tuple[Answer, str, str | None]:
    """Check a station's answer: a message always, a donation number when resolving."""
    try:
        answer = Answer(action)
    except ValueError:
        raise ValidationFailed(
            "action is resolved, rejected or need_info",
            errors=[ProblemField("action", "invalid_value", "action is resolved, rejected or need_info")],
        ) from None
    text = " ".join(message.split())
    problems = []
    if not text:
        problems.append(ProblemField("message", "missing_field", "say what was done, or why not"))
    elif len(text) > MAX_MESSAGE:
        problems.append(
            ProblemField("message", "invalid_value", f"message is at most {MAX_MESSAGE} characters")
        )
    number = (donation_no or "").strip()[:64] or None
    if answer is Answer.RESOLVED and number is None:
        problems.append(
            ProblemField("donation_no", "missing_field", "name the donation you reported or corrected")
        )
    if problems:
        raise ValidationFailed("the answer is not complete", errors=problems)
    return answer, text, number


MAX_PHOTO_BYTES = 1024 * 1024
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def check_photo(value: object) -> tuple[str, str] | None:
    """An optional photo of the paper certificate: base64 of a JPEG or PNG of at most 1 MiB.

    Returns (media type, base64 as given, without whitespace); None when there is none.
    """
    if value is None or value == "":
        return None
    problem = ProblemField("photo", "invalid_value", "a JPEG or PNG of at most 1 MiB, base64-encoded")
    if not isinstance(value, str) or len(value) > (MAX_PHOTO_BYTES * 4) // 3 + 8:
        raise ValidationFailed("the photo is not usable", errors=[problem])
    text = "".join(value.split())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("the photo is not usable", errors=[problem]) from None
    kind = next((media for magic, media in _MAGIC if raw.startswith(magic)), None)
    if kind is None or len(raw) > MAX_PHOTO_BYTES:
        raise ValidationFailed("the photo is not usable", errors=[problem])
    return kind, text
