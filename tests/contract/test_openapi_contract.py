"""schemathesis against the app's own OpenAPI document, with every default check (including ignored_auth).

Cases are drawn per operation with hypothesis directly: schemathesis' pytest plugin does not run under the
pytest this project pins, and the checks are the same either way.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig

from bloodcert.config import Settings
from bloodcert.services.certificates import rotate_keys
from bloodcert.storage.uow import Database
from bloodcert.web.app import create_app
from tests.conftest import DATA_KEY, GENEROUS_LIMITS, INDEX_KEY, signing_for

ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' own default


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Any]:
    """The app on a migrated SQLite database with keys, and its OpenAPI document."""
    root = tmp_path_factory.mktemp("contract")
    shutil.copy(sqlite_template, root / "c.db")
    db = Database(f"sqlite:///{root / 'c.db'}", data_key=DATA_KEY)
    with db.transaction() as uow:
        rotate_keys(uow, signing_for(root), datetime.now(UTC))
    app = create_app(
        Settings(
            database_url=db.url,
            data_dir=root / "var",
            index_key=INDEX_KEY,
            data_key=DATA_KEY,
            rate_limits=GENEROUS_LIMITS,
        ),
        db=db,
    )
    # Every default check runs; the one setting: a schema-valid login may be answered "solve a captcha
    # first" (428) once the same client has failed three times, which the contract run soon does.
    config = SchemathesisConfig.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "428"]}}}
    )
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=config)
    db.dispose()


def test_every_operation_keeps_the_contract(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            case.call_and_validate()

        run()
