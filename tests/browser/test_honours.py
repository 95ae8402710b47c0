"""The donor's honours in Chromium at a phone's viewport: the honour card read from a screenshot and
verified, and the volunteer-hours statement whose QR code verifies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site
from tests.browser.helpers import decode_screenshot, snap, verify_via_api
from tests.unit.test_statement import qr_codes_in_pdf

pytestmark = pytest.mark.browser


def test_the_honour_card_from_a_screenshot_and_the_hours_statement_both_verify(page: Any, site: Site) -> None:
    site.log_in(page)
    page.goto(site.url + "/me/honours")
    snap(page, "honours", full_page=True)
    statement = page.get_by_role("link", name="公益时证明（PDF）").get_attribute("href")
    with page.expect_navigation():
        page.get_by_role("link", name="全屏出示 · 献血荣誉卡").click()
    (card,) = decode_screenshot(snap(page, "honour-card"))
    answer = verify_via_api(site, card)
    assert (answer["valid"], answer["type"], answer["honour"]["holder_name"]) == (True, "honour", "王*")

    response = page.request.get(site.url + statement)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    (scanned,) = qr_codes_in_pdf(response.body())
    hours = verify_via_api(site, scanned)
    assert (hours["valid"], hours["type"], hours["hours"]["holder_name"]) == (True, "hours", "王芳")
    assert hours["hours"]["donations"] > 0
    assert page.console_errors == []
