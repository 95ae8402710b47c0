"""Find a site by the phone's location, book a slot for today, answer the health questions and show the
pass, in a real browser at 390×844."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bloodcert.certs.verify import verify_qr
from bloodcert.domain.clock import BEIJING
from bloodcert.services.sites import save_site, set_day_slots
from bloodcert.services.verification import trust_list_from_db
from tests.browser.conftest import Site, new_phone_page
from tests.browser.helpers import decode_screenshot, snap, verify_via_api
from tests.factories import LI_LEI

pytestmark = pytest.mark.browser

TODAY = datetime.now(BEIJING).date()
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
            "date": TODAY.isoformat(),
            "slots": [{"starts_at": "09:00", "capacity": 2}, {"starts_at": "10:00", "capacity": 1}],
        }
        set_day_slots(uow, station.id, "WL01", json.dumps(slots).encode())


def test_a_donor_finds_a_site_books_answers_the_health_questions_and_shows_the_pass(
    browser: Any, fresh_site: Site
) -> None:
    _sites(fresh_site)
    page = new_phone_page(
        browser, geolocation={"latitude": 30.19, "longitude": 120.26}, permissions=["geolocation"]
    )
    try:
        fresh_site.log_in(page, LI_LEI, "LI0001")
        page.goto(fresh_site.url + f"/sites?open_on={TODAY.isoformat()}")
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
        page.get_by_role("link", name="回答健康征询").click()
        page.wait_for_url("**/me/health-check")
        for radio in page.locator("input[type=radio][value=no]").all():
            radio.check()
        for well in ("feel_well", "rested_and_fed"):
            page.check(f"input[name=q_{well}][value=yes]")
        snap(page, "health-check", full_page=True)
        page.get_by_role("button", name="提交").click()
        page.wait_for_url("**/me/health-check/pass")
        [qr] = decode_screenshot(snap(page, "donor-pass"))
        answer = verify_via_api(fresh_site, qr)
        assert (answer["valid"], answer["type"], answer["pass"]["site_name"]) == (
            True,
            "pass",
            "武林广场献血屋",
        )
        # Offline, the same pass is refused once its day is over (the clock moved, not slept).
        trust = trust_list_from_db(fresh_site.db, fresh_site.settings.issuer)
        midnight = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), BEIJING)
        late = verify_qr(qr, trust, lambda *_: None, midnight + timedelta(seconds=1))
        assert (late.valid, late.reason, late.type) == (False, "expired", "pass")
        page.goto(fresh_site.url + "/sites?lang=en")
        snap(page, "sites-finder-en", full_page=True)
        assert page.console_errors == []
        assert all(url.startswith(fresh_site.url) for url in page.requested)  # no external requests
    finally:
        page.context.close()
