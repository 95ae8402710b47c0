"""One cluster for the whole module: a private PostgreSQL primary and hot standby configured from
deploy/postgresql, a private Redis, two nodes run as deploy/systemd says, nginx as deploy/nginx says."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bloodcert.storage.uow import Database
from tests.cluster.harness import DEPLOY, Cluster, running_cluster, tools_missing
from tests.conftest import GENEROUS_LIMITS
from tests.factories import StationKey, create_station
from tests.pgpair import PgPair, skip_or_fail, start_pair, unavailable_reason

CLUSTER_GROUP = "cluster"
# The limit the cross-node test counts: small, on a route nothing else here uses.
VERIFY_LIMIT = 10
LIMITS = ",".join(f"{name}={limit}" for name, limit in GENEROUS_LIMITS if name != "verify")
LIMITS += f",verify={VERIFY_LIMIT}/minute"


def render_postgresql(name: str, archive: Path) -> str:
    """deploy/postgresql/NAME.conf for a server on this machine: loopback only, memory sized for a test,
    WAL archived into `archive`. The pair's standby streams without a replication slot."""
    text = (DEPLOY / "postgresql" / f"{name}.conf").read_text()
    swaps = {
        r"^listen_addresses = '\*'": "listen_addresses = '127.0.0.1'",
        r"^shared_buffers = \S+": "shared_buffers = 32MB",
        r"^effective_cache_size = \S+": "effective_cache_size = 256MB",
        r"^maintenance_work_mem = \S+": "maintenance_work_mem = 64MB",
        r"^primary_slot_name = .*$": "",
        "/var/lib/postgresql/wal-archive": str(archive),
    }
    for pattern, new in swaps.items():
        if pattern.startswith("^"):
            text = re.sub(pattern, new, text, flags=re.MULTILINE)
        else:
            text = text.replace(pattern, new)
    return text


def _start_pair(folder: Path) -> PgPair:
    archive = folder / "wal-archive"
    archive.mkdir(parents=True)
    if os.geteuid() == 0:  # the servers run as the postgres user (tests/pgpair.py)
        shutil.chown(folder, user="postgres")
        shutil.chown(archive, user="postgres")
    return start_pair(
        primary_conf=render_postgresql("primary", archive), replica_conf=render_postgresql("replica", archive)
    )


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgPair]:
    """The cluster's private primary and standby, with a `bloodcert` database."""
    reason = unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    folder = Path(tempfile.mkdtemp(prefix="bloodcert-cluster-pg-"))
    pair = _start_pair(folder)
    try:
        pair.create_database("bloodcert")
        yield pair
    finally:
        pair.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(pg: PgPair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Redis, two nodes and nginx over the private primary (see harness.py)."""
    missing = tools_missing()
    if missing:
        skip_or_fail(f"the cluster needs {', '.join(missing)}")
    settings = {"BLOODCERT_RATE_LIMITS": LIMITS}
    url = pg.primary.url("bloodcert", driver="postgresql")
    with running_cluster(tmp_path_factory.mktemp("cluster"), url, extra_settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def station(cluster: Cluster, pg: PgPair) -> Iterator[StationKey]:
    """A station with a key, registered in the cluster's database."""
    db = Database(pg.primary.url("bloodcert"), data_key=cluster.key("data.key"))
    try:
        yield create_station(db)
    finally:
        db.dispose()
