"""A donor reads the message about a new record, chooses call-ups by SMS, and reads the supply page, at 390×844."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, new_phone_page
from tests.browser.helpers import snap

pytestmark = pytest.mark.browser


def test_a_donor_reads_messages_chooses_call_ups_and_sees_the_supply(browser: Any, fresh_site: Site) -> None:
    page = new_phone_page(browser)
    try:
        fresh_site.log_in(page)
        page.goto(fresh_site.url + "/me/inbox")
        assert "新的献血记录" in page.inner_text("main")
        snap(page, "messages-inbox", full_page=True)
        page.get_by_role("link", name="通知设置").click()
        page.locator("input[name=c_callup_sms]").check()
        page.fill("#phone", "13800138000")
        page.select_option("#home_region", "330100")
        snap(page, "messages-settings", full_page=True)
        page.get_by_role("button", name="保存").click()
        page.wait_for_url("**/me/notifications?saved=1")
        assert page.locator("input[name=c_callup_sms]").is_checked()
        page.goto(fresh_site.url + "/supply?lang=en")
        assert "Blood supply by province" in page.inner_text("main")
        page.goto(fresh_site.url + "/learn/before")
        snap(page, "learn-before", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        assert page.console_errors == []
        assert all(url.startswith(fresh_site.url) for url in page.requested)  # no external requests
    finally:
        page.context.close()
