"""Verifying a `BC1:` certificate, online or offline: always an answer with a reason, never an exception."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from bloodcert.certs.algorithms import UnsupportedAlgorithm, algorithm, algorithm_for_cose
from bloodcert.certs.documents import TrustedKey, TrustList
from bloodcert.certs.payload import (
    CertificateContent,
    HonourCardContent,
    from_claims,
    honour_from_claims,
    is_honour_card,
)
from bloodcert.certs.qr import MalformedQR, decode
from bloodcert.certs.statement import HoursStatementContent, is_hours_statement, statement_from_claims

# (list id, index) → True revoked, False in force, None when the list is unknown to this verifier.
StatusLookup = Callable[[str, int], bool | None]


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer: valid or not, its reason, and the certificate's fields when they could be read."""

    valid: bool
    reason: str  # ok | malformed | unknown_key | bad_signature | revoked | key_expired | expired
    content: CertificateContent | None = None
    issued_at: datetime | None = None
    notes: tuple[str, ...] = field(default=())
    kid: bytes | None = None
    honour: HonourCardContent | None = None
    hours: HoursStatementContent | None = None

    @property
    def type(self) -> str:
        """Which kind of document it is: `donation` (a certificate), `honour` (an honour card) or `hours`
        (a volunteer-hours statement)."""
        if self.hours is not None:
            return "hours"
        return "honour" if self.honour is not None else "donation"


@lru_cache(maxsize=256)
def _public_key(alg_name: str, pem: str) -> Any:
    return algorithm(alg_name).load_public(pem.encode())


def verify_qr(text: str, trust: TrustList, status: StatusLookup, now: datetime) -> Verification:
    """Check a QR payload against a trust list and status lists."""
    notes = ("trust_list_stale",) if trust.is_stale(now) else ()
    try:
        decoded = decode(text)
    except MalformedQR:
        return Verification(False, "malformed", notes=notes)
    key = trust.keys.get(decoded.kid)
    if key is None:
        return Verification(False, "unknown_key", notes=notes)
    alg = algorithm_for_cose(decoded.alg)
    if alg is None or alg.name != key.alg:
        return Verification(False, "bad_signature", notes=notes)
    try:
        public_key = _public_key(key.alg, key.public_key_pem)
    except (UnsupportedAlgorithm, ValueError):
        return Verification(False, "unknown_key", notes=notes)
    if not alg.verify(public_key, decoded.signature, decoded.signed_bytes()):
        return Verification(False, "bad_signature", notes=notes)
    if is_honour_card(decoded.claims):
        return replace(_honour_card(decoded.claims, key, trust, now, notes), kid=decoded.kid)
    if is_hours_statement(decoded.claims):
        return replace(_hours_statement(decoded.claims, key, trust, now, notes), kid=decoded.kid)
    try:
        content, issuer, issued_at = from_claims(decoded.claims)
    except MalformedQR:
        return Verification(False, "malformed", notes=notes)
    if issuer != trust.issuer:
        return Verification(False, "unknown_key", notes=notes)
    # A key signs only inside its validity period; a revoked (compromised) key vouches for nothing.
    if key.status == "revoked" or not key.not_before <= issued_at <= key.not_after:
        return Verification(False, "key_expired", content, issued_at, notes)
    revoked = status(*content.status_list)
    if revoked:
        return Verification(False, "revoked", content, issued_at, notes)
    if revoked is None:
        notes = (*notes, "status_unknown")
    return Verification(True, "ok", content, issued_at, notes, decoded.kid)


def _honour_card(
    claims: dict[Any, Any], key: TrustedKey, trust: TrustList, now: datetime, notes: tuple[str, ...]
) -> Verification:
    """An honour card whose signature holds: its issuer, its key's period, and its own short validity.

    Whether a re-issue has superseded it is known only online (services/verification.py); offline the card
    is good until it expires, which is why it is valid briefly.
    """
    try:
        card, issuer, issued_at = honour_from_claims(claims)
    except MalformedQR:
        return Verification(False, "malformed", notes=notes)
    if issuer != trust.issuer:
        return Verification(False, "unknown_key", notes=notes)
    if key.status == "revoked" or not key.not_before <= issued_at <= key.not_after:
        return Verification(False, "key_expired", None, issued_at, notes, honour=card)
    if now > card.expires_at:
        return Verification(False, "expired", None, issued_at, notes, honour=card)
    return Verification(True, "ok", None, issued_at, notes, honour=card)


def _hours_statement(
    claims: dict[Any, Any], key: TrustedKey, trust: TrustList, now: datetime, notes: tuple[str, ...]
) -> Verification:
    """A volunteer-hours statement whose signature holds: its issuer, its key's period and its validity.

    A statement is a snapshot of the hours on the day it was issued; it verifies the same online and
    offline until it expires, and a corrected history shows in the next statement.
    """
    try:
        statement, issuer, issued_at = statement_from_claims(claims)
    except MalformedQR:
        return Verification(False, "malformed", notes=notes)
    if issuer != trust.issuer:
        return Verification(False, "unknown_key", notes=notes)
    if key.status == "revoked" or not key.not_before <= issued_at <= key.not_after:
        return Verification(False, "key_expired", None, issued_at, notes, hours=statement)
    if now > statement.expires_at:
        return Verification(False, "expired", None, issued_at, notes, hours=statement)
    return Verification(True, "ok", None, issued_at, notes, hours=statement)
