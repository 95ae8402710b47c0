"""Concurrent claims on one donor's pools, from several hospitals and threads, never overdraw them."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bloodcert.domain.waivers import builtin_rule_book
from bloodcert.errors import AppError
from bloodcert.services import audit, waivers
from bloodcert.services.certificates import Signing
from bloodcert.services.station_auth import SignedRequest
from bloodcert.storage.tables import waiver_ledger
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.api.hospital_helpers import (
    LI_LEI,
    HospitalKey,
    create_hospital,
    donation,
    report,
    sign,
    waiver_body,
)
from tests.conftest import DATA_KEY, INDEX_KEY
from tests.factories import create_station

CLAIMS = 48
THREADS = 12


def _claim(db: Database, key: HospitalKey, n: int) -> str:
    relative = n % 2 == 1
    body = waiver_body(
        f"INV-{key.hospital.code}-{n}",
        patient=LI_LEI if relative else None,
        relationship="spouse" if relative else "self",
        proof="marriage_certificate" if relative else "none",
        items=[{"component": "red_cells", "volume_ml": 100, "amount_fen": 13000}],
    )
    raw = json.dumps(body, ensure_ascii=False).encode()
    url = BASE + "/api/v1/hospital/waivers"
    request = SignedRequest("POST", url, list(sign(key, "POST", url, raw).items()), raw)
    ctx = waivers.Context(builtin_rule_book(), INDEX_KEY, DATA_KEY, window_s=300)
    try:
        waivers.claim(db, ctx, request)
        return "relatives" if relative else "self"
    except AppError as exc:
        return exc.slug


def test_concurrent_claims_never_draw_more_than_a_pool_holds(db: Database, signing: Signing) -> None:
    report(db, signing, create_station(db), donation("D1"))  # self: 5 x 200 = 1000 ml; relatives: 400 ml
    hospitals = [create_hospital(db, f"H330100{i}") for i in range(3)]
    with db.transaction() as uow:  # the audit chain's head exists before the race, as in any live system
        audit.append(uow, DATA_KEY, audit.AuditEvent("test", "start"))
    start = threading.Barrier(THREADS)

    def worker(t: int) -> list[str]:
        start.wait()
        return [_claim(db, hospitals[n % 3], n) for n in range(t, CLAIMS, THREADS)]

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = Counter(o for batch in pool.map(worker, range(THREADS)) for o in batch)
    assert outcomes == {"self": 10, "relatives": 4, "not_eligible": CLAIMS - 14}
    with db.reading() as uow:
        drawn = dict(
            uow.conn.execute(
                select(waiver_ledger.c.pool, func.sum(waiver_ledger.c.ml)).group_by(waiver_ledger.c.pool)
            ).all()
        )
    assert drawn == {"self": 1000, "relatives": 400}
