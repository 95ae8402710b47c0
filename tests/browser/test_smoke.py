"""The served app answers a real browser without errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_chromium_reads_health_and_the_openapi_document(page: Any, live_server: str) -> None:
    response = page.goto(live_server + "/healthz")
    assert response.status == 200
    assert page.inner_text("body").strip() == "ok"
    doc = page.goto(live_server + "/api/v1/openapi.json")
    assert json.loads(doc.text())["openapi"].startswith("3.1")
    assert page.console_errors == []
