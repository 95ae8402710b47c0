"""Certificate renders over HTTP: limited per session and per client, and drawn once per content."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.services.certificates import Signing
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.api.test_donor_api import bearer, log_in, seed, wang_history
from tests.conftest import GENEROUS_LIMITS
from tests.factories import create_station

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _app(settings: Settings, db: Database, **limits: str) -> Any:
    overrides = (*GENEROUS_LIMITS, *limits.items())
    return create_app(replace(settings, rate_limits=overrides), db=db)


def _certificate(client: Any, token: str) -> str:
    donations = client.get(BASE + "/api/v1/me/donations", headers=bearer(token)).json()["donations"]
    return str(donations[0]["certificate_no"])


@pytest.fixture
def wang(db: Database, signing: Signing) -> None:
    create_station(db)
    seed(db, signing, wang_history())


@pytest.mark.usefixtures("wang")
def test_renders_are_limited_per_session(settings: Settings, db: Database) -> None:
    with TestClient(_app(settings, db, render_session="3/minute"), base_url=BASE) as client:
        token = log_in(client)
        client.cookies.clear()
        url = BASE + f"/api/v1/me/certificates/{_certificate(client, token)}.svg"
        statuses = [client.get(url, headers=bearer(token)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        # The JSON form of the certificate is not a render, and another session has its own count.
        assert client.get(url.removesuffix(".svg"), headers=bearer(token)).status_code == 200
        assert client.get(url, headers=bearer(log_in(client))).status_code == 200


@pytest.mark.usefixtures("wang")
def test_renders_are_limited_per_client_whatever_the_session(settings: Settings, db: Database) -> None:
    with TestClient(_app(settings, db, render="2/minute"), base_url=BASE) as client:
        tokens = [log_in(client) for _ in range(3)]
        client.cookies.clear()
        url = BASE + f"/api/v1/me/certificates/{_certificate(client, tokens[0])}.pdf"
        assert [client.get(url, headers=bearer(t)).status_code for t in tokens] == [200, 200, 429]


@pytest.mark.usefixtures("wang")
def test_a_certificate_is_drawn_once_for_every_request_of_it(settings: Settings, db: Database) -> None:
    with TestClient(_app(settings, db), base_url=BASE) as client:
        token = log_in(client)
        client.cookies.clear()
        url = BASE + f"/api/v1/me/certificates/{_certificate(client, token)}.svg"
        bodies = {client.get(url, headers=bearer(token)).content for _ in range(5)}
        assert len(bodies) == 1
        assert client.app.state["bloodcert"].renders.renders == 1
