"""The donor's hot reads: their own connections, the same on every thread, see every commit at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from bloodcert.domain.identity import IdType
from bloodcert.domain.keyed import identity_hash_of, name_hash_of
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import report_donations
from bloodcert.services.sessions import resolve_donor as resolve
from bloodcert.storage.rows import CertificateStanding
from bloodcert.storage.tables import certificates
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import WANG_FANG, create_station, donor_session, make_record

T = TypeVar("T")


def test_the_hot_connection_sees_each_new_commit_at_once(db: Database, signing: Signing) -> None:
    assert threading.current_thread() is threading.main_thread()
    create_station(db)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        report_donations(
            uow,
            station=station,
            records=[make_record(donation_no="A1")],
            index_key=INDEX_KEY,
            signing=signing,
            now=now,
        )
        ident = identity_hash_of(INDEX_KEY, IdType.RESIDENT_ID, WANG_FANG["id_number"])
        grant = donor_session(uow, ident, name_hash_of(INDEX_KEY, "王芳"), now=now)
    with db.donor_reads() as reads:
        principal, _ = resolve(reads, grant.token, now)
        assert len(reads.history.donations_of_persons(principal.person_ids)) == 1
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        report_donations(
            uow,
            station=station,
            records=[make_record(donation_no="A2", donated_at="2025-03-01T09:00:00+08:00")],
            index_key=INDEX_KEY,
            signing=signing,
            now=now,
        )
    with db.donor_reads() as reads:  # the same connection as above, kept by this thread
        assert [r.donation_no for r in reads.history.donations_of_persons(principal.person_ids)] == [
            "A2",
            "A1",
        ]


def _in_thread(fn: Callable[[], T]) -> T:
    """Run `fn` on a new thread and return what it returned."""
    out: list[T] = []
    worker = threading.Thread(target=lambda: out.append(fn()))
    worker.start()
    worker.join()
    return out[0]


def _raw_of(db: Database) -> Any:
    with db.donor_reads() as reads:
        return reads.raw


def test_donor_reads_use_the_same_connection_whatever_the_thread(db: Database) -> None:
    first = _raw_of(db)
    assert _in_thread(lambda: _raw_of(db)) is first
    assert _raw_of(db) is first


def test_overlapping_donor_reads_each_get_a_connection_of_their_own(db: Database) -> None:
    with db.donor_reads() as outer, db.donor_reads() as inner:
        assert outer.raw is not inner.raw
        assert outer.history.persons_by_ids([1]) == inner.history.persons_by_ids([1]) == []


def test_a_driver_error_closes_the_connection_and_the_next_read_connects_afresh(db: Database) -> None:
    broken = _raw_of(db)
    dbapi = db.engine.dialect.loaded_dbapi
    with pytest.raises(dbapi.Error), db.donor_reads() as reads:
        reads.raw.cursor().execute("SELECT no_such_column FROM persons")
    assert _raw_of(db) is not broken


@pytest.mark.postgres
def test_an_idle_connection_the_server_ended_is_replaced_before_the_next_read(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite connections have no server to end them")
    ended = _raw_of(db)
    with db.engine.connect() as admin:  # what a restart or a failover does to every open connection
        admin.exec_driver_sql(f"SELECT pg_terminate_backend({ended.info.backend_pid})")
    time.sleep(0.2)
    with db.donor_reads() as reads:
        assert reads.raw is not ended
        assert reads.history.persons_by_ids([1]) == []


def test_a_worker_thread_sees_each_new_commit_at_once(db: Database, signing: Signing) -> None:
    create_station(db)
    now = datetime.now(UTC)
    _report(db, signing, now, "B1", "2025-01-01T09:00:00+08:00")
    ident = identity_hash_of(INDEX_KEY, IdType.RESIDENT_ID, WANG_FANG["id_number"])
    with db.transaction() as uow:
        grant = donor_session(uow, ident, name_hash_of(INDEX_KEY, "王芳"), now=now)

    def donation_nos() -> list[str]:
        with db.donor_reads() as reads:
            principal, _ = resolve(reads, grant.token, now)
            return [r.donation_no for r in reads.history.donations_of_persons(principal.person_ids)]

    assert _in_thread(donation_nos) == ["B1"]
    _report(db, signing, now, "B2", "2025-03-01T09:00:00+08:00")
    assert _in_thread(donation_nos) == ["B2", "B1"]
    assert donation_nos() == ["B2", "B1"]


def _report(db: Database, signing: Signing, now: datetime, donation_no: str, donated_at: str) -> None:
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        report_donations(
            uow,
            station=station,
            records=[make_record(donation_no=donation_no, donated_at=donated_at)],
            index_key=INDEX_KEY,
            signing=signing,
            now=now,
        )


def test_verification_reads_the_key_and_the_certificate_at_its_status_entry(
    db: Database, signing: Signing
) -> None:
    create_station(db)
    _report(db, signing, datetime.now(UTC), "C1", "2025-01-01T09:00:00+08:00")
    with db.reading() as uow:
        number = uow.conn.execute(select(certificates.c.certificate_no)).scalar_one()
        cert = uow.certificates.get_by_no(number)
        key = uow.certificates.active_key("signing")
    assert cert is not None
    assert key is not None
    entry = (cert.status_list_id, cert.status_index)
    with db.donor_reads() as reads:
        found = reads.certificates.standing(number, entry, key.kid)
        elsewhere = reads.certificates.standing(number, (cert.status_list_id, cert.status_index + 1), key.kid)
        unknown_key = reads.certificates.standing(number, entry, b"\x00" * 8)
    assert found == CertificateStanding("active", key.not_before, key.not_after, "active")
    assert elsewhere == CertificateStanding("active", key.not_before, key.not_after, None)
    assert unknown_key is None
