"""Signing the certificates a bulk import stored pending (`bloodcert certs sign-pending`).

`bloodcert import --defer-signing` stores each certificate with its number and status entry but no
signature, so that a national back-fill spends its time on the database only. Until signed, the donor's
history shows the donation with its certificate number, and the certificate itself answers "being issued"
(problem `certificate_pending`); there is no `BC1:` text yet, so there is nothing a verifier could be shown.

Signing takes the oldest pending certificates in batches; each batch is signed and stored in one
transaction, so the run can be stopped at any moment and started again. On PostgreSQL a batch holds its
rows and concurrent signers pass them over (SKIP LOCKED); on SQLite signers take turns. A certificate is
signed once: the update only touches rows still pending.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bloodcert.domain.clock import naive_utc
from bloodcert.services.certificates import CertificateIssuer, Signing, content_of
from bloodcert.storage.uow import Database

BATCH = 500


def count_pending(db: Database) -> int:
    """How many certificates wait for their signature."""
    with db.reading() as uow:
        return uow.certificates.count_pending()


def sign_pending(
    db: Database,
    signing: Signing,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    limit: int | None = None,
) -> int:
    """Sign pending certificates, a batch per transaction, until none is left (or `limit` are signed);
    returns how many this call signed. `progress` is called with each batch's count."""
    signed = 0
    while limit is None or signed < limit:
        size = batch if limit is None else min(batch, limit - signed)
        with db.transaction() as uow:
            rows = uow.certificates.pending(size)
            if not rows:
                break
            issuer = CertificateIssuer.open(uow, signing)
            now = datetime.now(UTC)
            job = issuer.sign_job([content_of(r.content) for r in rows], now)
            texts = job.sign(issuer.private_key)
            kid = issuer.key.kid
            done = uow.certificates.sign_pending(
                [(r.id, kid, text) for r, text in zip(rows, texts, strict=True)], naive_utc(now)
            )
        signed += done
        if progress is not None:
            progress(done)
    return signed


def sign_pending_job(job: tuple[str, bytes | None, Signing, int], progress: Callable[[int], None]) -> None:
    """One of several signing processes (services.workers.run_writers): (database URL, data key, signing,
    batch size)."""
    url, data_key, signing, batch = job
    db = Database(url, data_key=data_key)
    try:
        sign_pending(db, signing, batch=batch, progress=progress)
    finally:
        db.dispose()
