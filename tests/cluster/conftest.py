"""One cluster for the whole module: a private PostgreSQL primary and hot standby configured from
deploy/postgresql, a private Redis, two nodes run as deploy/systemd says, nginx as deploy/nginx says."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bloodcert.storage.uow import Database
from tests.cluster.harness import Cluster, running_cluster, start_database, tools_missing
from tests.conftest import GENEROUS_LIMITS
from tests.factories import StationKey, create_station
from tests.pgpair import PgPair, skip_or_fail, unavailable_reason

CLUSTER_GROUP = "cluster"
# The limit the cross-node test counts: small, on a route nothing else here uses.
VERIFY_LIMIT = 10
LIMITS = ",".join(f"{name}={limit}" for name, limit in GENEROUS_LIMITS if name != "verify")
LIMITS += f",verify={VERIFY_LIMIT}/minute"


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgPair]:
    """The cluster's private primary and standby, with a `bloodcert` database."""
    reason = unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    # Not under pytest's folder: the servers run as another user when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="bloodcert-cluster-pg-"))
    try:
        pair = start_database(folder)
        try:
            yield pair
        finally:
            pair.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(pg: PgPair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Redis, two nodes and nginx over the private primary (see harness.py)."""
    missing = tools_missing()
    if missing:
        skip_or_fail(f"the cluster needs {', '.join(missing)}")
    settings = {"BLOODCERT_RATE_LIMITS": LIMITS}
    with running_cluster(tmp_path_factory.mktemp("cluster"), pg, extra_settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def station(cluster: Cluster, pg: PgPair) -> Iterator[StationKey]:
    """A station with a key, registered in the cluster's database."""
    db = Database(pg.primary.url("bloodcert"), data_key=cluster.key("data.key"))
    try:
        yield create_station(db)
    finally:
        db.dispose()
