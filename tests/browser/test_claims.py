"""A donor registers a relative and files a claim with a PDF; the station's reviewer approves it in the
console; the donor sees it approved. One journey in Chromium, the donor at a phone's size."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bloodcert.services import relatives as rel
from bloodcert.services.relatives import Actor
from tests.browser.conftest import Site, new_phone_page
from tests.browser.helpers import snap
from tests.factories import create_staff

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _file(name: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def _donor_files_a_claim(tab: Any, site: Site) -> None:
    site.log_in(tab)
    tab.goto(site.url + "/me/relatives")
    tab.fill("input[name=name]", "王建国")
    tab.fill("input[name=id_number]", "330106196203150015")
    tab.select_option("select[name=relationship]", "parent")
    tab.set_input_files("input[name=proof]", files=[_file("hukou.pdf")])
    with tab.expect_navigation():
        tab.get_by_role("button", name="提交").click()
    assert "王建国" in tab.inner_text("main") and "审核中" in tab.inner_text("main")
    snap(tab, "claims-relatives", full_page=True)
    tab.goto(site.url + "/me/claims/new")
    tab.fill("input[name=hospital_name]", "上海市某民营医院")
    tab.fill("input[name=hospital_region]", "310104")
    tab.fill("input[name=invoice_no]", "B-0001")
    tab.fill("input[name=transfused_at]", "2025-06-01")
    tab.fill("input[name=volume_ml]", "400")
    tab.fill("input[name=amount_yuan]", "520")
    with tab.expect_navigation():
        tab.get_by_role("button", name="试算可报销金额").click()
    assert "预计可报销 520.00 元" in tab.inner_text("#quote")
    tab.set_input_files("input[name=invoice]", files=[_file("invoice.pdf")])
    tab.set_input_files("input[name=itemised_bill]", files=[_file("bill.pdf")])
    snap(tab, "claims-new", full_page=True)
    with tab.expect_navigation():
        tab.get_by_role("button", name="提交").click()
    assert tab.url.endswith("/me/claims")
    assert "已提交" in tab.inner_text(".claim-status")


def _reviewer_approves(browser: Any, site: Site) -> None:
    olga = create_staff(site.db, "olga-claims", "station_operator", "33000001")
    desk = new_phone_page(browser)
    desk.set_viewport_size({"width": 1280, "height": 900})
    try:
        desk.goto(site.url + "/console/login?next=/console/claims")
        desk.fill("input[name=username]", olga.username)
        desk.fill("input[name=password]", olga.password)
        desk.fill("input[name=code]", olga.code())
        with desk.expect_navigation():
            desk.get_by_role("button", name="登录", exact=True).click()
        desk.goto(site.url + "/console/claims")
        with desk.expect_navigation():
            desk.locator("#claims-queue a").first.click()
        assert desk.locator("ul.documents a").count() == 2
        snap(desk, "console-claim")
        desk.check("input[value=approve]")
        desk.fill("input[name=payout_reference]", "TX-20251201-01")
        with desk.expect_navigation():
            desk.get_by_role("button", name="提交").click()
        assert "已批准" in desk.inner_text("#claim-status")
        assert desk.console_errors == []
    finally:
        desk.context.close()


def test_a_donor_files_a_claim_with_a_pdf_and_sees_it_approved_by_the_reviewer(
    browser: Any, fresh_site: Site
) -> None:
    tab = new_phone_page(browser)
    try:
        _donor_files_a_claim(tab, fresh_site)
        _reviewer_approves(browser, fresh_site)
        with fresh_site.db.transaction() as uow:
            [relative] = rel.queue(uow, None, "pending")
            rel.decide(
                uow, Actor("staff:olga", None, b"", b"", datetime.now(UTC)), None, relative.id, "approve", ""
            )
        tab.goto(fresh_site.url + "/me/claims")
        assert "已批准" in tab.inner_text(".claim-status")
        assert "TX-20251201-01" in tab.inner_text("main")
        snap(tab, "claims-list", full_page=True)
        tab.goto(fresh_site.url + "/me/relatives?lang=en")
        assert "Approved" in tab.inner_text("main")
        assert tab.console_errors == []
        assert all(url.startswith(fresh_site.url) for url in tab.requested)  # no external requests
    finally:
        tab.context.close()
