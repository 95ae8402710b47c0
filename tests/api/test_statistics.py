"""National statistics in the console, checked against counts made independently from generated data, and
their CSV export; a provincial administrator sees their own province only."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bloodcert.config import Settings
from bloodcert.domain.clock import BEIJING
from bloodcert.domain.identity import IdType, merge_key
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.api.console_helpers import secure_client
from tests.api.test_console import signed_in
from tests.api.test_scorecards import _generate, _utc
from tests.factories import create_staff


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[Any]:
    with secure_client(settings, db) as test_client:
        yield test_client


def _expected(outcomes: list[tuple[dict[str, Any], str]], since: date, until: date) -> dict[str, Any]:
    final: dict[tuple[str, str], dict[str, Any]] = {}
    for record, outcome in outcomes:
        if outcome in ("created", "updated"):
            final[(record["station"], record["donation_no"])] = record
    valid = [r for r in final.values() if r["status"] == "valid"]

    def person(r: dict[str, Any]) -> str:
        d = r["donor"]
        return merge_key(IdType(d["id_type"]), d["id_number"], d["name"], d["abo"])

    first_ever: dict[str, datetime] = {}
    for r in valid:
        when = _utc(r["donated_at"])
        first_ever[person(r)] = min(first_ever.get(person(r), when), when)
    by_province: dict[str, list[Any]] = defaultdict(lambda: [0, set(), set()])
    total: list[Any] = [0, set(), set()]
    for r in valid:
        if not since <= date.fromisoformat(r["donated_at"][:10]) <= until:
            continue
        for bucket in (total, by_province[r["station"][:2]]):
            bucket[0] += 1
            bucket[1].add(person(r))
            if first_ever[person(r)] == _utc(r["donated_at"]):
                bucket[2].add(person(r))
    return {
        "total": (total[0], len(total[1]), len(total[2])),
        "provinces": {p: (b[0], len(b[1]), len(b[2])) for p, b in by_province.items()},
    }


def test_the_statistics_match_independent_counts_and_export_as_csv(
    client: Any, db: Database, signing: Signing
) -> None:
    now = datetime.now(UTC)
    outcomes = _generate(db, signing, now)
    today = now.astimezone(BEIJING).date()
    since, until = date(today.year - 2, 1, 1), today
    expected = _expected(outcomes, since, until)
    ada = create_staff(db, "ada", "national_admin")
    signed_in(client, db, ada)
    span = f"from={since:%Y-%m}&to={until:%Y-%m}"
    page = client.get(f"/console/statistics?{span}")
    assert page.status_code == 200
    donations, donors, first = expected["total"]
    assert f'<dd id="total-donations">{donations}</dd>' in page.text
    assert f'<dd id="total-donors">{donors}</dd>' in page.text
    assert f'<dd id="total-first">{first}</dd>' in page.text
    exported = client.get(f"/console/statistics?{span}&format=csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert sum(int(r["donations"]) for r in rows) == donations
    per_province: dict[str, int] = defaultdict(int)
    for r in rows:
        per_province[r["province"]] += int(r["donations"])
    assert dict(per_province) == {p: v[0] for p, v in expected["provinces"].items()}
    assert all(int(r["first_time"]) + int(r["repeat"]) == int(r["donors"]) for r in rows)
    for r in rows:  # no personal data: counts by province, month, kind and ABO only
        assert set(r) == {
            "province",
            "province_name",
            "month",
            "kind",
            "abo",
            "donations",
            "donors",
            "first_time",
            "repeat",
        }


def test_a_provincial_administrator_sees_their_province_only(
    client: Any, db: Database, signing: Signing
) -> None:
    now = datetime.now(UTC)
    outcomes = _generate(db, signing, now)
    today = now.astimezone(BEIJING).date()
    since = date(today.year - 2, 1, 1)
    province = max(_expected(outcomes, since, today)["provinces"].items(), key=lambda kv: kv[1][0])[0]
    petra = create_staff(db, "petra", "provincial_admin", province=province)
    signed_in(client, db, petra)
    span = f"from={since:%Y-%m}&to={today:%Y-%m}"
    page = client.get(f"/console/statistics?{span}")
    donations = _expected(outcomes, since, today)["provinces"][province][0]
    assert f'<dd id="total-donations">{donations}</dd>' in page.text
    other = "11" if province != "11" else "31"
    assert client.get(f"/console/statistics?{span}&province={other}").status_code == 403
    assert client.get("/console/statistics?from=2020-13&to=2020-01").status_code == 400
