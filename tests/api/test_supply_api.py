"""Supply levels through the signed station API and the public page; call-up links; health education."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.domain.notifications import Preferences, Topic, choices_from_json
from bloodcert.services import notifications as notify
from bloodcert.services import supply
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.console_helpers import csrf_token, secure_client
from tests.api.test_donor_api import seed
from tests.api.test_sites_api import signed
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY
from tests.factories import create_station, make_record


@pytest.fixture
def web(sqlite_db: Database, tmp_path: Path) -> Iterator[Any]:
    settings = Settings(
        database_url=sqlite_db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
        audit_mode="sync",
    )
    with secure_client(settings, sqlite_db) as client:
        yield client


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _levels(*items: tuple[str, str, str]) -> dict[str, Any]:
    return {"levels": [{"abo": a, "rhd": r, "level": lv} for a, r, lv in items]}


def test_a_station_publishes_levels_and_anyone_reads_them_by_province(web: Any, sqlite_db: Database) -> None:
    key = create_station(sqlite_db, "33010001", region="330100")
    published = signed(
        web,
        key,
        "PUT",
        "/api/v1/station/supply",
        _levels(("O", "positive", "low"), ("AB", "negative", "adequate")),
    )
    assert published.status_code == 200, published.text
    assert {(lv["abo"], lv["rhd"], lv["level"]) for lv in published.json()["levels"]} == {
        ("O", "positive", "low"),
        ("AB", "negative", "adequate"),
    }
    assert published.json()["callups"][0]["reached"] == 0
    public = web.get("/api/v1/supply").json()
    assert public == {
        "provinces": [
            {
                "code": "33",
                "name": "浙江省",
                "stations": [
                    {
                        "code": "33010001",
                        "name": "测试血站33010001",
                        "levels": {"O+": "low", "AB-": "adequate"},
                    }
                ],
            }
        ]
    }
    page = web.get("/supply?lang=en")
    assert "Blood supply by province" in text(page.text) and 'data-level="low"' in page.text


def test_a_malformed_report_is_refused_with_the_field(web: Any, sqlite_db: Database) -> None:
    key = create_station(sqlite_db)
    twice = signed(
        web,
        key,
        "PUT",
        "/api/v1/station/supply",
        _levels(("O", "positive", "low"), ("O", "positive", "critical")),
    )
    unknown = signed(web, key, "PUT", "/api/v1/station/supply", _levels(("O", "positive", "plenty")))
    assert twice.status_code == 400 and twice.json()["errors"][0]["field"] == "levels[1]"
    assert unknown.status_code == 400
    assert web.get("/api/v1/supply").json() == {"provinces": []}


def test_a_station_sees_only_its_own_call_ups_and_an_unsigned_caller_none(
    web: Any, sqlite_db: Database
) -> None:
    mine, other = (
        create_station(sqlite_db, "33010001", region="330100"),
        create_station(sqlite_db, "31000001", region="310000"),
    )
    signed(web, mine, "PUT", "/api/v1/station/supply", _levels(("B", "positive", "critical")))
    assert len(signed(web, mine, "GET", "/api/v1/station/callups", None).json()["callups"]) == 1
    assert signed(web, other, "GET", "/api/v1/station/callups", None).json() == {"callups": []}
    assert web.get("/api/v1/station/callups").status_code == 401
    assert web.put("/api/v1/station/supply", json=_levels(("O", "positive", "low"))).status_code == 401


def test_the_call_up_link_offers_sites_and_stops_call_ups_with_one_button(
    web: Any, sqlite_db: Database, signing: Signing
) -> None:
    create_station(sqlite_db)
    seed(sqlite_db, signing, [make_record(donation_no="W1")])
    with sqlite_db.transaction() as uow:
        notify.save_preferences(
            uow, 1, Preferences(choices_from_json({"callup": ["inbox"]})), datetime.now(UTC)
        )
    token = supply.optout_token(INDEX_KEY, 1)
    page = web.get(f"/callups/{token}?region=33&lang=en")
    assert 'href="/sites?region=33"' in page.text and "Stop shortage call-ups" in text(page.text)
    stopped = web.post(
        f"/callups/{token}/stop?lang=en", data={"_csrf_token": csrf_token(web, f"/callups/{token}")}
    )
    assert stopped.status_code == 200 and "Call-ups are stopped." in text(stopped.text)
    with sqlite_db.reading() as uow:
        assert not notify.preferences_of(uow, 1).channels(Topic.CALLUP)
    forged = web.post(f"/callups/{'A' * 32}/stop", data={"_csrf_token": csrf_token(web, f"/callups/{token}")})
    assert forged.status_code == 404


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_health_page_reads_in_both_languages(web: Any, lang: str) -> None:
    index = web.get(f"/learn?lang={lang}")
    topics = re.findall(r'href="/learn/([a-z-]+)"', index.text)
    assert set(topics) == {"who", "before", "after", "kinds", "blood-types"}
    for topic in topics:
        page = web.get(f"/learn/{topic}?lang={lang}")
        assert page.status_code == 200 and f'data-topic="{topic}"' in page.text
        assert ("献血" in page.text) == (lang == "zh")
    assert web.get("/learn/nothing").status_code == 404
