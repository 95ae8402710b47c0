"""With Redis configured, nonces are shared through Redis: a replay is refused by any worker."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest
import redis
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.factories import create_station, make_record, signed_headers

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not reachable")
def test_a_nonce_replayed_to_another_worker_is_refused_through_redis(
    settings: Settings, db: Database
) -> None:
    key = create_station(db)
    url = BASE + "/api/v1/station/donations"
    body = json.dumps({"records": [make_record()]}).encode()
    headers = signed_headers(key, "POST", url, body, nonce=uuid.uuid4().hex)
    with_redis = replace(settings, redis_url=REDIS_URL)
    # Two apps stand for two worker processes; they share nothing but the database and Redis.
    with TestClient(create_app(with_redis, db=db), base_url=BASE) as first:
        assert first.post(url, content=body, headers=headers).status_code == 200
    with TestClient(create_app(with_redis, db=db), base_url=BASE) as second:
        replay = second.post(url, content=body, headers=headers)
    assert (replay.status_code, replay.json()["type"]) == (401, "replayed_nonce")
