"""report_donations against a real database: versions, merge, conflicts, certificates, quality issues."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bloodcert.domain.certno import is_valid_certificate_no
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import RecordResult, report_donations
from bloodcert.storage.tables import (
    certificates,
    donation_versions,
    donations,
    donors,
    persons,
    quality_issues,
)
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import LI_LEI, create_station, make_record

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


_signing: list[Signing] = []


@pytest.fixture(autouse=True)
def _use_signing(signing: Signing) -> Iterator[None]:
    _signing.append(signing)
    yield
    _signing.clear()


def report(db: Database, records: list[dict[str, Any]], code: str = "33000001") -> list[RecordResult]:
    with db.transaction() as uow:
        station = uow.stations.get_by_code(code)
        assert station is not None
        return report_donations(
            uow, station=station, records=records, index_key=INDEX_KEY, signing=_signing[0], now=NOW
        )


def count(db: Database, table: Any, *where: Any) -> int:
    with db.reading() as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_a_valid_record_is_created_with_a_certificate_at_once(db: Database) -> None:
    create_station(db)
    [result] = report(db, [make_record(donation_no="A1")])
    assert result.outcome == "created"
    assert result.certificate_no is not None
    assert is_valid_certificate_no(result.certificate_no)
    assert count(db, certificates, certificates.c.status == "active") == 1
    with db.reading() as uow:
        person = uow.conn.execute(select(persons)).one()
    assert (person.donation_count, person.whole_blood_ml) == (1, 400)


def test_the_same_version_with_the_same_content_is_unchanged(db: Database) -> None:
    create_station(db)
    record = make_record(donation_no="A1")
    [first] = report(db, [record])
    [again] = report(db, [dict(reversed(list(record.items())))])
    assert again.outcome == "unchanged"
    assert again.certificate_no == first.certificate_no
    assert count(db, donation_versions) == 1


def test_the_same_version_with_other_content_is_a_version_conflict(db: Database) -> None:
    create_station(db)
    report(db, [make_record(donation_no="A1")])
    [result] = report(db, [make_record(donation_no="A1", volume_ml=300)])
    assert result.outcome == "rejected"
    assert [e.code for e in result.errors] == ["version_conflict"]


def test_a_higher_version_corrects_and_supersedes_the_certificate(db: Database) -> None:
    create_station(db)
    [first] = report(db, [make_record(donation_no="A1")])
    [second] = report(db, [make_record(donation_no="A1", version=2, volume_ml=300)])
    assert second.outcome == "updated"
    assert second.certificate_no != first.certificate_no
    assert count(db, certificates, certificates.c.status == "superseded") == 1
    assert count(db, certificates, certificates.c.status == "active") == 1
    assert count(db, donation_versions) == 2  # the first version is kept, not overwritten
    with db.reading() as uow:
        assert uow.conn.execute(select(persons.c.whole_blood_ml)).scalar_one() == 300


def test_a_lower_version_is_stale(db: Database) -> None:
    create_station(db)
    report(db, [make_record(donation_no="A1", version=3)])
    [result] = report(db, [make_record(donation_no="A1", version=2)])
    assert [e.code for e in result.errors] == ["stale_version"]


def test_a_void_revokes_the_certificate_and_leaves_the_totals(db: Database) -> None:
    create_station(db)
    report(
        db,
        [
            make_record(donation_no="A1"),
            make_record(donation_no="A2", donated_at="2025-01-02T09:00:00+08:00"),
        ],
    )
    [voided] = report(db, [make_record(donation_no="A1", version=2, status="void")])
    assert voided.outcome == "updated"
    assert voided.certificate_no is None
    assert count(db, certificates, certificates.c.status == "revoked") == 1
    with db.reading() as uow:
        assert uow.conn.execute(select(persons.c.donation_count)).scalar_one() == 1


def test_donors_merge_across_stations_by_id_name_and_abo(db: Database) -> None:
    create_station(db, "33000001")
    create_station(db, "11000001", region="110000")
    report(db, [make_record(donation_no="A1")], "33000001")
    fullwidth = {"id_number": "３３０１０６ １９９００１０１ １２２１", "name": "王 芳"}
    report(
        db,
        [make_record(donation_no="B1", donor=fullwidth, donated_at="2025-02-01T10:00:00+08:00")],
        "11000001",
    )
    assert count(db, persons) == 1
    assert count(db, donors) == 2
    with db.reading() as uow:
        assert uow.conn.execute(select(persons.c.donation_count)).scalar_one() == 2


def test_same_id_with_other_blood_type_is_flagged_not_merged(db: Database) -> None:
    create_station(db)
    report(db, [make_record(donation_no="A1")])
    [result] = report(
        db, [make_record(donation_no="A2", donor={"abo": "B"}, donated_at="2025-02-01T10:00:00+08:00")]
    )
    assert result.outcome == "created"
    assert "identity_conflict" in [w.code for w in result.warnings]
    assert count(db, persons) == 2
    with db.reading() as uow:
        issue = uow.conn.execute(
            select(quality_issues).where(quality_issues.c.code == "identity_conflict")
        ).one()
    assert issue.person_id != issue.other_person_id
    assert issue.other_person_id is not None


def test_a_short_interval_is_accepted_with_a_warning(db: Database) -> None:
    create_station(db)
    report(db, [make_record(donation_no="A1", donated_at="2024-05-01T09:30:00+08:00")])
    [result] = report(db, [make_record(donation_no="A2", donated_at="2024-08-01T09:30:00+08:00")])
    assert result.outcome == "created"
    assert [w.code for w in result.warnings] == ["interval_too_short"]
    assert count(db, quality_issues, quality_issues.c.code == "interval_too_short") == 1


def test_a_back_filled_earlier_donation_is_checked_against_later_ones(db: Database) -> None:
    create_station(db)
    report(db, [make_record(donation_no="A2", donated_at="2024-08-01T09:30:00+08:00")])
    [result] = report(db, [make_record(donation_no="A1", donated_at="2024-05-01T09:30:00+08:00")])
    assert [w.code for w in result.warnings] == ["interval_too_short"]


def test_nonstandard_volume_and_age_are_warnings_that_keep_the_data(db: Database) -> None:
    create_station(db)
    [result] = report(db, [make_record(volume_ml=350, donated_at="2007-05-01T09:30:00+08:00")])
    assert result.outcome == "created"
    assert sorted(w.code for w in result.warnings) == ["age_out_of_range", "nonstandard_volume"]


def test_a_rejected_record_is_kept_whole_as_a_quality_issue(db: Database) -> None:
    create_station(db)
    bad = make_record(donation_no="A9", donor={"id_number": "330106199001011222"})
    [result] = report(db, [bad])
    assert result.outcome == "rejected"
    assert result.errors[0].code == "invalid_checksum"
    with db.reading() as uow:
        issue = uow.conn.execute(select(quality_issues)).one()
    assert issue.record == bad
    assert count(db, donations) == 0


def test_a_batch_is_atomic_and_keeps_order_of_results(db: Database) -> None:
    create_station(db)
    records = [make_record(donation_no="A1"), {"junk": True}, make_record(donation_no="A1")]
    results = report(db, records)
    assert [r.outcome for r in results] == ["created", "rejected", "unchanged"]
    assert results[2].certificate_no == results[0].certificate_no


def test_a_donation_created_and_corrected_in_one_batch_keeps_each_answer(db: Database) -> None:
    create_station(db)
    results = report(
        db, [make_record(donation_no="A1"), make_record(donation_no="A1", version=2, volume_ml=200)]
    )
    assert [r.outcome for r in results] == ["created", "updated"]
    assert results[0].certificate_no != results[1].certificate_no
    assert count(db, certificates, certificates.c.status == "active") == 1
    assert count(db, certificates, certificates.c.status == "superseded") == 1


def test_a_correction_to_another_donor_moves_the_totals(db: Database) -> None:
    create_station(db)
    report(db, [make_record(donation_no="A1")])
    report(db, [make_record(donation_no="A1", version=2, donor=LI_LEI)])
    with db.reading() as uow:
        rows = dict(uow.conn.execute(select(persons.c.name, persons.c.donation_count)).all())
    assert rows == {"王芳": 0, "李雷": 1}


def test_a_donor_reported_again_is_noted_as_last_reported_then(db: Database) -> None:
    create_station(db)
    report(db, [make_record(donation_no="A1")])
    later = NOW.replace(year=2027)
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        report_donations(
            uow,
            station=station,
            records=[make_record(donation_no="A2", donated_at="2025-06-01T09:00:00+08:00")],
            index_key=INDEX_KEY,
            signing=_signing[0],
            now=later,
        )
    with db.reading() as uow:
        first, last = uow.conn.execute(select(donors.c.first_reported_at, donors.c.last_reported_at)).one()
    assert (first.year, last.year) == (2026, 2027)


def test_concurrent_batches_about_one_new_donor_make_one_person(db: Database) -> None:
    """Batches planned at the same moment must not both create the donor (PostgreSQL runs them at once)."""
    create_station(db)
    batches = [
        [
            make_record(donation_no=f"C{t}{i}", donated_at=f"{2001 + 4 * t + i}-03-01T09:00:00+08:00")
            for i in range(3)
        ]
        for t in range(4)
    ]
    start = threading.Barrier(len(batches))

    def send(records: list[dict[str, Any]]) -> list[str]:
        start.wait()
        return [r.outcome for r in report(db, records)]

    with ThreadPoolExecutor(len(batches)) as pool:
        outcomes = list(pool.map(send, batches))
    assert outcomes == [["created"] * 3] * 4
    assert count(db, persons) == 1 and count(db, donors) == 1
    with db.reading() as uow:
        assert uow.conn.execute(select(persons.c.donation_count)).scalar_one() == 12
