"""The volunteer-hours statement: its signed claims, its verification and its PDF, whose QR code reads back."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from bloodcert.certs import qr
from bloodcert.certs.algorithms import algorithm
from bloodcert.certs.documents import TrustedKey, TrustList
from bloodcert.certs.payload import to_claims
from bloodcert.certs.qr import CLAIM_CERTIFICATE, MalformedQR
from bloodcert.certs.render import Text
from bloodcert.certs.statement import (
    HoursByTable,
    HoursStatementContent,
    is_hours_statement,
    statement_from_claims,
    statement_to_claims,
)
from bloodcert.certs.statement_pdf import (
    StatementLine,
    StatementView,
    TableUse,
    layout_statement,
    render_statement_pdf,
)
from bloodcert.certs.verify import verify_qr

ISSUED = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
KID = b"kid-0001"
ALG = algorithm("ES256")
KEY = ALG.generate()


def make_statement(**overrides: Any) -> HoursStatementContent:
    fields: dict[str, Any] = {
        "serial": "0123456789abcdef",
        "holder_name": "王芳",
        "id_number_masked": "330***********1221",
        "hours": 10,
        "donations": 2,
        "first_on": date(2023, 3, 1),
        "last_on": date(2024, 3, 1),
        "tables": (HoursByTable("渭南市", 1, 6), HoursByTable("全国（默认）", 1, 4)),
        "expires_at": ISSUED + timedelta(days=90),
    }
    return HoursStatementContent(**{**fields, **overrides})


def sign(claims: dict[Any, Any]) -> str:
    return qr.encode(claims, alg=ALG, private_key=KEY, kid=KID).qr_text


def trust(issuer: str = "bloodcert-test", status: str = "active") -> TrustList:
    key = TrustedKey(
        KID,
        "ES256",
        ALG.public_pem(KEY.public_key()).decode(),
        ISSUED - timedelta(days=365),
        ISSUED + timedelta(days=365),
        status,
    )
    return TrustList(issuer, ISSUED, ISSUED + timedelta(days=1), "", "", {KID: key})


def no_status(_list_id: str, _index: int) -> bool | None:
    return None


def view_of(content: HoursStatementContent, lines: int) -> StatementView:
    text = sign(statement_to_claims(content, issuer="bloodcert-test", issued_at=ISSUED))
    rows = tuple(
        StatementLine(
            date(2000, 1, 1) + timedelta(days=120 * i),
            "whole_blood",
            400,
            None,
            "渭南市中心血站 渭南献血屋",
            "渭南市",
            6,
        )
        for i in range(lines)
    )
    uses = (
        TableUse("渭南市", "全血 200/300/400毫升计 2/4/6小时；单采血小板 每治疗量2小时", lines, 6 * lines),
    )
    return StatementView(content, ISSUED, uses, rows, text)


def qr_codes_in_pdf(document: bytes) -> list[str]:
    """Read the QR code drawn on a PDF's first page back from the page's own drawing instructions.

    The code is one filled path of rectangles (`x y w h re`, in millimetres under a `cm` scale): they are
    painted into an image module by module, with a quiet zone, and given to a real decoder (zxing-cpp).
    """
    # The first stream is the page's; its dictionary's /Length says where it ends (a search for "endstream"
    # would cut compressed bytes that happen to end in a carriage return).
    found = re.search(rb"/Length (\d+)[^>]*>>\s*stream\r?\n", document)
    assert found is not None
    start = found.end()
    page = zlib.decompress(document[start : start + int(found[1])])
    number = rb"(-?[0-9.]+)"
    paths = re.findall(rb"q 0 g (.*?) f Q", page, re.S)
    codes = []
    for path in paths:
        rects = [
            tuple(float(v) for v in m)
            for m in re.findall(number + rb" " + number + rb" " + number + rb" " + number + rb" re", path)
        ]
        module = min(h for _, _, _, h in rects)
        x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
        size = round((max(r[1] for r in rects) - y0) / module) + 1
        scale, border = 6, 4
        image = Image.new("L", ((size + 2 * border) * scale,) * 2, 255)
        draw = ImageDraw.Draw(image)
        for x, y, w, _ in rects:
            col, row, run = round((x - x0) / module), round((y - y0) / module), round(w / module)
            left, top = (col + border) * scale, (row + border) * scale
            draw.rectangle((left, top, left + run * scale - 1, top + scale - 1), fill=0)
        codes += [r.text for r in zxingcpp.read_barcodes(image)]
    return codes


# ---- claims --------------------------------------------------------------------------------------------


def test_a_statement_reads_back_from_its_claims() -> None:
    statement = make_statement()
    claims = statement_to_claims(statement, issuer="bloodcert-test", issued_at=ISSUED)
    assert is_hours_statement(claims)
    assert claims[CLAIM_CERTIFICATE]["t"] == "hours"
    assert statement_from_claims(claims) == (statement, "bloodcert-test", ISSUED)


def test_a_statement_without_donations_has_no_period() -> None:
    statement = make_statement(hours=0, donations=0, first_on=None, last_on=None, tables=())
    claims = statement_to_claims(statement, issuer="bloodcert-test", issued_at=ISSUED)
    assert statement_from_claims(claims)[0] == statement


@pytest.mark.parametrize(
    ("key", "value"),
    [("h", "10"), ("c", True), ("r", [["渭南市", 1]]), ("r", [[1, 1, 6]]), ("f", "2023-13-01"), ("ss", None)],
)
def test_a_mistyped_statement_claim_is_malformed(key: str, value: Any) -> None:
    claims = statement_to_claims(make_statement(), issuer="bloodcert-test", issued_at=ISSUED)
    claims[CLAIM_CERTIFICATE][key] = value
    with pytest.raises(MalformedQR):
        statement_from_claims(claims)


def test_a_donation_certificate_is_not_a_statement() -> None:
    from tests.unit.test_render import make_content

    assert not is_hours_statement(to_claims(make_content(), issuer="x", issued_at=ISSUED))


# ---- verification --------------------------------------------------------------------------------------


def test_a_statement_verifies_as_hours_until_it_expires() -> None:
    statement = make_statement()
    text = sign(statement_to_claims(statement, issuer="bloodcert-test", issued_at=ISSUED))
    answer = verify_qr(text, trust(), no_status, ISSUED + timedelta(days=1))
    assert (answer.valid, answer.reason, answer.type, answer.content, answer.honour) == (
        True,
        "ok",
        "hours",
        None,
        None,
    )
    assert answer.hours == statement
    late = verify_qr(text, trust(), no_status, statement.expires_at + timedelta(seconds=1))
    assert (late.valid, late.reason, late.type) == (False, "expired", "hours")


def test_a_statement_from_another_issuer_or_a_revoked_key_does_not_verify() -> None:
    text = sign(statement_to_claims(make_statement(), issuer="bloodcert-test", issued_at=ISSUED))
    assert verify_qr(text, trust(issuer="someone-else"), no_status, ISSUED).reason == "unknown_key"
    assert verify_qr(text, trust(status="revoked"), no_status, ISSUED).reason == "key_expired"


def test_a_statement_with_its_hours_raised_does_not_verify() -> None:
    claims = statement_to_claims(make_statement(), issuer="bloodcert-test", issued_at=ISSUED)
    signed = qr.encode(claims, alg=ALG, private_key=KEY, kid=KID)
    forged = qr.encode(
        {**claims, CLAIM_CERTIFICATE: {**claims[CLAIM_CERTIFICATE], "h": 1000}},
        alg=ALG,
        private_key=ALG.generate(),
        kid=KID,
    )
    assert verify_qr(signed.qr_text, trust(), no_status, ISSUED).valid
    assert verify_qr(forged.qr_text, trust(), no_status, ISSUED).reason == "bad_signature"


# ---- the PDF -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_view() -> StatementView:
    return view_of(make_statement(hours=6 * 80, donations=80, tables=(HoursByTable("渭南市", 80, 480),)), 80)


@pytest.fixture(scope="module")
def long_pdf(long_view: StatementView) -> bytes:
    return render_statement_pdf(long_view)


def test_the_qr_drawn_in_the_pdf_decodes_to_the_signed_text_and_verifies(
    long_pdf: bytes, long_view: StatementView
) -> None:
    assert long_pdf.startswith(b"%PDF-")
    assert qr_codes_in_pdf(long_pdf) == [long_view.qr]
    answer = verify_qr(qr_codes_in_pdf(long_pdf)[0], trust(), no_status, ISSUED)
    assert (answer.valid, answer.type, answer.hours) == (True, "hours", long_view.content)


def test_every_donation_counted_is_listed_over_as_many_pages_as_it_takes(long_view: StatementView) -> None:
    pages = layout_statement(long_view)
    assert len(pages) >= 3
    dates = [
        item.text
        for page in pages
        for item in page.items
        if isinstance(item, Text) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", item.text)
    ]
    assert dates == [line.donated_on.isoformat() for line in long_view.lines]
    footers = [t.text for p in pages for t in p.items if isinstance(t, Text) and t.text.startswith("第 ")]
    assert footers[-1].startswith(f"第 {len(pages)} 页 共 {len(pages)} 页")


def test_text_stays_inside_the_page(long_view: StatementView) -> None:
    from bloodcert.certs.fonts import serif
    from bloodcert.certs.statement_pdf import A4_H, A4_W

    hostile = replace(
        long_view,
        lines=tuple(replace(x, place="很长的采血机构名称" * 10) for x in long_view.lines[:3]),
        content=replace(long_view.content, holder_name="欧阳" * 40),
    )
    for page in layout_statement(hostile):
        for item in page.items:
            if isinstance(item, Text):
                assert item.x >= 0 and item.x + serif().width(item.text, item.size) <= A4_W - 8, item.text
                assert 0 < item.y < A4_H - 8


def test_the_qr_scans_from_the_rendered_pdf_page(
    long_pdf: bytes, long_view: StatementView, tmp_path: Path
) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    (tmp_path / "s.pdf").write_bytes(long_pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", "s.pdf", "page"],
        cwd=tmp_path,
        check=True,
    )
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))] == [long_view.qr]
