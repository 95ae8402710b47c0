"""The interface font loads from the app, so pages read on a device without a Chinese system font."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, new_phone_page

pytestmark = pytest.mark.browser

FAMILY = "bloodcert UI SC"


def test_the_interface_font_loads_and_renders_the_pages_chinese(browser: Any, site: Site) -> None:
    tab = new_phone_page(browser)
    fonts: list[tuple[str, int, str]] = []
    tab.on(
        "response",
        lambda r: (
            fonts.append((r.url, r.status, r.headers.get("content-type", "")))
            if r.request.resource_type == "font"
            else None
        ),
    )
    tab.goto(site.url + "/")
    tab.evaluate("document.fonts.ready")
    loaded = tab.evaluate(
        f"""async () => {{
            const faces = await document.fonts.load('16px "{FAMILY}"', '查询献血记录');
            return faces.map(f => [f.family.replaceAll('"', ''), f.status]);
        }}"""
    )
    assert loaded == [[FAMILY, "loaded"]]
    assert tab.evaluate(f"""document.fonts.check('16px "{FAMILY}"', '查询献血记录')""")
    assert [(status, kind) for url, status, kind in fonts if "bloodcert-ui-sc.woff2" in url] == [
        (200, "font/woff2")
    ]
    # The heading is drawn in it: as wide as the font's glyphs, not as a row of empty boxes.
    widths = tab.evaluate(
        f"""() => {{
            const c = document.createElement('canvas').getContext('2d');
            const w = font => (c.font = font, c.measureText('献血').width);
            return [w('32px "{FAMILY}"'), w('32px sans-serif')];
        }}"""
    )
    assert widths[0] == pytest.approx(64, abs=1)
    assert tab.console_errors == []
    tab.context.close()
