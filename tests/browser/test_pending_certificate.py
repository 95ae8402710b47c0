"""A donation back-filled with its signing deferred: on a phone, the donor sees it in the history and its
certificate page says the certificate is being issued; once `certs sign-pending` has run, the page shows it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bloodcert.services.certificates import signing_of
from bloodcert.services.importing import import_file
from bloodcert.services.pending_certificates import count_pending, sign_pending
from tests.browser.conftest import Site
from tests.browser.helpers import decode_screenshot, snap
from tests.conftest import INDEX_KEY
from tests.factories import make_record


def test_a_certificate_being_issued_is_a_page_that_says_so_until_it_is_signed(
    page: Any, fresh_site: Site, tmp_path: Path
) -> None:
    record = make_record(
        station="33000001",
        donation_no="ZJ26113001",
        donated_at="2026-11-28T10:00:00+08:00",
        site={"name": "武林广场献血屋", "type": "fixed", "region": "330103"},
    )
    path = tmp_path / "backfill.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    signing = signing_of(fresh_site.settings)
    summary = import_file(
        fresh_site.db, path, station_code=None, index_key=INDEX_KEY, signing=signing, defer_signing=True
    )
    assert summary.accepted == 1 and count_pending(fresh_site.db) == 1

    fresh_site.log_in(page)
    page.goto(fresh_site.url + "/me")
    newest = page.locator("li", has_text="2026年11月28日").first
    link = newest.get_by_role("link", name="查看献血证")
    href = link.get_attribute("href")
    assert href is not None
    with page.expect_navigation() as navigation:
        link.click()
    assert navigation.value.status == 409
    assert page.get_by_role("heading", name="证书签发中").is_visible()
    assert "证书正在签发" in page.get_by_role("status").inner_text()
    assert "certificate_pending" not in page.content()  # a page, never the API's problem document
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing overflows the phone's width
    snap(page, "certificate-pending")
    assert [e for e in page.console_errors if "status of 409" not in e] == []
    page.get_by_role("link", name="返回献血记录").click()
    assert page.url.endswith("/me")

    assert sign_pending(fresh_site.db, signing) == 1
    page.goto(fresh_site.url + href + "?show=1")
    texts = decode_screenshot(snap(page, "certificate-signed-after-backfill"))
    assert len(texts) == 1 and texts[0].startswith("BC1:")
