"""What donors are told: a new record (once, even when corrected), bookings confirmed, moved, cancelled
and reminded, and the first day each kind of donation is allowed again."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import Kind
from bloodcert.services import booking, notices
from bloodcert.services import notifications as notify
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import report_donations
from bloodcert.services.sites import save_site, set_day_slots
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import create_station, make_record
from tests.integration.test_booking_concurrency import SITE
from tests.notify_helpers import create_person

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def _report(db: Database, signing: Signing, records: list[dict[str, object]], source: str = "api") -> None:
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        report_donations(
            uow,
            station=station,
            records=records,
            index_key=INDEX_KEY,
            signing=signing,
            now=NOW,
            source=source,
        )


def _titles(db: Database, person_ids: list[int] | None = None) -> list[str]:
    with db.reading() as uow:
        ids = person_ids or [1]
        return [e.title for e in reversed(notify.inbox(uow, ids, "en"))]


def test_a_reported_donation_is_told_once_even_when_the_station_corrects_it(
    db: Database, signing: Signing
) -> None:
    create_station(db)
    record = make_record(donation_no="D1", donated_at="2026-11-29T09:00:00+08:00")
    _report(db, signing, [record])
    _report(db, signing, [record])  # the same batch again: unchanged
    _report(db, signing, [{**record, "version": 2, "volume_ml": 300}])  # a correction
    assert _titles(db) == ["A new donation on your record", "How was your donation?"]
    with db.reading() as uow:
        entry, survey = notify.inbox(uow, [1], "zh")[::-1]
    assert survey.link is not None and survey.link.startswith("/survey/")
    assert entry.link is not None and entry.link.startswith("/me/certificates/")
    assert "测试血站33000001" in entry.body and "如果您不记得这次献血" in entry.body


def test_back_filled_history_is_not_news(db: Database, signing: Signing) -> None:
    create_station(db)
    _report(db, signing, [make_record(donation_no="OLD1")], source="import")
    assert _titles(db) == []


def _slots(db: Database) -> tuple[int, int]:
    station = create_station(db).station
    day = datetime.now(BEIJING).date() + timedelta(days=1)
    body = {
        "date": day.isoformat(),
        "slots": [{"starts_at": "09:00", "capacity": 3}, {"starts_at": "10:00", "capacity": 3}],
    }
    with db.transaction() as uow:
        save_site(uow, station.id, "WL01", json.dumps(SITE).encode(), datetime.now(UTC))
        _day, slots = set_day_slots(uow, station.id, "WL01", json.dumps(body).encode())
    return slots[0].id, slots[1].id


def test_a_booking_is_confirmed_moved_reminded_and_cancelled_in_the_inbox(db: Database) -> None:
    first, second = _slots(db)
    person = create_person(db, 1)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        appointment = booking.book(uow, (person,), first, Kind.WHOLE_BLOOD, now)
        booking.reschedule(uow, (person,), appointment, second, now)
    tomorrow = datetime.now(BEIJING).date() + timedelta(days=1)
    with db.transaction() as uow:
        assert notices.booking_reminders(uow, tomorrow, now) == 1
        assert notices.booking_reminders(uow, tomorrow, now) == 0  # a second sweep reminds nobody twice
        booking.cancel(uow, (person,), appointment, now)
    assert _titles(db, [person]) == [
        "Booking confirmed",
        "Booking moved",
        "Your donation is tomorrow",
        "Booking cancelled",
    ]
    with db.reading() as uow:
        moved = notify.inbox(uow, [person], "en")[2]
    assert "10:00" in moved.body and "武林广场献血屋" in moved.body


def test_eligibility_is_told_on_the_first_day_for_each_kind_and_only_once(
    db: Database, signing: Signing
) -> None:
    create_station(db)
    _report(
        db, signing, [make_record(donation_no="D1", donated_at="2026-06-01T09:00:00+08:00")], source="import"
    )
    with db.transaction() as uow:
        early = notices.eligible_again(uow, date(2026, 8, 20), NOW)  # platelets: three months later
        platelets = notices.eligible_again(uow, date(2026, 9, 1), NOW)
        whole = notices.eligible_again(uow, date(2026, 12, 1), NOW)
        again = notices.eligible_again(uow, date(2026, 12, 2), NOW)
    assert (early, platelets, whole, again) == (0, 1, 1, 0)
    with db.reading() as uow:
        bodies = [e.body for e in notify.inbox(uow, [1], "en")]
    assert any("platelets" in b and "2026-09-01" in b for b in bodies)
    assert any("whole blood" in b and "2026-12-01" in b for b in bodies)


def test_an_answered_request_is_told_once_per_new_status(db: Database) -> None:
    person = create_person(db, 1)
    with db.transaction() as uow:
        for status in ("need_info", "need_info", "approved"):
            notices.request_answered(
                uow, person, what="claim", reference="7", status=status, link="/me/claims", now=NOW
            )
    with db.reading() as uow:
        bodies = [e.body for e in reversed(notify.inbox(uow, [person], "en"))]
    assert bodies == [
        "Your blood-fee claim was answered: need_info.",
        "Your blood-fee claim was answered: approved.",
    ]
