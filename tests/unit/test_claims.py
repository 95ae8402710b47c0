"""The pure rules of online claims: files recognised by content, claim statuses, capped draws, working days."""

from __future__ import annotations

from datetime import date

import pytest

from bloodcert.domain.claims import (
    FileProblem,
    PlannedShare,
    capped,
    claim_status,
    named_invoice_key,
    shares_of,
    sniff,
)
from bloodcert.domain.waivers import Draw, Pool
from bloodcert.domain.workdays import CalendarError, builtin_calendar, parse_calendar

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\r\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20 + b"\xff\xd9"


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"", FileProblem.EMPTY),
        (b"<html>%PDF-1.4 %%EOF", FileProblem.UNSUPPORTED),
        (b"MZ\x90\x00 not a document", FileProblem.UNSUPPORTED),
        (PDF[:20], FileProblem.MALFORMED),
        (PNG[:-4], FileProblem.MALFORMED),
        (JPEG[:-2], FileProblem.MALFORMED),
        (b"%PDF-" + b"0" * (10 * 1024 * 1024) + b"%%EOF", FileProblem.TOO_LARGE),
    ],
)
def test_a_file_is_recognised_by_its_content_alone(content: bytes, found: object) -> None:
    assert sniff(content) == found


@pytest.mark.parametrize(
    ("shares", "status"),
    [
        (["submitted", "submitted"], "submitted"),
        (["approved", "submitted"], "in_review"),
        (["approved", "need_info"], "need_info"),
        (["approved", "approved"], "approved"),
        (["approved", "rejected"], "partly_approved"),
        (["rejected", "rejected"], "rejected"),
    ],
)
def test_a_claims_status_follows_its_shares(shares: list[str], status: str) -> None:
    assert claim_status(shares) == status


def _draw(station: int, ml: int, fen: int, *, money: bool = False) -> Draw:
    before = 1000
    return Draw(
        "33",
        Pool.SELF,
        "33@2020-01-01",
        station,
        ml,
        fen,
        False,
        None if money else before,
        before if money else None,
    )


def test_draws_are_grouped_by_the_station_that_pays_them() -> None:
    shares = shares_of([_draw(1, 100, 1000), _draw(2, 50, 500), _draw(1, 10, 100)])
    assert [(s.station_id, s.ml, s.fen) for s in shares] == [(1, 110, 1100), (2, 50, 500)]
    assert isinstance(shares[0], PlannedShare)


def test_an_approved_share_never_pays_more_than_planned_nor_more_than_is_left() -> None:
    planned = _draw(1, 400, 52000)
    assert (capped(planned, 1000).ml, capped(planned, 1000).fen) == (400, 52000)  # type: ignore[union-attr]
    half = capped(planned, 200)
    assert half is not None
    assert (half.ml, half.fen) == (200, 26000)
    assert capped(planned, 0) is None
    money = capped(_draw(1, 400, 52000, money=True), 10000)
    assert money is not None
    assert (money.fen, money.ml) == (10000, 76)
    assert capped(planned, None) == planned


def test_an_unknown_hospitals_invoice_is_named_by_region_and_name_whatever_the_spacing() -> None:
    assert named_invoice_key("310104", " 某医院  东院 ", "A1") == named_invoice_key(
        "310104", "某医院 东院", "A1"
    )


def test_working_days_skip_weekends_and_holidays_and_count_make_up_days() -> None:
    calendar = builtin_calendar()
    # Filed on Wednesday 30 September 2026: 1-7 October are the National Day holiday, 10 October (a
    # Saturday) is a make-up working day.
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert calendar.add_working_days(date(2026, 11, 30), 10) == date(2026, 12, 14)
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert calendar.is_working_day(date(2026, 2, 14))


def test_a_malformed_calendar_names_the_file_and_field() -> None:
    with pytest.raises(CalendarError, match=r"cal.toml: years\[0\].holidays: every date must fall in 2027"):
        parse_calendar(
            "cal.toml",
            'years = [{year = 2027, source = "x", effective_from = 2027-01-01, holidays = [2026-01-01]}]',
        )
    with pytest.raises(CalendarError, match="source"):
        parse_calendar("cal.toml", "years = [{year = 2027}]")
