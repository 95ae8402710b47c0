"""A live server in a thread and Debian's Chromium driven by Playwright, at a phone's viewport."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.services.certificates import rotate_keys, signing_of
from bloodcert.services.reporting import report_donations
from bloodcert.services.stations import seed_builtin_stations
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests import conftest as shared
from tests.conftest import GENEROUS_LIMITS, INDEX_KEY
from tests.factories import LI_LEI, WANG_FANG, make_record
from tests.live_server import free_port, serve_app

CHROMIUM = "/usr/bin/chromium"
# The suite-wide keys when tests/conftest.py defines them, else fixed ones of our own (32 bytes each).
DATA_KEY: bytes = getattr(shared, "DATA_KEY", bytes(range(64, 96)))
AUDIT_KEY: bytes = getattr(shared, "AUDIT_KEY", bytes(range(96, 128)))
PHONE = {"width": 390, "height": 844}


@contextmanager
def serve(settings: Settings, db: Database, port: int | None = None) -> Iterator[str]:
    """The app served by uvicorn in a thread on `port` (or a free one); yields its base URL."""
    with serve_app(create_app(settings, db=db), port) as url:
        yield url


@pytest.fixture
def live_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A migrated SQLite database for the live server."""
    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}", data_key=DATA_KEY)
    yield db
    db.dispose()


@pytest.fixture
def live_settings(live_db: Database, tmp_path: Path) -> Settings:
    """The live server's settings: a demo (plain-http cookies) over `live_db`, keys under tmp_path."""
    return live_settings_for(live_db.url, tmp_path / "var")


def live_settings_for(url: str, data_dir: Path, base_url: str = "http://127.0.0.1:8000") -> Settings:
    """A demo (plain-http cookies) over `url`, with its keys under `data_dir`."""
    return Settings(
        public_base_url=base_url,
        database_url=url,
        data_dir=data_dir,
        index_key=INDEX_KEY,
        audit_key=AUDIT_KEY,
        data_key=DATA_KEY,
        demo=True,
        rate_limits=GENEROUS_LIMITS,
        audit_mode="sync",  # entries are in the database when the response is
    )


@pytest.fixture
def live_server(live_db: Database, live_settings: Settings) -> Iterator[str]:
    """The app served by uvicorn on a free port; yields its base URL."""
    with serve(live_settings, live_db) as url:
        yield url


# ---- a seeded site: stations, keys, and the personas' donation histories --------------------------------

# 王芳 has given blood in three provinces over six years; her last donation was five weeks ago, so the
# history page shows a date in the future for her next whole-blood donation.
STATIONS = {"33000001": "330000", "31000001": "310000", "11000001": "110000"}


# station, donation number, local date and time, kind, ml or units, site, site region, site type
WANG_DONATIONS = [
    ("33000001", "ZJ19041201", "2019-04-12T10:05", "whole_blood", 300, "武林广场献血屋", "330103", "fixed"),
    (
        "33000001",
        "ZJ19110203",
        "2019-11-02T14:30",
        "whole_blood",
        400,
        "黄龙体育中心献血屋",
        "330106",
        "fixed",
    ),
    (
        "33000001",
        "ZJ20071807",
        "2020-07-18T09:10",
        "platelets",
        1,
        "浙江省血液中心成分献血科",
        "330106",
        "fixed",
    ),
    ("31000001", "SH21030602", "2021-03-06T11:00", "whole_blood", 400, "人民广场献血屋", "310101", "fixed"),
    (
        "33000001",
        "ZJ22011505",
        "2022-01-15T09:40",
        "platelets",
        2,
        "浙江省血液中心成分献血科",
        "330106",
        "fixed",
    ),
    (
        "11000001",
        "BJ22092411",
        "2022-09-24T15:20",
        "whole_blood",
        400,
        "朝阳大悦城献血车",
        "110105",
        "mobile",
    ),
    (
        "33000001",
        "ZJ23061009",
        "2023-06-10T10:00",
        "whole_blood",
        400,
        "黄龙体育中心献血屋",
        "330106",
        "fixed",
    ),
    (
        "33000001",
        "ZJ24050104",
        "2024-05-01T09:30",
        "platelets",
        2,
        "浙江省血液中心成分献血科",
        "330106",
        "fixed",
    ),
    ("33000001", "NB25032206", "2025-03-22T16:10", "whole_blood", 400, "天一广场献血屋", "330203", "fixed"),
]


def wang_history(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """(station code, record) pairs for 王芳, oldest first, ending with one five weeks before `now`."""
    recent = (now - timedelta(days=36)).date()
    rows = [
        *WANG_DONATIONS,
        (
            "33000001",
            recent.strftime("ZJ%y%m%d02"),
            f"{recent}T10:20",
            "whole_blood",
            400,
            "武林广场献血屋",
            "330106",
            "fixed",
        ),
    ]
    pairs = []
    for station, number, when, kind, amount, site, region, site_type in rows:
        record = make_record(
            donation_no=number,
            donated_at=f"{when}:00+08:00",
            kind=kind,
            volume_ml=amount if kind == "whole_blood" else None,
            units=amount if kind == "platelets" else None,
            site={"name": site, "type": site_type, "region": region},
        )
        pairs.append((station, record))
    return pairs


def seed_site(db: Database, settings: Settings) -> None:
    """Keys (in the server's key directory), the built-in stations, and the personas' donations."""
    now = datetime.now(UTC)
    with db.transaction() as uow:
        rotate_keys(uow, signing_of(settings), now)
        seed_builtin_stations(uow, now)
    batches = [*wang_history(now), ("11000001", make_record(donation_no="LI0001", donor=LI_LEI))]
    with db.transaction() as uow:
        for code, record in batches:
            station = uow.stations.get_by_code(code)
            assert station is not None
            results = report_donations(
                uow,
                station=station,
                records=[record],
                index_key=INDEX_KEY,
                signing=signing_of(settings),
                now=now,
            )
            assert results[0].outcome == "created", results[0]


@dataclass(frozen=True)
class Site:
    """A seeded live server."""

    url: str
    db: Database
    settings: Settings

    def log_in(self, page: Any, donor: dict[str, Any] = WANG_FANG, donation_no: str = "ZJ19041201") -> None:
        """Log `page`'s browser context in through the JSON API (the cookie lands in the context)."""
        body = {k: donor[k] for k in ("id_type", "id_number", "name")} | {"donation_no": donation_no}
        response = page.request.post(self.url + "/api/v1/auth/login", data=body)
        assert response.status == 200, response.text()


@contextmanager
def seeded(root: Path, template: Path) -> Iterator[Site]:
    """A fresh seeded database under `root`, served."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "site.db"
    shutil.copy(template, path)
    db = Database(f"sqlite:///{path}", data_key=DATA_KEY)
    port = free_port()  # known before the settings, so that provider callbacks come back to this server
    settings = live_settings_for(db.url, root / "var", f"http://127.0.0.1:{port}")
    seed_site(db, settings)
    try:
        with serve(settings, db, port) as url:
            yield Site(url, db, settings)
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    """One seeded server for the read-mostly page tests (logins here never fail, so no captcha)."""
    with seeded(tmp_path_factory.mktemp("site"), sqlite_template) as running:
        yield running


@pytest.fixture
def fresh_site(tmp_path: Path, sqlite_template: Path) -> Iterator[Site]:
    """A seeded server of its own, for tests that count login failures."""
    with seeded(tmp_path / "fresh", sqlite_template) as running:
        yield running


# ---- the browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium; skipped when absent unless BLOODCERT_REQUIRE_BROWSER=1."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("BLOODCERT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required (BLOODCERT_REQUIRE_BROWSER=1) but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-component-update",
            ],
        )
        yield instance
        instance.close()


def new_phone_page(browser: Any, **options: Any) -> Any:
    """A phone-sized tab that records console errors in `.console_errors` and requests in `.requested`."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", **options)
    tab = context.new_page()
    errors: list[str] = []
    requested: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("request", lambda request: requested.append(request.url))
    tab.console_errors = errors
    tab.requested = requested
    return tab


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized page that records console errors in `page.console_errors`."""
    tab = new_phone_page(browser)
    yield tab
    tab.context.close()
