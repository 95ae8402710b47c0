"""Every page against the quality bar: security headers, no outside requests, accessibility, asset budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import Site, new_phone_page
from tests.browser.helpers import BUDGET, certificate_qr, gzipped_size

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}


def _visit_every_page(tab: Any, site: Site) -> Iterator[str]:
    """Open each page (and each state of the verifier), yielding a label after each one loads."""
    number, qr = certificate_qr(site)
    for label, path in (
        ("login", "/"),
        ("login: a platform login came back empty", "/?login_error=no_record"),
        ("demo platform", "/api/v1/auth/providers/demo/start"),
        ("verify", "/verify"),
    ):
        tab.goto(site.url + path)
        yield label
    tab.fill("textarea[name=qr]", qr)
    with tab.expect_navigation():
        tab.get_by_role("button", name="验证", exact=True).click()
    yield "verify: valid"
    tab.fill("textarea[name=qr]", qr[:-9] + "AAAAAAAAA")
    with tab.expect_navigation():
        tab.get_by_role("button", name="验证", exact=True).click()
    yield "verify: invalid"
    site.log_in(tab)
    for label, path in (
        ("history", "/me"),
        ("history by year", "/me?group_by=year"),
        ("history by province", "/me?group_by=province&region=33"),
        ("certificate", f"/me/certificates/{number}"),
        ("show to verifier", f"/me/certificates/{number}?show=1"),
        ("english history", "/me?lang=en"),
    ):
        tab.goto(site.url + path)
        yield label


def test_every_page_meets_the_quality_bar(browser: Any, site: Site) -> None:
    from axe_playwright_python.sync_playwright import Axe

    tab = new_phone_page(browser)
    assets: dict[str, int] = {}
    documents: list[Any] = []

    def record(response: Any) -> None:
        if response.request.resource_type in ("script", "stylesheet"):
            assets[response.url] = gzipped_size(response.body())
        elif response.request.resource_type == "document":
            documents.append(response)

    tab.on("response", record)
    axe = Axe()
    for label in _visit_every_page(tab, site):
        tab.wait_for_load_state("load")
        headers = documents[-1].all_headers()
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "object-src 'none'" in csp, label
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, label
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "camera=(self)" in headers["permissions-policy"]
        assert "strict-transport-security" not in headers  # plain http: HSTS only over https
        page_assets = tab.evaluate(
            "[...document.querySelectorAll('script[src], link[rel=stylesheet]')].map(e => e.src || e.href)"
        )
        assert page_assets, label
        assert sum(assets[url] for url in page_assets) < BUDGET, (label, assets)
        assert tab.locator("script:not([src])").count() == 0, label
        assert tab.locator("[style]").count() == 0, label
        assert tab.locator("a[lang], .show-lang a").count() >= 1, label  # the language switch
        violations = [v for v in axe.run(tab).response["violations"] if v["impact"] in SERIOUS]
        assert violations == [], (label, [(v["id"], v["nodes"][0]["html"]) for v in violations])
    outside = [u for u in tab.requested if not u.startswith((site.url, "data:", "blob:"))]
    assert outside == []
    assert tab.console_errors == []
    tab.context.close()


def test_the_login_page_with_a_captcha_is_accessible(browser: Any, fresh_site: Site) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from tests.browser.helpers import fill_login

    tab = new_phone_page(browser)
    tab.goto(fresh_site.url + "/")
    for _ in range(4):
        fill_login(tab, donation_no="nope")
        tab.get_by_role("button", name="登录查询").click()
    assert tab.locator("input[name=captcha_answer]").count() == 1
    violations = [v for v in Axe().run(tab).response["violations"] if v["impact"] in SERIOUS]
    assert violations == []
    assert tab.console_errors == []
    tab.context.close()
