"""Deferred signing: an import stores certificates pending, `certs sign-pending` signs each exactly once,
however often it is stopped, rerun or run twice at once; meanwhile the donor sees "being issued"."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bloodcert.errors import Conflict
from bloodcert.services import history
from bloodcert.services.certificates import Signing
from bloodcert.services.importing import import_file
from bloodcert.services.pending_certificates import count_pending, sign_pending
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.services.stations import seed_builtin_stations
from bloodcert.services.synthetic import Generator
from bloodcert.services.verification import OnlineVerifier
from bloodcert.storage.tables import certificates, donations
from bloodcert.storage.uow import Database
from tests.cli_process import cli
from tests.conftest import DATA_KEY, INDEX_KEY, empty_postgres, signing_for, with_keys


def records(persons: int, seed: int = 11) -> list[dict[str, Any]]:
    return list(Generator(seed=seed, today=date(2026, 11, 30)).records(persons))


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def deferred_import(db: Database, signing: Signing, tmp_path: Path, persons: int) -> int:
    with db.transaction() as uow:
        seed_builtin_stations(uow, datetime.now(UTC))
    path = write_jsonl(tmp_path / "national.jsonl", records(persons))
    summary = import_file(
        db, path, station_code=None, index_key=INDEX_KEY, signing=signing, defer_signing=True, chunk=40
    )
    return summary.accepted


def certificate_rows(db: Database) -> list[Any]:
    with db.reading() as uow:
        return list(
            uow.conn.execute(
                select(
                    certificates.c.certificate_no,
                    certificates.c.qr,
                    certificates.c.kid,
                    certificates.c.pending,
                    donations.c.donation_no,
                )
                .join(donations, donations.c.id == certificates.c.donation_id)
                .order_by(certificates.c.id)
            )
        )


def assert_all_signed_once(db: Database, expected: int) -> None:
    rows = certificate_rows(db)
    assert len(rows) == expected
    assert count_pending(db) == 0
    verifier = OnlineVerifier(db, "CN-NHC")
    for number, qr, kid, pending, donation_no in rows:
        assert pending is None and kid is not None
        result = verifier.verify(qr)
        assert result.valid, result.reason
        assert result.content is not None
        assert (result.content.certificate_no, result.content.donation_no) == (number, donation_no)


def test_a_deferred_import_stores_certificates_pending_and_sign_pending_signs_them(
    db: Database, signing: Signing, tmp_path: Path
) -> None:
    accepted = deferred_import(db, signing, tmp_path, 40)
    rows = certificate_rows(db)
    assert len(rows) == accepted == count_pending(db)
    assert all(qr is None and kid is None and pending is not None for _, qr, kid, pending, _ in rows)
    # The donor sees the donation and its number; the certificate itself is being issued.
    with db.reading() as uow:
        person_id, number = uow.conn.execute(
            select(certificates.c.person_id, certificates.c.certificate_no).limit(1)
        ).one()
        principal = DonorPrincipal(1, b"", b"", (person_id,), under_review=False)
        with pytest.raises(Conflict) as refused:
            history.certificate(uow, principal, number)
    assert refused.value.slug == "certificate_pending"
    seen: list[int] = []
    assert sign_pending(db, signing, batch=7, progress=seen.append) == accepted
    assert sum(seen) == accepted and max(seen) == 7
    assert_all_signed_once(db, accepted)
    assert sign_pending(db, signing) == 0  # nothing left: a second run signs nothing
    with db.reading() as uow:
        cert = history.certificate(uow, principal, number)
    assert cert.content.certificate_no == number


def test_two_signers_at_once_sign_each_certificate_once(
    db: Database, signing: Signing, tmp_path: Path
) -> None:
    accepted = deferred_import(db, signing, tmp_path, 60)
    start = threading.Barrier(2)

    def signer(_: int) -> int:
        start.wait()
        return sign_pending(db, signing, batch=5)

    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(signer, range(2)))
    assert sum(counts) == accepted  # no certificate counted (signed) by both
    assert_all_signed_once(db, accepted)


# --- the command, killed and rerun (PostgreSQL) ---------------------------------------------------------


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path) -> Iterator[Database]:
    database = Database(postgres_url, data_key=DATA_KEY)
    empty_postgres(database)
    yield with_keys(database, tmp_path)
    database.dispose()


def signed_count(db: Database) -> int:
    with db.reading() as uow:
        return int(
            uow.conn.execute(
                select(func.count()).select_from(certificates).where(certificates.c.pending.is_(None))
            ).scalar_one()
        )


@pytest.mark.postgres
def test_sign_pending_killed_mid_run_and_rerun_signs_every_certificate_once(
    pg: Database, tmp_path: Path
) -> None:
    signing = signing_for(tmp_path)
    accepted = deferred_import(pg, signing, tmp_path, 300)
    # Small batches (a transaction each) keep the first run going long enough to be killed part-way.
    first = cli(tmp_path, pg, "certs", "sign-pending", "--batch", "2", "--jobs", "2")
    try:
        deadline = time.monotonic() + 60
        while signed_count(pg) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    time.sleep(1.5)  # the signing processes notice their parent is gone and end
    during = signed_count(pg)
    assert 60 <= during < accepted
    # Two runs at once finish the job between them.
    second, third = (
        cli(tmp_path, pg, "certs", "sign-pending", "--jobs", "2", "--batch", "15"),
        cli(tmp_path, pg, "certs", "sign-pending", "--batch", "15"),
    )
    outputs = [p.communicate(timeout=120) for p in (second, third)]
    assert second.returncode == 0 and third.returncode == 0, outputs
    signed = [int(out.decode().split("signed ")[1].split()[0]) for out, _ in outputs]
    assert sum(signed) == accepted - during
    assert_all_signed_once(pg, accepted)
