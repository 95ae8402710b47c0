"""The staff console in Chromium: log in with password and TOTP, then the stations pages, checked with axe."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, new_phone_page
from tests.browser.helpers import snap
from tests.factories import create_staff

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}


def assert_accessible(tab: Any, label: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = [v for v in Axe().run(tab).response["violations"] if v["impact"] in SERIOUS]
    assert violations == [], (label, [(v["id"], v["nodes"][0]["html"]) for v in violations])
    assert tab.locator("script:not([src])").count() == 0, label
    assert tab.locator("[style]").count() == 0, label


def test_an_administrator_logs_in_and_manages_stations(browser: Any, site: Site) -> None:
    ada = create_staff(site.db, "ada-browser", "national_admin")
    tab = new_phone_page(browser)
    tab.set_viewport_size({"width": 1280, "height": 900})  # staff work at a desk
    response = tab.goto(site.url + "/console/stations")
    assert response.status == 401
    with tab.expect_navigation():
        tab.get_by_role("link", name="前往登录").click()
    assert tab.get_by_role("heading", name="登录管理控制台").is_visible()
    assert_accessible(tab, "login")
    snap(tab, "console-login")
    tab.fill("input[name=username]", ada.username)
    tab.fill("input[name=password]", ada.password)
    tab.fill("input[name=code]", ada.code())
    with tab.expect_navigation():
        tab.get_by_role("button", name="登录", exact=True).click()
    # Back where the 401 page was asked for, now signed in.
    assert tab.url == site.url + "/console/stations"
    assert tab.get_by_role("heading", name="血站", exact=True).is_visible()
    assert tab.locator("table.data tbody tr").count() == 50  # a page of the seeded stations
    assert "ada-browser" in tab.locator("footer").inner_text()
    assert_accessible(tab, "stations")
    snap(tab, "console-stations")
    tab.fill("input[name=q]", "33000001")
    with tab.expect_navigation():
        tab.get_by_role("button", name="搜索").click()
    with tab.expect_navigation():
        tab.get_by_role("link", name="33000001").click()
    assert tab.get_by_role("heading", name="签名公钥").is_visible()
    assert_accessible(tab, "station")
    with tab.expect_navigation():
        tab.get_by_role("link", name="查看数据质量").click()
    assert tab.locator("figure.chart svg[role=img]").count() == 2
    assert_accessible(tab, "quality")
    headers = tab.request.get(site.url + "/console/stations").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert tab.console_errors == [] or all("401" in e for e in tab.console_errors)
    tab.context.close()
