"""After a restore: skipping ahead means no certificate number and no status list slot is given twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bloodcert.errors import ValidationFailed
from bloodcert.services.certificates import Signing
from bloodcert.services.skip_ahead import MAX_SKIP, skip_ahead
from bloodcert.storage.tables import certificates
from bloodcert.storage.uow import Database
from tests.factories import create_station, make_record, report_records


def report(db: Database, signing: Signing, donation_no: str) -> tuple[int, str]:
    """Report one donation; its certificate's serial and status list."""
    report_records(db, signing, [make_record(donation_no=donation_no)])
    with db.reading() as uow:
        number, list_id = uow.conn.execute(
            select(certificates.c.certificate_no, certificates.c.status_list_id)
            .order_by(certificates.c.id.desc())
            .limit(1)
        ).one()
    return int(number[4:15]), list_id


def test_the_next_certificate_takes_a_number_and_a_list_past_what_was_skipped(
    db: Database, signing: Signing
) -> None:
    create_station(db)
    serial, list_id = report(db, signing, "S1")
    with db.transaction() as uow:
        done = skip_ahead(uow, 1_000, datetime.now(UTC))
    assert (done.first_serial, done.last_serial) == (serial + 1, serial + 1_000)
    assert done.first_list > int(list_id) and done.last_list == done.first_list + 1  # 1,000 fit one list
    assert done.sealed == 1  # the list the first certificate opened still had room
    after, after_list = report(db, signing, "S2")
    assert after == done.last_serial + 1
    assert after_list != list_id and int(after_list) > done.last_list
    with db.transaction() as uow:
        assert skip_ahead(uow, 1, datetime.now(UTC)).sealed == 1  # twice skips twice, and seals the new list
    assert report(db, signing, "S3")[0] == after + 2


@pytest.mark.parametrize("count", [0, -5, MAX_SKIP + 1])
def test_a_count_out_of_range_is_refused_and_nothing_moves(
    db: Database, signing: Signing, count: int
) -> None:
    create_station(db)
    serial, _ = report(db, signing, "S1")
    with db.transaction() as uow, pytest.raises(ValidationFailed):
        skip_ahead(uow, count, datetime.now(UTC))
    assert report(db, signing, "S2")[0] == serial + 1
