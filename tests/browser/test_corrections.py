"""A donor files a 补录 request in a real browser at 390×844 and sees it resolved after the station
back-fills the record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bloodcert.services import corrections
from bloodcert.services.certificates import signing_of
from bloodcert.services.reporting import report_donations
from tests.browser.conftest import Site, new_phone_page
from tests.browser.helpers import snap
from tests.conftest import INDEX_KEY
from tests.factories import make_record

pytestmark = pytest.mark.browser
STATION = "11000001"


def _station_back_fills(site: Site) -> None:
    """What the station does through its API: report the missing donation, then resolve the request."""
    now = datetime.now(UTC)
    with site.db.transaction() as uow:
        station = uow.stations.get_by_code(STATION)
        assert station is not None
        record = make_record(
            donation_no="BJ2019060101",
            donated_at="2019-06-01T10:00:00+08:00",
            site={"name": "王府井献血屋", "type": "fixed", "region": "110101"},
        )
        [result] = report_donations(
            uow,
            station=station,
            records=[record],
            index_key=INDEX_KEY,
            signing=signing_of(site.settings),
            now=now,
        )
        assert result.outcome == "created"
        [request] = corrections.of_station(uow, station.id, "open")
        actor = corrections.Actor("station", f"station:{STATION}", None, site.settings.audit_key)
        corrections.answer(
            uow,
            request.row,
            action="resolved",
            message="已核实并补录",
            donation_no="BJ2019060101",
            actor=actor,
            now=now,
        )


def test_a_donor_files_a_back_fill_and_sees_it_resolved(browser: Any, fresh_site: Site) -> None:
    page = new_phone_page(browser)
    try:
        fresh_site.log_in(page)
        page.goto(fresh_site.url + "/me")
        page.get_by_role("link", name="记录有误或缺少献血记录？纠错与补录").click()
        page.wait_for_url("**/me/corrections")
        page.fill("#m-day", "2019-06-01")
        page.select_option("#m-station", STATION)
        page.fill("#m-site", "王府井献血屋")
        page.fill("#m-volume", "400")
        page.fill("#m-message", "2019 年 6 月在北京献血，纸质证号 BJ123")
        snap(page, "corrections-form", full_page=True)
        with page.expect_navigation():
            page.locator("#missing").get_by_role("button", name="提交申请").click()
        assert "申请已提交" in page.inner_text("main")
        assert page.locator(".request").first.get_attribute("data-status") == "open"
        _station_back_fills(fresh_site)
        page.reload()
        main = page.inner_text("main")
        assert "已解决" in main and "已核实并补录" in main and "BJ2019060101" in main
        snap(page, "corrections-resolved", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.goto(fresh_site.url + "/me")
        assert "BJ2019060101" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # usable at 390×844
        assert page.console_errors == []
        assert all(url.startswith(fresh_site.url) for url in page.requested)  # no external requests
    finally:
        page.context.close()
