"""Find a site by the phone's location and book a slot, in a real browser at 390×844."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bloodcert.domain.clock import BEIJING
from bloodcert.services.sites import save_site, set_day_slots
from tests.browser.conftest import Site, new_phone_page
from tests.browser.helpers import snap
from tests.factories import LI_LEI

pytestmark = pytest.mark.browser

TOMORROW = datetime.now(BEIJING).date() + timedelta(days=1)
HOUSE = {
    "name": "武林广场献血屋",
    "type": "fixed",
    "region": "330105",
    "lat": 30.2741,
    "lon": 120.1650,
    "address": "杭州市拱墅区武林广场1号",
    "hours": [{"weekday": d, "opens": "08:30", "closes": "17:00"} for d in range(1, 8)],
}


def _sites(site: Site) -> None:
    with site.db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        save_site(uow, station.id, "WL01", json.dumps(HOUSE).encode(), datetime.now(UTC))
        far = {**HOUSE, "name": "天一广场献血屋", "region": "330203", "lat": 29.8683, "lon": 121.5440}
        save_site(uow, station.id, "NB01", json.dumps(far).encode(), datetime.now(UTC))
        slots = {
            "date": TOMORROW.isoformat(),
            "slots": [{"starts_at": "09:00", "capacity": 2}, {"starts_at": "10:00", "capacity": 1}],
        }
        set_day_slots(uow, station.id, "WL01", json.dumps(slots).encode())


def test_a_donor_finds_the_nearest_site_by_location_and_books_a_slot(browser: Any, fresh_site: Site) -> None:
    _sites(fresh_site)
    page = new_phone_page(
        browser, geolocation={"latitude": 30.19, "longitude": 120.26}, permissions=["geolocation"]
    )
    try:
        fresh_site.log_in(page, LI_LEI, "LI0001")
        page.goto(fresh_site.url + f"/sites?open_on={TOMORROW.isoformat()}")
        with page.expect_navigation():
            page.get_by_role("button", name="使用我的位置").click()
        assert "near=30.19" in page.url
        names = page.locator(".site-card h2").all_inner_texts()
        assert names == ["武林广场献血屋", "天一广场献血屋"]  # nearest first
        assert "公里" in page.locator(".site-card").first.inner_text()
        snap(page, "sites-finder", full_page=True)
        page.get_by_role("link", name="武林广场献血屋").click()
        page.locator("input[name=slot_id]").first.check()
        page.select_option("select[name=kind]", "whole_blood")
        snap(page, "sites-site", full_page=True)
        page.get_by_role("button", name="预约").click()
        page.wait_for_url("**/me/appointments")
        assert "武林广场献血屋" in page.inner_text("main") and "已预约" in page.inner_text("main")
        snap(page, "sites-my-bookings", full_page=True)
        page.goto(fresh_site.url + "/sites?lang=en")
        snap(page, "sites-finder-en", full_page=True)
        assert page.console_errors == []
        assert all(url.startswith(fresh_site.url) for url in page.requested)  # no external requests
    finally:
        page.context.close()
