"""Two nodes behind nginx over one PostgreSQL and one Redis behave as one platform, and survive losing a
node, a PostgreSQL restart and Redis (README: "Running several nodes").

The tests run in order on one cluster (module scope); each leaves it whole for the next.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import CLUSTER_GROUP, VERIFY_LIMIT
from tests.cluster.harness import ROOT, Cluster, Node, wait_until
from tests.factories import WANG_FANG, StationKey, make_record, signed_headers
from tests.pgpair import PgPair

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group(CLUSTER_GROUP)]

_spec = importlib.util.spec_from_file_location("bench_harness", ROOT / "bench" / "harness.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_harness"] = bench
_spec.loader.exec_module(bench)

BATCH = "/api/v1/station/donations"


def _batch(cluster: Cluster, station: StationKey, node: Node | None = None, **record: Any) -> httpx.Response:
    """A signed batch of one record, through nginx or straight to one node as nginx would forward it."""
    url = cluster.nginx_.url + BATCH
    body = json.dumps({"records": [make_record(**record)]}).encode()
    headers = signed_headers(station, "POST", url, body, nonce=uuid.uuid4().hex)
    return _send(cluster, "POST", BATCH, body, headers, node)


def _send(
    cluster: Cluster, method: str, path: str, body: bytes, headers: dict[str, str], node: Node | None
) -> httpx.Response:
    if node is None:
        with cluster.client() as client:
            return client.request(method, path, content=body, headers=headers)
    # What nginx adds: the host the station called (and signed), the scheme, the client.
    forwarded = {
        "Host": cluster.nginx_.url.split("://", 1)[1],
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "127.0.0.1",
    }
    return httpx.request(method, node.url + path, content=body, headers={**headers, **forwarded}, timeout=15)


def _login(node: Node, donation_no: str) -> str:
    body = {k: WANG_FANG[k] for k in ("id_type", "id_number", "name")} | {"donation_no": donation_no}
    response = httpx.post(node.url + "/api/v1/auth/login", json=body, timeout=15)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _history(node: Node, token: str) -> list[str]:
    response = httpx.get(
        node.url + "/api/v1/me/donations", headers={"Authorization": f"Bearer {token}"}, timeout=15
    )
    assert response.status_code == 200, response.text
    return [item["donation_no"] for item in response.json()["donations"]]


@pytest.fixture(scope="module")
def donor(cluster: Cluster, station: StationKey) -> str:
    """王芳's first donation, accepted through nginx: its number logs her in."""
    donation_no = f"D{uuid.uuid4().hex[:12]}"
    response = _batch(cluster, station, donation_no=donation_no)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "created"
    return donation_no


def test_the_deploy_files_run_as_written(cluster: Cluster, pg: PgPair) -> None:
    """TLS, the request id from nginx to the node and back, the metrics port kept off the proxy, and the
    PostgreSQL settings in force: WAL archived, the standby in recovery and answering reads."""
    assert pg.primary.query("SHOW archive_mode") == "on"
    assert pg.primary.query("SHOW log_lock_waits") == "on"
    assert pg.replica.query("SELECT pg_is_in_recovery()") is True
    assert pg.replica.query("SHOW max_standby_streaming_delay") == "30s"
    pg.primary.query("SELECT pg_switch_wal()")
    wait_until(
        lambda: bool(pg.primary.query("SELECT archived_count FROM pg_stat_archiver")), 30, "no WAL archived"
    )
    assert pg.primary.query("SELECT failed_count FROM pg_stat_archiver") == 0
    request_id = f"cluster-{uuid.uuid4().hex}"
    with cluster.client() as client:
        answer = client.get("/api/v1/supply", headers={"X-Request-ID": request_id})
        made = client.get("/api/v1/supply")
        hidden = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == request_id
    assert answer.headers["strict-transport-security"]  # the node saw https through X-Forwarded-Proto
    assert len(made.headers["x-request-id"]) == 32  # nginx's own $request_id when the client sent none
    (served_by,) = cluster.nginx_.upstreams_of(request_id)
    node = next(n for n in cluster.nodes if served_by.endswith(f":{n.port}"))
    wait_until(lambda: request_id in node.log.read_text(), 5, "the node did not log the request id")
    assert hidden.status_code == 404
    for each in cluster.nodes:
        scraped = httpx.get(f"http://127.0.0.1:{each.metrics_port}/metrics", timeout=5)
        assert "bloodcert_http_requests_total" in scraped.text
        assert str(each.metrics_port) not in cluster.nginx_.folder.joinpath("bloodcert.conf").read_text()


def test_a_donor_session_opened_on_one_node_is_valid_on_the_other(cluster: Cluster, donor: str) -> None:
    a, b = cluster.nodes
    token = _login(a, donor)
    assert donor in _history(b, token)
    assert donor in _history(a, _login(b, donor))


def test_a_signature_nonce_used_on_one_node_is_refused_on_the_other(
    cluster: Cluster, station: StationKey
) -> None:
    a, b = cluster.nodes
    url = cluster.nginx_.url + BATCH
    body = json.dumps({"records": [make_record()]}).encode()
    headers = signed_headers(station, "POST", url, body, nonce=uuid.uuid4().hex)
    assert _send(cluster, "POST", BATCH, body, headers, a).status_code == 200
    replay = _send(cluster, "POST", BATCH, body, headers, b)
    assert (replay.status_code, replay.json()["type"]) == (401, "replayed_nonce")


def _verify_statuses(cluster: Cluster, source: str, count: int) -> tuple[list[int], set[str]]:
    """`count` verifications through nginx from one client address: their statuses and the nodes used."""
    statuses, nodes = [], set()
    with cluster.client(source) as client:
        for _ in range(count):
            request_id = uuid.uuid4().hex
            answer = client.post(
                "/api/v1/verify", json={"qr": "BC1:NOTHING"}, headers={"X-Request-ID": request_id}
            )
            statuses.append(answer.status_code)
            nodes.update(cluster.nginx_.upstreams_of(request_id))
    return statuses, nodes


def test_a_rate_limit_is_exact_across_the_nodes(cluster: Cluster) -> None:
    statuses, nodes = _verify_statuses(cluster, "127.0.0.2", 3 * VERIFY_LIMIT)
    assert len(nodes) == 2, "nginx sent every request to one node"
    assert Counter(s == 429 for s in statuses) == {False: VERIFY_LIMIT, True: 2 * VERIFY_LIMIT}
    assert 429 not in statuses[:VERIFY_LIMIT]


def test_a_batch_accepted_by_one_node_is_in_the_donors_history_on_the_other_at_once(
    cluster: Cluster, station: StationKey, donor: str, pg: PgPair
) -> None:
    a, b = cluster.nodes
    token = _login(b, donor)
    pg.wait_replayed()
    _history(b, token)
    assert b.metric("bloodcert_donor_reads_total", target="replica") > 0  # donors' reads use the standby
    pg.pause_replay()  # the standby lags: it will not show the new records
    try:
        for _ in range(3):
            new = f"D{uuid.uuid4().hex[:12]}"
            response = _batch(cluster, station, a, donation_no=new)
            assert response.status_code == 200 and response.json()["results"][0]["outcome"] == "created"
            assert new in _history(b, token)  # the first request after the 200
    finally:
        pg.resume_replay()


def _paths_file(tmp: Path, cluster: Cluster) -> Path:
    path = tmp / "paths.txt"
    path.write_text("/api/v1/supply\n/api/v1/sites\n/.well-known/bloodcert/trust-list.json\n/healthz\n")
    return path


def test_killing_a_node_under_load_fails_no_more_than_its_requests_in_flight(
    cluster: Cluster, tmp_path: Path
) -> None:
    victim = cluster.nodes[1]
    connections = 8
    result: dict[str, Any] = {}

    def load() -> None:
        result["load"] = bench.wrk(
            "cluster",
            cluster.nginx_.url,
            "paths.lua",
            seconds=6,
            connections=connections,
            data=_paths_file(tmp_path, cluster),
        )

    before = len(cluster.nginx_.log_lines())
    runner = threading.Thread(target=load)
    runner.start()
    time.sleep(2)
    victim.kill()
    runner.join(timeout=60)
    load_result = result["load"]
    retried = [line for line in cluster.nginx_.log_lines()[before:] if ", " in line.split(" upstream=", 1)[1]]
    print(
        f"node killed under load: {load_result.requests} requests, {load_result.errors} failed, {len(retried)} retried"
    )
    try:
        assert load_result.requests > 100
        # At most the requests in flight on the node could fail; nginx retries the GETs on the other node.
        assert load_result.errors <= connections, load_result
        assert retried, "nginx retried no request on the other node"
    finally:
        victim.start()
        victim.wait_ready()
    # Back in service: once its fail_timeout has passed, nginx sends the restarted node requests again.
    wait_until(
        lambda: _served_by(cluster) == victim.port, 30, "nginx did not use the restarted node", step=0.5
    )


def _served_by(cluster: Cluster) -> int:
    request_id = uuid.uuid4().hex
    with cluster.client() as client:
        client.get("/healthz", headers={"X-Request-ID": request_id})
    return int(cluster.nginx_.upstreams_of(request_id)[-1].rsplit(":", 1)[1])


def test_a_postgresql_restart_needs_no_node_restart(
    cluster: Cluster, station: StationKey, donor: str, pg: PgPair
) -> None:
    tokens = {node.name: _login(node, donor) for node in cluster.nodes}
    pg.primary.restart("fast")  # every pooled connection of every node is now broken
    for node in cluster.nodes:
        # The first requests after the restart are served: pooled connections are checked before use.
        assert donor in _history(node, tokens[node.name])
        assert _batch(cluster, station, node).status_code == 200
    with cluster.client() as client:
        assert client.get("/readyz").status_code == 200


@pytest.fixture
def redis_lost(cluster: Cluster) -> Iterator[None]:
    """Redis killed for the test, started again (empty) afterwards."""
    assert cluster.redis is not None
    cluster.redis.kill()
    try:
        yield
    finally:
        if cluster.redis.proc is None:
            cluster.redis.start()


def test_losing_redis_keeps_replay_protection_and_the_limits(
    cluster: Cluster, station: StationKey, redis_lost: None
) -> None:
    a, b = cluster.nodes
    # Stations are still served, and a replay is still refused by the other node (nonces are in PostgreSQL).
    url = cluster.nginx_.url + BATCH
    body = json.dumps({"records": [make_record()]}).encode()
    headers = signed_headers(station, "POST", url, body, nonce=uuid.uuid4().hex)
    assert _send(cluster, "POST", BATCH, body, headers, a).status_code == 200
    assert _send(cluster, "POST", BATCH, body, headers, b).json()["type"] == "replayed_nonce"
    # Each node counts the limit itself: at most the limit per node, never unlimited, never a 500.
    statuses, nodes = _verify_statuses(cluster, "127.0.0.3", 3 * VERIFY_LIMIT)
    served = statuses.count(200) + statuses.count(400) + statuses.count(422)
    assert len(nodes) == 2 and statuses.count(429) + served == len(statuses)
    assert VERIFY_LIMIT <= served <= 2 * VERIFY_LIMIT
    for node in cluster.nodes:
        assert "Redis cannot be reached" in node.log.read_text()
        assert node.metric("bloodcert_rate_limits_counted_locally_total") > 0


def test_losing_redis_keeps_read_your_writes_with_a_lagging_standby(
    cluster: Cluster, station: StationKey, donor: str, pg: PgPair, redis_lost: None
) -> None:
    """Fences are kept in PostgreSQL while Redis is lost, and still count for a while after it is back."""
    assert cluster.redis is not None
    a, b = cluster.nodes
    token = _login(b, donor)
    pg.pause_replay()
    try:
        during = f"D{uuid.uuid4().hex[:12]}"
        assert _batch(cluster, station, a, donation_no=during).status_code == 200
        assert during in _history(b, token)
        cluster.redis.start()  # back, and empty: the fence of `during` is only in PostgreSQL
        time.sleep(1.2)  # nodes try Redis again a second after they lost it
        assert during in _history(b, token)
        after = f"D{uuid.uuid4().hex[:12]}"
        assert _batch(cluster, station, a, donation_no=after).status_code == 200
        assert {during, after} <= set(_history(b, token))
    finally:
        pg.resume_replay()


def test_the_limits_are_shared_again_once_redis_is_back(cluster: Cluster) -> None:
    time.sleep(1.2)  # nodes try Redis again a second after they lost it
    statuses, _ = _verify_statuses(cluster, "127.0.0.4", 2 * VERIFY_LIMIT)
    assert statuses.count(429) == VERIFY_LIMIT
