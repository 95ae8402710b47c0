"""An app and a test client over the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from bloodcert.config import Settings
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app

BASE = "http://testserver.local"


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A client for the app, serving the test database."""
    app = create_app(settings, db=db)
    with TestClient(app=app, base_url=BASE) as test_client:
        yield test_client
