"""A donor's return moves the session's idle deadline: at once (sync), or in batches off the request."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.services.sessions import SessionTouches
from bloodcert.storage.tables import donor_sessions
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.api.test_donor_api import bearer, log_in, seed, wang_history
from tests.factories import create_station


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _seen(db: Database) -> dict[int, datetime]:
    with db.reading() as uow:
        return dict(uow.conn.execute(select(donor_sessions.c.id, donor_sessions.c.last_seen_at)).all())


def _last_seen(db: Database, when: datetime) -> None:
    with db.transaction() as uow:
        uow.conn.execute(update(donor_sessions).values(last_seen_at=when))


@pytest.fixture
def wang(db: Database, signing: Signing) -> None:
    create_station(db)
    seed(db, signing, wang_history())


@pytest.mark.usefixtures("wang")
def test_a_read_a_minute_after_the_last_moves_the_deadline_before_the_answer(
    client: TestClient, db: Database
) -> None:  # type: ignore[type-arg]
    token = log_in(client)
    client.cookies.clear()
    before = _now() - timedelta(minutes=5)
    _last_seen(db, before)
    assert client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).status_code == 200
    (seen,) = _seen(db).values()
    assert seen > before + timedelta(minutes=4)


@pytest.mark.usefixtures("wang")
def test_reads_within_the_minute_write_nothing(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    token = log_in(client)
    client.cookies.clear()
    recent = _now() - timedelta(seconds=20)
    _last_seen(db, recent)
    assert client.get(BASE + "/api/v1/me", headers=bearer(token)).status_code == 200
    assert list(_seen(db).values()) == [recent]


@pytest.mark.usefixtures("wang")
def test_buffered_moves_are_written_by_the_worker_not_the_request_and_at_shutdown(
    settings: Settings, db: Database
) -> None:
    app = create_app(dataclasses.replace(settings, audit_mode="buffered"), db=db)
    before = _now() - timedelta(minutes=5)
    with TestClient(app=app, base_url=BASE) as client:
        token = log_in(client)
        client.cookies.clear()
        touches: SessionTouches = app.state["bloodcert"].touches
        touches.interval_s = 3600.0  # nothing is written in the background during the test
        _last_seen(db, before)
        assert client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).status_code == 200
        assert list(_seen(db).values()) == [before]  # the answer went out before the write
        assert client.get(BASE + "/api/v1/me", headers=bearer(token)).status_code == 200
    # The app's shutdown wrote the latest time the session was seen.
    (seen,) = _seen(db).values()
    assert seen > before + timedelta(minutes=4)


@pytest.mark.usefixtures("wang")
def test_a_batch_keeps_the_latest_time_and_never_moves_a_deadline_back(
    client: TestClient, db: Database
) -> None:  # type: ignore[type-arg]
    log_in(client)
    (session_id,) = _seen(db)
    touches = SessionTouches(db, mode="buffered", interval_s=3600.0)
    start = _now() - timedelta(minutes=10)
    _last_seen(db, start)
    touches.touch(session_id, (start + timedelta(minutes=3)).replace(tzinfo=UTC))
    touches.touch(session_id, (start + timedelta(minutes=2)).replace(tzinfo=UTC))  # arrives late
    assert _seen(db)[session_id] == start
    assert touches.flush() == 1
    assert _seen(db)[session_id] == start + timedelta(minutes=3)
    touches.touch(
        session_id, (start + timedelta(minutes=1)).replace(tzinfo=UTC)
    )  # older than what is written
    assert touches.flush() == 1
    assert _seen(db)[session_id] == start + timedelta(minutes=3)
    touches.close()


class _Unreachable:
    """A database whose transactions fail, as when the server is away."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        raise ConnectionError("the database is away")
        yield


@pytest.mark.usefixtures("wang")
def test_moves_that_could_not_be_written_wait_for_the_next_flush(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    log_in(client)
    (session_id,) = _seen(db)
    start = _now() - timedelta(minutes=10)
    _last_seen(db, start)
    touches = SessionTouches(db, mode="buffered", interval_s=3600.0)
    touches.db = _Unreachable()  # type: ignore[assignment]
    touches.touch(session_id, (start + timedelta(minutes=2)).replace(tzinfo=UTC))
    with pytest.raises(ConnectionError):
        touches.flush()
    touches.touch(session_id, (start + timedelta(minutes=1)).replace(tzinfo=UTC))  # came while it was away
    touches.db = db
    assert touches.flush() == 1
    assert _seen(db)[session_id] == start + timedelta(minutes=2)
    assert touches.flush() == 0
    touches.close()
