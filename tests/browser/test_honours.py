"""The donor's honours in Chromium at a phone's viewport: the honour card read from a screenshot and
verified, and the volunteer-hours statement whose QR code verifies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, new_phone_page
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


def test_a_station_operator_confirms_a_candidate_on_a_phone(browser: Any, fresh_site: Site) -> None:

    from bloodcert.services.certificates import signing_of
    from tests.browser.test_staff_console import assert_accessible
    from tests.factories import create_staff, make_record, report_records

    zhao = {"id_number": "330106198802023340", "name": "赵敏", "birth_date": "1988-02-02"}
    records = [
        make_record(donation_no=f"ZM{i:02d}", donor=zhao, donated_at=f"2020-{i + 1:02d}-10T09:00:00+08:00")
        for i in range(11)
    ]
    results = report_records(fresh_site.db, signing_of(fresh_site.settings), records)
    assert {r.outcome for r in results} == {"created"}, results
    olga = create_staff(fresh_site.db, "olga-phone", "station_operator", "33000001")
    tab = new_phone_page(browser)
    tab.goto(fresh_site.url + "/console/login")
    tab.fill("input[name=username]", olga.username)
    tab.fill("input[name=password]", olga.password)
    tab.fill("input[name=code]", olga.code())
    with tab.expect_navigation():
        tab.get_by_role("button", name="登录", exact=True).click()
    with tab.expect_navigation():
        tab.get_by_role("link", name="表彰审核").first.click()
    tab.goto(fresh_site.url + "/console/stations/33000001/honours?cycle=2020-2021")
    candidate = tab.locator("section.candidate").filter(has_text="赵敏")
    assert "计入献血 22 次" in candidate.inner_text()
    assert candidate.locator("tbody tr").count() == 11
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(tab, "honours review")
    snap(tab, "console-honours-review", full_page=True)
    with tab.expect_navigation():
        candidate.get_by_role("button", name="确认授予").click()
    assert tab.get_by_role("status").inner_text() == "已确认该候选人的表彰。"
    assert "已确认" in tab.locator("section.candidate").filter(has_text="赵敏").inner_text()
    assert tab.console_errors == []
    tab.context.close()
