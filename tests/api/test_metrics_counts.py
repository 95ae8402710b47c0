"""What the metrics count, in one process: waivers by event, and requests by route template."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from bloodcert.web.metrics import instrument
from tests.api.hospital_helpers import HospitalKey, create_hospital, donation, post, report, waiver_body
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY, signing_for
from tests.factories import create_station, make_record
from tests.live_server import serve_app

REVERSE = "/api/v1/hospital/waivers/{waiver_id}/reverse"


@pytest.fixture
def hospital(sqlite_db: Database, tmp_path: Path) -> HospitalKey:
    station = create_station(sqlite_db, "33000001", region="330000")
    report(sqlite_db, signing_for(tmp_path), station, donation("D1"))
    return create_hospital(sqlite_db)


@pytest.fixture
def base(sqlite_db: Database, tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        database_url=sqlite_db.url,
        data_dir=tmp_path / "var",
        index_key=INDEX_KEY,
        data_key=DATA_KEY,
        rate_limits=GENEROUS_LIMITS,
        audit_mode="sync",
    )
    with serve_app(instrument(create_app(settings, db=sqlite_db))) as url:
        yield url


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_waivers_are_counted_once_committed_and_requests_by_their_route_template(
    base: str, hospital: HospitalKey
) -> None:
    before = {e: count("bloodcert_waivers_total", event=e) for e in ("claimed", "replayed", "reversed")}
    reversals = count("bloodcert_http_requests_total", route=REVERSE, method="POST", status="200")
    claim = base + "/api/v1/hospital/waivers"
    with httpx.Client(timeout=10) as client:
        first = post(client, hospital, claim, waiver_body())
        assert first.status_code == 201, first.text
        assert post(client, hospital, claim, waiver_body()).status_code == 200
        assert post(client, hospital, claim, waiver_body(transfused_at="2025-06-02")).status_code == 409
        url = f"{claim}/{first.json()['waiver_id']}/reverse"
        assert post(client, hospital, url, {}).status_code == 200
        assert post(client, hospital, url, {}).status_code == 409
    after = {e: count("bloodcert_waivers_total", event=e) for e in before}
    assert {e: after[e] - before[e] for e in before} == {"claimed": 1, "replayed": 1, "reversed": 1}
    assert count("bloodcert_http_requests_total", route=REVERSE, method="POST", status="200") == reversals + 1
    assert count("bloodcert_http_requests_total", route=REVERSE, method="POST", status="409") >= 1


def test_an_import_counts_its_records_rejections_and_certificates_under_its_own_source(
    sqlite_db: Database, tmp_path: Path
) -> None:
    from bloodcert.services.importing import import_file

    create_station(sqlite_db, "33000001", region="330000")
    lines = [
        json.dumps(make_record(donation_no="I1")),
        json.dumps(make_record(donation_no="I2")),
        json.dumps(make_record(donation_no="I3", donor={"id_number": "330106199001011222"})),
        "{not json",
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    watched = {
        ("bloodcert_records_total", ("source", "import"), ("outcome", "created")): 2,
        ("bloodcert_records_total", ("source", "import"), ("outcome", "rejected")): 2,
        ("bloodcert_record_rejections_total", ("source", "import"), ("code", "invalid_checksum")): 1,
        ("bloodcert_record_rejections_total", ("source", "import"), ("code", "invalid_format")): 1,
        ("bloodcert_certificates_signed_total", ("source", "import")): 2,
    }
    before = {key: count(key[0], **dict(key[1:])) for key in watched}
    import_file(sqlite_db, path, station_code="33000001", index_key=INDEX_KEY, signing=signing_for(tmp_path))
    assert {key: count(key[0], **dict(key[1:])) - before[key] for key in watched} == watched
