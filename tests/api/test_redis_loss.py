"""With Redis configured and out of reach: replay protection holds (nonces are in the database) and the
rate limits still hold, counted on the node; nothing answers 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar.testing import TestClient

from bloodcert import metrics
from bloodcert.config import Settings
from bloodcert.storage import redis_health
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.factories import create_station, make_record, signed_headers
from tests.live_server import free_port

# Nothing listens there: every connection is refused, as when the Redis server has died.
LOST_REDIS = f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture(autouse=True)
def redis_found_again() -> Iterator[None]:
    """This process's note of a lost Redis is forgotten afterwards: other tests' Redis is fine."""
    yield
    redis_health._lost_at = None


def _counted_locally() -> float:
    family = next(iter(metrics._metrics().limits_local.collect()))
    return sum(sample.value for sample in family.samples if sample.name.endswith("_total"))


def test_a_nonce_replayed_to_another_worker_is_refused_without_redis(
    settings: Settings, db: Database
) -> None:
    key = create_station(db)
    url = BASE + "/api/v1/station/donations"
    body = json.dumps({"records": [make_record()]}).encode()
    headers = signed_headers(key, "POST", url, body, nonce=uuid.uuid4().hex)
    lost = replace(settings, redis_url=LOST_REDIS)
    # Two apps stand for two worker processes (or nodes); they share the database, and Redis is gone.
    with TestClient(create_app(lost, db=db), base_url=BASE) as first:
        assert first.post(url, content=body, headers=headers).status_code == 200
    with TestClient(create_app(lost, db=db), base_url=BASE) as second:
        replay = second.post(url, content=body, headers=headers)
    assert (replay.status_code, replay.json()["type"]) == (401, "replayed_nonce")


def test_the_limits_hold_on_the_node_while_redis_is_lost(settings: Settings, db: Database) -> None:
    limits = (*settings.rate_limits, ("verify", "3/minute"), ("login", "2/minute"))
    lost = replace(settings, redis_url=LOST_REDIS, rate_limits=limits)
    before = _counted_locally()
    with TestClient(create_app(lost, db=db), base_url=BASE) as client:
        verified = [
            client.post(BASE + "/api/v1/verify", json={"payload": "BC1:x"}).status_code for _ in range(4)
        ]
        login = {
            "id_type": "resident_id",
            "id_number": "330106199001011221",
            "name": "王芳",
            "donation_no": "x",
        }
        logins = [client.post(BASE + "/api/v1/auth/login", json=login).status_code for _ in range(3)]
    assert 500 not in verified + logins
    assert verified[3] == 429 and 429 not in verified[:3]
    assert logins[2] == 429 and 429 not in logins[:2]
    assert _counted_locally() > before
