"""Stations' public scorecards: checked against figures computed independently from generated data with
noise, public pages without personal data, a cache that recomputes only after its time."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar.testing import TestClient

from bloodcert.domain.clock import BEIJING
from bloodcert.services import scorecards
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import Submission, ingest
from bloodcert.services.stations import seed_builtin_stations
from bloodcert.services.synthetic import Generator
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.console_helpers import secure_client
from tests.api.test_console import signed_in
from tests.conftest import INDEX_KEY
from tests.factories import create_staff


def _generate(db: Database, signing: Signing, now: datetime) -> list[tuple[dict[str, Any], str]]:
    with db.transaction() as uow:
        seed_builtin_stations(uow, now)
        stations = {s.code: s for s in uow.stations.all()}
    today = now.astimezone(BEIJING).date()
    records = list(Generator(seed=7, noise=0.25, today=today).records(120))
    with db.transaction() as uow:
        results = ingest(
            uow,
            [Submission(stations[r["station"]], r) for r in records],
            index_key=INDEX_KEY,
            signing=signing,
            now=now,
            source="import",
        )
    return [(r, res.outcome) for r, res in zip(records, results, strict=True)]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_scorecards_match_figures_computed_independently_from_noisy_generated_data(
    db: Database, signing: Signing
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    outcomes = _generate(db, signing, now)
    assert {"created", "rejected"} <= {o for _, o in outcomes}
    received: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    delays: dict[str, list[float]] = defaultdict(list)
    final: dict[tuple[str, str], dict[str, Any]] = {}
    for record, outcome in outcomes:
        station = record["station"]
        if outcome == "rejected":
            rejected[station] += 1
        elif outcome in ("created", "updated"):
            received[station] += 1
            final[(station, record["donation_no"])] = record
            if outcome == "created":
                delays[station].append((now - _utc(record["donated_at"])).total_seconds() / 86400)
    first_month = scorecards.months_back(now.astimezone(BEIJING).date(), 12)[0]
    monthly: dict[str, Counter[date]] = defaultdict(Counter)
    for (station, _), record in final.items():
        day = date.fromisoformat(record["donated_at"][:10])
        if record["status"] == "valid" and day >= first_month:
            monthly[station][date(day.year, day.month, 1)] += 1

    with db.reading() as uow:
        cards = scorecards.compute(uow, now)
    busy = [code for code in received if received[code] + rejected[code] > 0]
    assert len(busy) > 10
    for code in set(busy) | set(rejected):
        card = cards[code]
        assert (card.received, card.rejected) == (received[code], rejected[code]), code
        total = received[code] + rejected[code]
        assert card.rejection_rate == rejected[code] / total
        assert {m: n for m, n in card.months if n} == dict(monthly[code]), code
        mine = sorted(delays[code])
        if mine:
            assert card.median_delay_days is not None
            assert abs(card.median_delay_days - statistics.median(mine)) < 1e-6
            # The 90th percentile by the inclusive method, by hand: interpolate at 0.9 × (n − 1).
            position = 0.9 * (len(mine) - 1)
            low = int(position)
            high = min(low + 1, len(mine) - 1)
            expected = mine[low] + (mine[high] - mine[low]) * (position - low)
            assert card.p90_delay_days is not None
            assert abs(card.p90_delay_days - expected) < 1e-3, code
    quiet = next(c for c in cards.values() if c.code not in received and c.code not in rejected)
    assert (quiet.donations, quiet.median_delay_days, quiet.rejection_rate) == (0, None, None)


def test_the_public_pages_show_the_figures_and_no_personal_data(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    outcomes = _generate(db, signing, datetime.now(UTC))
    listed = client.get(BASE + "/stations?province=33")
    assert listed.status_code == 200
    station = next(r["station"] for r, o in outcomes if o == "created")
    page = client.get(BASE + f"/stations/{station}")
    assert page.status_code == 200 and station in page.text
    for record, _ in outcomes:
        for text in (listed.text, page.text):
            assert record["donor"]["id_number"] not in text
            assert record["donor"]["name"] not in text
    assert client.get(BASE + "/stations/NOPE").status_code == 404
    assert "血站信息公开" in client.get(BASE + "/stations").text


def test_the_cache_recomputes_only_after_its_time(db: Database, signing: Signing) -> None:
    moment = [0.0]
    cache = scorecards.ScorecardCache(ttl=60, clock=lambda: moment[0])
    with db.transaction() as uow:
        seed_builtin_stations(uow, datetime.now(UTC))
    assert sum(c.donations for c in cache.get(db).values()) == 0
    _generate(db, signing, datetime.now(UTC) + timedelta(seconds=1))
    assert sum(c.donations for c in cache.get(db).values()) == 0
    moment[0] = 61.0
    assert sum(c.donations for c in cache.get(db).values()) > 0


def test_the_console_shows_each_role_the_scorecards_it_reaches(
    settings: Any, db: Database, signing: Signing
) -> None:
    _generate(db, signing, datetime.now(UTC))
    with secure_client(settings, db) as client:
        olga = create_staff(db, "olga", "station_operator", "33000001")
        signed_in(client, db, olga)
        mine = client.get("/console/scorecards")
        assert mine.status_code == 200
        assert "/console/stations/33000001/quality" in mine.text and "31000001" not in mine.text
        petra = create_staff(db, "petra", "provincial_admin", province="31")
        signed_in(client, db, petra)
        province = client.get("/console/scorecards").text
        assert "/console/stations/31000001/quality" in province and "33000001" not in province
        ada = create_staff(db, "ada", "national_admin")
        signed_in(client, db, ada)
        national = client.get("/console/scorecards").text
        assert "33000001" in national and "31000001" in national
        audrey = create_staff(db, "audrey", "auditor")
        signed_in(client, db, audrey)
        assert client.get("/console/scorecards").status_code == 403
