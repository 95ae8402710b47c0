"""Candidate lists against an independent count over generated data, stations' decisions, and the CLI."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bloodcert.domain.identity import mask_id_number
from bloodcert.errors import NotFound, ValidationFailed
from bloodcert.services import honours
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import Submission, ingest
from bloodcert.services.stations import seed_builtin_stations
from bloodcert.services.synthetic import Generator
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY

LEVELS = ((40, "gold"), (30, "silver"), (20, "bronze"))


def load(db: Database, signing: Signing, persons: int, seed: int) -> list[dict[str, Any]]:
    with db.transaction() as uow:
        seed_builtin_stations(uow, datetime.now(UTC))
        stations = {s.code: s for s in uow.stations.all()}
    records = list(Generator(seed=seed).records(persons))
    with db.transaction() as uow:
        submissions = [Submission(stations[r["station"]], r) for r in records]
        ingest(uow, submissions, index_key=INDEX_KEY, signing=signing, now=datetime.now(UTC), source="import")
    return records


def count_of(record: dict[str, Any]) -> int:
    """The rules' count, written out again on its own: 1 per 200 ml, platelet units (x4 before 2010)."""
    if record["kind"] == "platelets":
        return record["units"] * (4 if record["donated_at"] < "2010-01-01" else 1)
    return int(record["volume_ml"]) // 200


def level(total: int) -> str | None:
    return next((name for floor, name in LEVELS if total >= floor), None)


def expected_candidates(
    records: list[dict[str, Any]], first_year: int, province: str | None
) -> dict[str, Any]:
    """(name, award, count) per donor who first reaches a level in the cycle, never having reached gold before
    it (donors with an earlier gold are left to the worked examples of the unit tests)."""
    by_person: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        d = r["donor"]
        by_person[(d["id_number"], d["name"], d["abo"])].append(r)
    start, cutoff = f"{first_year}-01-01", f"{first_year + 1}-12-31T99"
    expected: dict[str, Any] = {}
    for (number, name, _), mine in by_person.items():
        who = f"{name} {mask_id_number(number)}"
        if province and not any(r["station"][:2] == province for r in mine):
            continue
        before = sum(count_of(r) for r in mine if r["donated_at"] < start)
        by_cutoff = sum(count_of(r) for r in mine if r["donated_at"] < cutoff)
        if before >= 40:
            expected[who] = "skip"
            continue
        reached = level(by_cutoff)
        if reached is not None and reached != level(before):
            counted = by_cutoff if reached != "gold" else None
            expected[who] = (reached, counted)
    return expected


@pytest.fixture
def generated(db: Database, signing: Signing) -> list[dict[str, Any]]:
    return load(db, signing, persons=1500, seed=7)


def test_candidate_lists_over_generated_data(db: Database, generated: list[dict[str, Any]]) -> None:
    # One load of generated data serves three checks: loading it is most of the cost.
    check_candidate_lists_match_an_independent_count(db, generated)
    check_a_candidate_carries_the_donations_that_count_and_where(db, generated)
    check_a_station_confirms_or_rejects_with_a_reason(db, generated)


def busiest_cycle(records: list[dict[str, Any]]) -> int:
    counts = {y: len(expected_candidates(records, y, None)) for y in range(2010, 2026, 2)}
    return max(counts, key=lambda y: counts[y])


def check_candidate_lists_match_an_independent_count(db: Database, generated: list[dict[str, Any]]) -> None:
    total = 0
    for year, province in [(y, None) for y in range(2010, 2026, 2)] + [(busiest_cycle(generated), "44")]:
        expected = expected_candidates(generated, year, province)
        with db.reading() as uow:
            listed = honours.candidates(uow, f"{year}-{year + 1}", province=province)
        got = {
            f"{c.name} {c.id_number_masked}": (c.award, c.count if c.award != "gold" else None)
            for c in listed
        }
        skipped = {who for who, value in expected.items() if value == "skip"}
        assert {k: v for k, v in got.items() if k not in skipped} == {
            k: v for k, v in expected.items() if k not in skipped
        }
        total += len(got) if province is None else 0
    assert total >= 5, "the generated data should give a few candidates"


def check_a_candidate_carries_the_donations_that_count_and_where(
    db: Database, generated: list[dict[str, Any]]
) -> None:
    year = busiest_cycle(generated)
    with db.reading() as uow:
        listed = honours.candidates(uow, f"{year}-{year + 1}")
        station_names = {s.code: s.name for s in uow.stations.all()}
    candidate = next(c for c in listed if c.award != "gold")
    mine = [r for r in generated if r["donor"]["name"] == candidate.name and r["donated_at"] < f"{year + 2}"]
    assert sorted((d.donated_on.isoformat(), d.where) for d in candidate.donations) == sorted(
        (r["donated_at"][:10], station_names[r["station"]]) for r in mine
    )
    assert "*" in candidate.id_number_masked


def check_a_station_confirms_or_rejects_with_a_reason(db: Database, generated: list[dict[str, Any]]) -> None:
    year = busiest_cycle(generated)
    cycle = f"{year}-{year + 1}"
    with db.reading() as uow:
        first, second = honours.candidates(uow, cycle)[:2]
    now = datetime.now(UTC)
    with db.transaction() as uow:
        honours.decide(
            uow, honours.Decision(first.person_id, cycle, first.award, True, None, "station:x"), now
        )
        with pytest.raises(ValidationFailed):
            honours.decide(
                uow, honours.Decision(second.person_id, cycle, second.award, False, " ", "station:x"), now
            )
        honours.decide(
            uow,
            honours.Decision(second.person_id, cycle, second.award, False, "另一人的记录", "station:x"),
            now,
        )
        with pytest.raises(NotFound):
            honours.decide(
                uow, honours.Decision(first.person_id, cycle, "lifetime", True, None, "station:x"), now
            )
    with db.reading() as uow:
        after = {c.person_id: c for c in honours.candidates(uow, cycle)}
    assert after[first.person_id].status == "confirmed"
    assert (after[second.person_id].status, after[second.person_id].reason) == ("rejected", "另一人的记录")


def test_a_cycle_that_is_not_one_is_refused(db: Database) -> None:
    with db.reading() as uow, pytest.raises(ValidationFailed):
        honours.candidates(uow, "2021-2022")
    assert honours.parse_cycle("2022-2023").cutoff == date(2023, 12, 31)


def test_the_cli_writes_the_candidate_list(
    sqlite_db: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bloodcert.cli import app
    from tests.cli_process import cli_env
    from tests.conftest import signing_for

    records = load(sqlite_db, signing_for(tmp_path), persons=300, seed=3)
    year = busiest_cycle(records)
    out = tmp_path / "candidates.csv"
    env = cli_env(sqlite_db.url, tmp_path)
    result = CliRunner().invoke(
        app, ["honours", "candidates", "--cycle", f"{year}-{year + 1}", "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    expected = expected_candidates(records, year, None)
    assert {f"{r['name']} {r['id_number_masked']}" for r in rows} == set(expected)
    assert all(r["id_number_masked"].count("*") >= 4 and r["donations"] for r in rows)
    bad = CliRunner().invoke(
        app, ["honours", "candidates", "--cycle", "2021-2022", "--out", str(out)], env=env
    )
    assert bad.exit_code != 0
