"""The hospital API has an abuse limit per client and key, like the station API's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.api.conftest import BASE
from tests.api.hospital_helpers import QUOTE, create_hospital, post, waiver_body


@pytest.fixture
def strict(settings: Settings, db: Database) -> Iterator[Any]:
    limits = (("hospital", "2/minute"),)
    with TestClient(create_app(replace(settings, rate_limits=limits), db=db), base_url=BASE) as client:
        yield client


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_one_hospitals_limit_does_not_starve_another(strict: Any, db: Database) -> None:
    one = create_hospital(db, "H1")
    two = create_hospital(db, "H2")
    statuses = [post(strict, one, QUOTE, waiver_body()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert post(strict, two, QUOTE, waiver_body()).status_code == 200
