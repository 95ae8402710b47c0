"""The donor's hot reads: the worker's own connection sees every commit at once (freshness)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from bloodcert.domain.keyed import name_hash_of
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import report_donations
from bloodcert.services.sessions import resolve_donor as resolve
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import WANG_FANG, create_station, donor_session, make_record


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
        from bloodcert.domain.identity import IdType
        from bloodcert.domain.keyed import identity_hash_of

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
