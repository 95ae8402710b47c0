"""Online verification (POST /api/v1/verify): the database is the trust list and the status authority."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bloodcert.certs.documents import TRUST_LIST_LIFETIME, TrustedKey, TrustList
from bloodcert.certs.verify import Verification, verify_qr
from bloodcert.services.health_checks import pass_in_force
from bloodcert.services.honours import card_in_force
from bloodcert.storage.uow import Database

TRUST_CACHE_S = 30.0


def trust_list_from_db(db: Database, issuer: str) -> TrustList:
    """The current keys as a TrustList (no signature needed: they come from our own database)."""
    with db.reading() as uow:
        rows = uow.certificates.all_keys()
    now = datetime.now(UTC)
    keys = {
        k.kid: TrustedKey(
            k.kid,
            k.alg,
            k.public_key_pem,
            k.not_before.replace(tzinfo=UTC),
            k.not_after.replace(tzinfo=UTC),
            k.status,
        )
        for k in rows
        if k.role == "signing"
    }
    root = next((k for k in rows if k.role == "root"), None)
    return TrustList(
        issuer,
        now,
        now + TRUST_LIST_LIFETIME,
        root.public_key_pem if root else "",
        root.alg if root else "",
        keys,
    )


@dataclass
class OnlineVerifier:
    """Verifies against the database; keys are cached briefly and reloaded at once on an unknown kid."""

    db: Database
    issuer: str
    _trust: TrustList | None = None
    _loaded_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _trust_list(self, *, refresh: bool = False) -> TrustList:
        with self._lock:
            if refresh or self._trust is None or time.monotonic() - self._loaded_at > TRUST_CACHE_S:
                self._trust = trust_list_from_db(self.db, self.issuer)
                self._loaded_at = time.monotonic()
            return self._trust

    def verify(self, qr: str, now: datetime | None = None) -> Verification:
        """Verify a `BC1:` text; the status comes from the database, so it is always current."""
        now = now or datetime.now(UTC)
        result = verify_qr(qr, self._trust_list(), self._status_of, now)
        if result.reason == "unknown_key":
            # A key rotated by another process a moment ago must not make fresh certificates fail.
            result = verify_qr(qr, self._trust_list(refresh=True), self._status_of, now)
        if result.valid and result.content is not None and result.issued_at is not None:
            with self.db.donor_reads() as reads:
                found = reads.certificates.standing(
                    result.content.certificate_no, result.content.status_list, result.kid or b""
                )
            # The cached trust list may be up to TRUST_CACHE_S old: the key's current row has the last word.
            issued = result.issued_at.replace(tzinfo=None)
            in_force = found is not None and found.not_before <= issued <= found.not_after
            if found is None or found.key_status == "revoked" or not in_force:
                return Verification(False, "key_expired", result.content, result.issued_at, result.notes)
            if found.certificate_status != "active":
                return Verification(False, "revoked", result.content, result.issued_at, result.notes)
        if result.valid and result.honour is not None:
            with self.db.reading() as uow:
                in_force = card_in_force(uow, result.honour.serial)
            if not in_force:  # re-issued since: only the newest card of a donor works
                return Verification(
                    False, "revoked", None, result.issued_at, result.notes, honour=result.honour
                )
        if result.valid and result.donor_pass is not None:
            with self.db.reading() as uow:
                in_force = pass_in_force(uow, result.donor_pass.serial)
            if not in_force:  # answered again since, or the booking was cancelled
                return replace(result, valid=False, reason="revoked")
        return result

    def _status_of(self, _list_id: str, _index: int) -> bool | None:
        # The certificate row, checked after the signature, is the authority online.
        return False
