"""The browsable API reference (/api/v1/docs): every operation and schema of the OpenAPI document is on it,
its assets are the app's own, and it needs neither script nor inline style under the platform's CSP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from bloodcert.web.openapi import METHODS, operation_anchor, prose, reference, schema_anchor, type_of
from bloodcert.web.security import CONTENT_SECURITY_POLICY
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY


class _Page(HTMLParser):
    """What a browser would fetch or run: ids, links, assets, scripts and inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.assets: list[str] = []
        self.scripts = 0
        self.inline_styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if "style" in values or tag == "style":
            self.inline_styles += 1
        if tag == "script" or any(k.startswith("on") for k in values):
            self.scripts += 1
        if tag == "a":
            self.links.append(values.get("href", ""))
        if tag == "link" or (tag in ("img", "script") and "src" in values):
            self.assets.append(values.get("href") or values.get("src", ""))


@pytest.fixture
def client(sqlite_db: Database, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    settings = Settings(
        database_url=sqlite_db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
    )
    with TestClient(app=create_app(settings, db=sqlite_db)) as test_client:
        yield test_client


def _page(client: TestClient) -> tuple[str, _Page]:  # type: ignore[type-arg]
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    parser = _Page()
    parser.feed(response.text)
    return response.text, parser


def test_the_reference_lists_every_operation_of_the_openapi_document(client: TestClient) -> None:  # type: ignore[type-arg]
    doc = client.get("/api/v1/openapi.json").json()
    html, page = _page(client)
    operations = [(m, p) for p, item in doc["paths"].items() for m in METHODS if m in item]
    assert len(operations) >= 15
    for method, path in operations:
        anchor = operation_anchor(method, path)
        assert anchor in page.ids, f"{method.upper()} {path} is not on the page"
        assert f"#{anchor}" in page.links, f"{method.upper()} {path} is not in the contents"
        assert f"<code>{path}</code>" in html


def test_the_reference_describes_every_schema_and_every_link_lands(client: TestClient) -> None:  # type: ignore[type-arg]
    doc = client.get("/api/v1/openapi.json").json()
    _html, page = _page(client)
    for name in doc["components"]["schemas"]:
        assert schema_anchor(name) in page.ids
    for link in page.links:
        if link.startswith("#"):
            assert link[1:] in page.ids, f"dangling link {link}"


def test_the_station_batch_body_is_described_with_the_record_fields(client: TestClient) -> None:  # type: ignore[type-arg]
    doc = client.get("/api/v1/openapi.json").json()
    body = doc["paths"]["/api/v1/station/donations"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/StationBatch"}
    html, _ = _page(client)
    for field in ("donor.id_number", "site.region", "volume_ml", "test_result"):
        assert f"<code>{field}</code>" in html


def test_the_reference_runs_no_script_and_no_inline_style(client: TestClient) -> None:  # type: ignore[type-arg]
    _html, page = _page(client)
    assert page.scripts == 0
    assert page.inline_styles == 0


def test_every_asset_of_the_reference_is_served_by_the_app(client: TestClient) -> None:  # type: ignore[type-arg]
    _html, page = _page(client)
    assert any("api-reference.css" in a for a in page.assets)
    for asset in page.assets:
        assert asset.startswith("/static/"), f"{asset} is not the app's own"
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.content


def test_the_reference_is_public_and_cacheable(client: TestClient) -> None:  # type: ignore[type-arg]
    client.cookies.clear()
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert "public" in response.headers["cache-control"]


def test_code_spans_and_named_types_are_marked_without_markup() -> None:
    parts = prose("a `BC1:` text <b>")
    assert [(p.text, p.code) for p in parts] == [("a ", False), ("BC1:", True), (" text <b>", False)]
    tokens = type_of(
        {"oneOf": [{"type": "array", "items": {"$ref": "#/components/schemas/X"}}, {"type": "null"}]}
    )
    assert [(t.text, t.anchor) for t in tokens] == [
        ("array of ", None),
        ("X", "schema-X"),
        (" | ", None),
        ("null", None),
    ]


def test_operations_are_grouped_by_tag_with_untagged_ones_last() -> None:
    doc = {
        "paths": {
            "/healthz": {"get": {"summary": "alive"}},
            "/api/v1/me": {"get": {"tags": ["donor"], "description": "who I am"}},
        }
    }
    groups = reference(doc).groups
    assert [(g.title, [o.path for o in g.operations]) for g in groups] == [
        ("Donors", ["/api/v1/me"]),
        ("Service", ["/healthz"]),
    ]
    assert re.fullmatch(r"get-healthz", groups[1].operations[0].anchor)


def test_integer_bounds_read_as_integers(client: TestClient) -> None:  # type: ignore[type-arg]
    html, _ = _page(client)
    assert "≥ 1; ≤ 500<" in html  # GET /api/v1/station/quality?limit=
    assert "500.0" not in html
