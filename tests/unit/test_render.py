"""The certificate in the layout of the paper 无偿献血证, as SVG and PDF, with a QR code that scans back."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import segno
import zxingcpp
from PIL import Image, ImageDraw

from bloodcert.certs import qr
from bloodcert.certs.algorithms import algorithm
from bloodcert.certs.payload import CertificateContent, to_claims
from bloodcert.certs.render import (
    QR,
    VALUE_RIGHT,
    CertificateView,
    Text,
    amount_text,
    blood_type_text,
    layout,
    qr_png,
    qr_version,
    render_pdf,
    render_svg,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
HOSTILE_NAME = "<script>alert('x')</script> & \"王\""


def make_content(**overrides: Any) -> CertificateContent:
    fields: dict[str, Any] = {
        "certificate_no": "2024000001234563",
        "donation_no": "3301202405120001",
        "station_code": "330100",
        "station_name": "杭州市中心血站",
        "donated_on": date(2024, 5, 12),
        "kind": "whole_blood",
        "volume_ml": 400,
        "units": None,
        "holder_name": "张三丰",
        "id_number_masked": "330***********1221",
        "abo": "A",
        "rhd": "positive",
        "status_list": ("zj-2024-01", 123456),
    }
    return CertificateContent(**{**fields, **overrides})


def signed_qr_text(content: CertificateContent) -> str:
    alg = algorithm("ES256")
    claims = to_claims(content, issuer="bloodcert-test", issued_at=datetime(2024, 5, 12, 10, tzinfo=UTC))
    return qr.encode(claims, alg=alg, private_key=alg.generate(), kid=b"kid-0001").qr_text


@pytest.fixture(scope="module")
def view() -> CertificateView:
    content = make_content()
    return CertificateView.of(content, site_name="武林广场爱心献血屋", qr=signed_qr_text(content))


@pytest.fixture(scope="module")
def svg(view: CertificateView) -> str:
    return render_svg(view)


@pytest.fixture(scope="module")
def pdf(view: CertificateView) -> bytes:
    return render_pdf(view)


def pdf_text(document: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(document)
    return subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def decode_qr(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


# ---- SVG -----------------------------------------------------------------------------------------------


def test_svg_is_well_formed_and_responsive(svg: str) -> None:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == "0 0 148 210"
    assert root.get("height") is None


def test_svg_names_the_certificate_number(svg: str, view: CertificateView) -> None:
    title = ET.fromstring(svg).find(f"{SVG_NS}title")
    assert title is not None
    assert title.text is not None
    assert view.certificate_no in title.text


def test_svg_draws_text_as_outlines_so_no_font_is_needed(svg: str) -> None:
    root = ET.fromstring(svg)
    assert root.find(f".//{SVG_NS}text") is None
    assert "font-family" not in svg
    assert "@font-face" not in svg
    assert len(root.findall(f"{SVG_NS}defs/{SVG_NS}path")) > 40


def test_svg_stays_small(svg: str) -> None:
    assert len(svg.encode()) < 300_000


def test_hostile_names_are_inert_in_svg(view: CertificateView) -> None:
    svg = render_svg(replace(view, holder_name=HOSTILE_NAME, site_name="]]><x onload='1'/>"))
    root = ET.fromstring(svg)
    assert "<script" not in svg
    assert "<x " not in svg
    assert not [element for element in root.iter() if element.tag.endswith(("script", "}x"))]
    title = root.find(f"{SVG_NS}title")
    assert title is not None
    assert title.text is not None
    assert HOSTILE_NAME in title.text


def test_control_characters_in_names_keep_the_svg_well_formed(view: CertificateView) -> None:
    ET.fromstring(render_svg(replace(view, holder_name="张\x00三\x1b", station_name="站\ud800")))


def test_two_certificates_inlined_in_one_page_do_not_share_ids(view: CertificateView) -> None:
    other = render_svg(replace(view, certificate_no="2024000001234571"))
    ids = set(re.findall(r'id="([^"]+)"', render_svg(view)))
    assert ids
    assert ids.isdisjoint(re.findall(r'id="([^"]+)"', other))


# ---- PDF -----------------------------------------------------------------------------------------------


def test_pdf_embeds_a_subset_of_the_font(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile3" in pdf or b"/FontFile2" in pdf
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+NotoSerifSC", pdf)
    assert len(pdf) < 200_000  # the whole font is 11 MB


def test_pdf_draws_the_qr_as_vectors_not_an_image(pdf: bytes) -> None:
    assert not re.search(rb"/Subtype\s*/Image", pdf)


def test_pdf_text_holds_the_holder_name_and_certificate_number(
    pdf: bytes, view: CertificateView, tmp_path: Path
) -> None:
    text = pdf_text(pdf, tmp_path)
    assert view.holder_name in text
    assert view.certificate_no in text
    assert "A型 RhD阳性" in text


def test_pdf_is_the_same_bytes_for_the_same_certificate(pdf: bytes, view: CertificateView) -> None:
    assert render_pdf(view) == pdf


def test_qr_scans_from_the_rendered_pdf_page(pdf: bytes, view: CertificateView, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", "c.pdf", "page"], cwd=tmp_path, check=True
    )
    assert decode_qr(Image.open(tmp_path / "page.png")) == [view.qr]


# ---- QR ------------------------------------------------------------------------------------------------


def test_qr_png_decodes_to_the_exact_bc1_text(view: CertificateView) -> None:
    assert decode_qr(Image.open(io.BytesIO(qr_png(view.qr, scale=4)))) == [view.qr]


def test_qr_drawn_on_the_page_decodes_to_the_exact_bc1_text(view: CertificateView) -> None:
    # Paint the very runs that the SVG and PDF writers draw, quiet zone included.
    (code,) = [item for item in layout(view).items if isinstance(item, QR)]
    scale = 4
    image = Image.new("L", (code.modules * scale, code.modules * scale), 255)
    draw = ImageDraw.Draw(image)
    for row, col, length in code.runs:
        draw.rectangle((col * scale, row * scale, (col + length) * scale - 1, (row + 1) * scale - 1), fill=0)
    assert decode_qr(image) == [view.qr]


def test_qr_version_is_what_segno_makes_in_alphanumeric_mode_at_level_q(view: CertificateView) -> None:
    symbol = segno.make(view.qr, error="q", mode="alphanumeric", boost_error=False)
    assert qr_version(view.qr) == symbol.version
    assert (symbol.mode, symbol.error) == ("alphanumeric", "Q")


# ---- content and layout ----------------------------------------------------------------------------------


def test_blood_type_and_amount_read_as_on_the_paper_certificate() -> None:
    assert blood_type_text("A", "positive") == "A型 RhD阳性"
    assert blood_type_text("AB", "negative") == "AB型 RhD阴性"
    assert blood_type_text("O", None) == "O型"
    assert amount_text("whole_blood", 400, None) == "400毫升"
    assert amount_text("platelets", None, 2) == "2个治疗量"


def runs(view: CertificateView) -> list[Text]:
    return [item for item in layout(view).items if isinstance(item, Text)]


def test_platelet_donation_shows_its_kind_and_therapeutic_units(view: CertificateView) -> None:
    texts = [run.text for run in runs(replace(view, kind="platelets", volume_ml=None, units=2))]
    assert "单采血小板" in texts
    assert "2个治疗量" in texts


def test_an_active_certificate_has_no_watermark(svg: str) -> None:
    assert "已作废" not in svg
    assert "已更正" not in svg


@pytest.mark.parametrize(("status", "mark"), [("revoked", "已作废"), ("superseded", "已更正")])
def test_a_certificate_that_is_no_longer_valid_is_stamped(
    view: CertificateView, status: str, mark: str, tmp_path: Path
) -> None:
    stamped = replace(view, status=status)
    assert f'aria-label="{mark}"' in render_svg(stamped)
    assert mark in pdf_text(render_pdf(stamped), tmp_path)


def test_long_station_names_stay_inside_the_value_column(view: CertificateView) -> None:
    from bloodcert.certs.fonts import serif

    long_name = "新疆维吾尔自治区血液中心乌鲁木齐市天山区采血点第二分站" * 2
    placed = runs(replace(view, station_name=long_name, site_name=long_name))
    for run in placed:
        if not run.rotate:
            assert run.x + serif().width(run.text, run.size) <= VALUE_RIGHT + 0.01, run.text
    assert any(run.text.endswith("…") for run in placed)


def test_characters_the_font_lacks_are_shown_as_a_box(view: CertificateView) -> None:
    texts = [run.text for run in runs(replace(view, holder_name="张\x00三😀"))]
    assert "张 三□" in texts
