"""Request ids: passed through from the load balancer or made, echoed, and on every JSON log line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from bloodcert.web.logs import JsonFormatter
from bloodcert.web.metrics import instrument
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY
from tests.live_server import serve_app


@pytest.fixture
def base(sqlite_db: Database, tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        database_url=sqlite_db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
    )
    with serve_app(instrument(create_app(settings, db=sqlite_db))) as url:
        yield url


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """The access log at level info, as the JSON lines `bloodcert serve` writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bloodcert.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.setLevel(level)
    logger.removeHandler(handler)


def test_a_request_keeps_the_load_balancers_id_and_gets_one_otherwise(
    base: str, access_lines: io.StringIO
) -> None:
    with httpx.Client(base_url=base) as client:
        passed = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c"})
        made = client.get("/no/such/page")
        unusable = client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert passed.headers["X-Request-ID"] == "lb-7f3a9c"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", unusable.headers["X-Request-ID"])
    lines = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    assert [(e["request_id"], e["route"], e["status"]) for e in lines] == [
        ("lb-7f3a9c", "/healthz", 200),
        (made.headers["X-Request-ID"], "unmatched", 404),
        (unusable.headers["X-Request-ID"], "/healthz", 200),
    ]
    assert all(e["logger"] == "bloodcert.access" and e["level"] == "info" for e in lines)
