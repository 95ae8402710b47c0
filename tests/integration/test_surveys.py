"""The satisfaction survey: a single-use link that expires, and scores published per station only once
enough donors answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bloodcert.errors import Conflict, NotFound, ValidationFailed
from bloodcert.services import notifications, scorecards, surveys
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import report_donations
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import create_station, make_record

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def _links(db: Database, signing: Signing, n: int) -> list[str]:
    """n donations reported by the station, each with its survey link (as the donor's inbox holds it)."""
    station = create_station(db).station
    records = [
        make_record(donation_no=f"S{i}", donated_at=f"2026-0{1 + i}-01T09:00:00+08:00") for i in range(n)
    ]
    with db.transaction() as uow:
        report_donations(uow, station=station, records=records, index_key=INDEX_KEY, signing=signing, now=NOW)
        ids = [
            row.id
            for row in uow.donations.current_by_keys((station.id, r["donation_no"]) for r in records).values()
        ]
        tokens = surveys.invite(uow, [surveys.Invite(1, did, station.id) for did in ids], NOW)
    # The report already invited the donor for each donation, so these repeat invitations add nothing.
    assert tokens == {}
    with db.reading() as uow:
        return [
            e.link.split("/")[-1]
            for e in notifications.inbox(uow, [1], "en")
            if e.topic == "survey" and e.link
        ]


def test_a_survey_link_works_once(db: Database, signing: Signing) -> None:
    [token] = _links(db, signing, 1)
    with db.transaction() as uow:
        assert surveys.open_link(uow, token, NOW + timedelta(hours=1)).station_name == "测试血站33000001"
        surveys.answer(uow, token, 5, "  护士很专业  ", NOW + timedelta(hours=1))
    with pytest.raises(Conflict) as again, db.transaction() as uow:
        surveys.answer(uow, token, 1, "", NOW + timedelta(hours=2))
    assert again.value.slug == "survey_used"


def test_a_survey_link_expires_after_two_weeks(db: Database, signing: Signing) -> None:
    [token] = _links(db, signing, 1)
    with db.reading() as uow:
        surveys.open_link(uow, token, NOW + timedelta(days=13, hours=23))
    with pytest.raises(Conflict) as late, db.transaction() as uow:
        surveys.answer(uow, token, 4, "", NOW + timedelta(days=14))
    assert late.value.slug == "survey_expired"


def test_an_unknown_link_and_a_score_out_of_range_are_refused(db: Database, signing: Signing) -> None:
    [token] = _links(db, signing, 1)
    with pytest.raises(NotFound), db.reading() as uow:
        surveys.open_link(uow, "x" * 32, NOW)
    with pytest.raises(ValidationFailed), db.transaction() as uow:
        surveys.answer(uow, token, 6, "", NOW)


def test_scores_are_published_only_from_five_answers(db: Database, signing: Signing) -> None:
    tokens = _links(db, signing, 5)
    for i, token in enumerate(tokens[:4]):
        with db.transaction() as uow:
            surveys.answer(uow, token, 4 + i % 2, "", NOW)
    with db.reading() as uow:
        assert surveys.published_scores(uow) == []
    with db.transaction() as uow:
        surveys.answer(uow, tokens[4], 3, "", NOW)
    with db.reading() as uow:
        [score] = surveys.published_scores(uow)
    assert (score.answers, round(score.mean, 2)) == (5, 4.2)


def test_a_station_s_published_score_is_on_its_public_scorecard(db: Database, signing: Signing) -> None:
    links = _links(db, signing, 5)
    with db.transaction() as uow:
        for i, link in enumerate(links):
            surveys.answer(uow, link, 3 + i % 3, "", NOW)
    with db.reading() as uow:
        card = scorecards.compute(uow, datetime.now(UTC))["33000001"]
    assert card.satisfaction is not None
    assert (card.satisfaction.answers, round(card.satisfaction.mean, 1)) == (5, 3.8)
