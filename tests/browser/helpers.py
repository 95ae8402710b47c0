"""Helpers for the page tests: logging in through the form, reading a certificate's QR text, screenshots."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import Site
from tests.factories import WANG_FANG

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BUDGET = 150 * 1024  # JS + CSS per page, gzipped


def snap(page: Any, name: str, *, full_page: bool = False) -> bytes:
    """A PNG of the page; with BLOODCERT_SCREENSHOTS=1 also saved as docs/screenshots/NAME.png."""
    png: bytes = page.screenshot(full_page=full_page, animations="disabled", caret="initial")
    if os.environ.get("BLOODCERT_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(png)
    return png


def fill_login(page: Any, donor: dict[str, Any] = WANG_FANG, donation_no: str = "ZJ19041201") -> None:
    """Type the four fields into the login form (by the API's field names)."""
    page.select_option("select[name=id_type]", donor["id_type"])
    page.fill("input[name=id_number]", donor["id_number"])
    page.fill("input[name=name]", donor["name"])
    page.fill("input[name=donation_no]", donation_no)


def api_token(site: Site, donor: dict[str, Any] = WANG_FANG, donation_no: str = "ZJ19041201") -> str:
    """A Bearer token from the JSON API."""
    body = {k: donor[k] for k in ("id_type", "id_number", "name")} | {"donation_no": donation_no}
    response = httpx.post(site.url + "/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def certificate_qr(site: Site, donation_no: str = "ZJ19041201") -> tuple[str, str]:
    """(certificate number, `BC1:` text) of one of 王芳's donations, read through the JSON API."""
    headers = {"Authorization": f"Bearer {api_token(site)}"}
    donations = httpx.get(site.url + "/api/v1/me/donations", headers=headers).json()["donations"]
    number = next(d["certificate_no"] for d in donations if d["donation_no"] == donation_no)
    body = httpx.get(site.url + f"/api/v1/me/certificates/{number}", headers=headers).json()
    return number, str(body["qr"])


def verify_via_api(site: Site, text: str) -> dict[str, Any]:
    """The JSON verifier's answer for a `BC1:` text."""
    response = httpx.post(site.url + "/api/v1/verify", json={"qr": text})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def decode_screenshot(png: bytes) -> list[str]:
    """Every QR code zxing-cpp finds in a screenshot."""
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def gzipped_size(body: bytes) -> int:
    """The size of a response body once gzipped (what a phone downloads from a compressing proxy)."""
    return len(gzip.compress(body, compresslevel=9))
