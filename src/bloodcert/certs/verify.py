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
    DonorPassContent,
    HonourCardContent,
    from_claims,
    honour_from_claims,
    is_donor_pass,
    is_honour_card,
    pass_from_claims,
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
    donor_pass: DonorPassContent | None = None
    hours: HoursStatementContent | None = None

    @property
    def type(self) -> str:
        """Which kind of document it is: `donation` (a certificate), `honour` (an honour card), `pass` (a
        donation pass) or `hours` (a volunteer-hours statement)."""
        if self.donor_pass is not None:
            return "pass"
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
    for is_kind, check in _SHORT_LIVED:
        if is_kind(decoded.claims):
            return replace(check(decoded.claims, key, trust, now, notes), kid=decoded.kid)
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
    reason = _short_lived_reason(issuer, issued_at, card.expires_at, key, trust, now)
    if reason == "unknown_key":
        return Verification(False, reason, notes=notes)
    return Verification(reason == "ok", reason, None, issued_at, notes, honour=card)


def _donor_pass(
    claims: dict[Any, Any], key: TrustedKey, trust: TrustList, now: datetime, notes: tuple[str, ...]
) -> Verification:
    """A donation pass whose signature holds: checked like an honour card, and as briefly valid.

    Online, services/verification.py also asks whether the pass is still its holder's latest and its
    booking still stands; offline the pass is good until it expires.
    """
    try:
        content, issuer, issued_at = pass_from_claims(claims)
    except MalformedQR:
        return Verification(False, "malformed", notes=notes)
    reason = _short_lived_reason(issuer, issued_at, content.expires_at, key, trust, now)
    if reason == "unknown_key":
        return Verification(False, reason, notes=notes)
    return Verification(reason == "ok", reason, None, issued_at, notes, donor_pass=content)


def _short_lived_reason(  # noqa: PLR0917 (the facts one verdict weighs)
    issuer: str, issued_at: datetime, expires_at: datetime, key: TrustedKey, trust: TrustList, now: datetime
) -> str:
    """The verdict on a short-lived document (honour card, pass) once its signature holds."""
    if issuer != trust.issuer:
        return "unknown_key"
    if key.status == "revoked" or not key.not_before <= issued_at <= key.not_after:
        return "key_expired"
    return "expired" if now > expires_at else "ok"


def _hours_statement(
    claims: dict[Any, Any], key: TrustedKey, trust: TrustList, now: datetime, notes: tuple[str, ...]
) -> Verification:
    """A volunteer-hours statement whose signature holds: checked like an honour card.

    A statement is a snapshot of the hours on the day it was issued; it verifies the same online and
    offline until it expires, and a corrected history shows in the next statement.
    """
    try:
        statement, issuer, issued_at = statement_from_claims(claims)
    except MalformedQR:
        return Verification(False, "malformed", notes=notes)
    reason = _short_lived_reason(issuer, issued_at, statement.expires_at, key, trust, now)
    if reason == "unknown_key":
        return Verification(False, reason, notes=notes)
    return Verification(reason == "ok", reason, None, issued_at, notes, hours=statement)


# The short-lived documents signed on the same keys as certificates: how each is recognised and checked.
_SHORT_LIVED = (
    (is_honour_card, _honour_card),
    (is_donor_pass, _donor_pass),
    (is_hours_statement, _hours_statement),
)
