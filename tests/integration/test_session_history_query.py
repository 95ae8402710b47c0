"""The history's one query (session and donations together) reads exactly what the two queries it
replaces read, whoever logs in: by donation number, by real-name platform, after a merge, with filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bloodcert.domain.identity import IdType
from bloodcert.domain.keyed import identity_hash_of, name_hash_of, token_hash
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import LI_LEI, WANG_FANG, create_station, donor_session, make_record, report_records

FILTERS: list[dict[str, Any]] = [
    {},
    {"since": datetime(2024, 1, 1)},
    {"until": datetime(2024, 6, 1)},
    {"region_prefix": "11"},
    {"since": datetime(2023, 1, 1), "until": datetime(2025, 1, 1), "region_prefix": "33"},
]


def _report(db: Database, signing: Signing, records: list[dict[str, Any]]) -> None:
    report_records(db, signing, records)


def _same(db: Database, token: str) -> None:
    with db.donor_reads() as reads:
        for filters in FILTERS:
            found = reads.history.session_with_persons(token_hash(token))
            expected = reads.history.donations_of_persons(found[1], **filters) if found is not None else []
            assert reads.history.session_with_donations(token_hash(token), **filters) == (found, expected)


@pytest.fixture
def donors(db: Database, signing: Signing) -> dict[str, str]:
    """王芳 under two ABO types (two persons under one ID), 李雷, and sessions of every kind."""
    create_station(db)
    _report(
        db,
        signing,
        [
            make_record(donation_no="W1", donated_at="2023-03-01T09:00:00+08:00"),
            make_record(
                donation_no="W2",
                donated_at="2024-05-01T09:00:00+08:00",
                site={"name": "北京站", "type": "fixed", "region": "110105"},
            ),
            make_record(donation_no="W3", donated_at="2024-08-01T09:00:00+08:00", donor={"abo": "B"}),
            make_record(donation_no="W4", donated_at="2024-08-01T09:00:00+08:00", status="void"),
            make_record(donation_no="L1", donor=LI_LEI),
        ],
    )
    wang = identity_hash_of(INDEX_KEY, IdType.RESIDENT_ID, WANG_FANG["id_number"])
    wang_name = name_hash_of(INDEX_KEY, WANG_FANG["name"])
    with db.transaction() as uow:
        ids = uow.persons.ids_by_identity_hashes([wang])[wang]
        tokens = {
            "real_name": donor_session(uow, wang, wang_name, method="alipay").token,
            "first": donor_session(uow, wang, wang_name, person_id=ids[0]).token,
            "second": donor_session(uow, wang, wang_name, person_id=ids[1]).token,
            "other_name": donor_session(uow, wang, name_hash_of(INDEX_KEY, "王芳芳"), method="alipay").token,
        }
    return tokens


def test_every_kind_of_session_reads_the_same(db: Database, donors: dict[str, str]) -> None:
    for token in [*donors.values(), "no-such-token"]:
        _same(db, token)


def test_after_a_merge_and_a_separation_it_reads_the_same(db: Database, donors: dict[str, str]) -> None:
    wang = identity_hash_of(INDEX_KEY, IdType.RESIDENT_ID, WANG_FANG["id_number"])
    with db.transaction() as uow:
        keep, other = uow.persons.ids_by_identity_hashes([wang])[wang]
        uow.identity_review.move(other, keep)
        uow.identity_review.set_merged_into(other, keep, datetime.now(UTC).replace(tzinfo=None))
    for token in donors.values():
        _same(db, token)
    with db.transaction() as uow:
        uow.identity_review.set_merged_into(other, None, datetime.now(UTC).replace(tzinfo=None))
        uow.identity_review.settle([keep, other], datetime.now(UTC).replace(tzinfo=None))
    for token in donors.values():
        _same(db, token)


def test_the_calendar_s_first_and_last_days_filter_nothing_out(db: Database, donors: dict[str, str]) -> None:
    from datetime import date

    from bloodcert.services import history as svc

    everything = svc.Filters()
    extremes = svc.Filters(since=date.min, until=date.max)
    now = datetime.now(UTC)
    with db.donor_reads() as reads:
        _, _, all_of_them = svc.my_history(reads, donors["real_name"], now, everything)
        _, _, also_all = svc.my_history(reads, donors["real_name"], now, extremes)
    assert also_all.donations == all_of_them.donations
    assert len(all_of_them.donations) == 3
