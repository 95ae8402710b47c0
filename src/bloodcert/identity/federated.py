"""Real-name login through Alipay, WeChat and Baidu: OAuth state, account links, and donor sessions.

A platform account links to a donor only through an ID type + number + name that the platform itself
verified; an account keyed by (provider, subject) remembers that link for later logins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bloodcert.domain.clock import naive_utc
from bloodcert.domain.identity import IdType, normalize_id_number
from bloodcert.domain.keyed import identity_hash_of, name_hash_of, token_hash
from bloodcert.identity.login import Grant, start_session
from bloodcert.identity.providers.base import IdentityProvider, VerifiedIdentity
from bloodcert.storage.uow import UnitOfWork

STATE_TTL = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """What the callback needs from the start: the PKCE verifier (or the platform's equivalent)."""

    provider: str
    code_verifier: str | None
    redirect_to: str


def remember_start(
    uow: UnitOfWork, *, provider: str, state: str, code_verifier: str | None, redirect_to: str, now: datetime
) -> None:
    """Keep the OAuth state (hashed) and verifier server-side until the callback, for ten minutes."""
    uow.identity.add_state(
        {
            "state_hash": token_hash(state),
            "provider": provider,
            "code_verifier": code_verifier,
            "redirect_to": redirect_to,
            "expires_at": naive_utc(now + STATE_TTL),
        }
    )


def take_pending(uow: UnitOfWork, provider: str, state: str, now: datetime) -> PendingLogin | None:
    """Use up a state; None when it is unknown, expired or was started for another provider."""
    row = uow.identity.take_state(token_hash(state[:200]))
    if row is None or row["provider"] != provider or row["expires_at"] <= naive_utc(now):
        return None
    return PendingLogin(provider, row["code_verifier"], row["redirect_to"])


def sign_in(uow: UnitOfWork, identity: VerifiedIdentity, *, index_key: bytes, now: datetime) -> Grant | None:
    """Link the platform account and open a session; None when no donation record matches the identity."""
    hashes = _verified_hashes(identity, index_key)
    if hashes is not None:
        uow.identity.link_provider_account(
            provider=identity.provider,
            subject=identity.subject,
            identity_hash=hashes[0],
            name_hash=hashes[1],
            now=naive_utc(now),
        )
    else:
        account = uow.identity.provider_account(identity.provider, identity.subject)
        if account is None or account["identity_hash"] is None:
            return None
        hashes = (bytes(account["identity_hash"]), bytes(account["name_hash"]))
    if not uow.history.persons_by_identity_and_name(*hashes):
        return None
    return start_session(uow, hashes[0], hashes[1], identity.provider, now)


def _verified_hashes(identity: VerifiedIdentity, index_key: bytes) -> tuple[bytes, bytes] | None:
    if not (identity.id_type and identity.id_number and identity.name):
        return None
    try:
        id_type = IdType(identity.id_type)
    except ValueError:
        return None
    number = normalize_id_number(identity.id_number)
    return identity_hash_of(index_key, id_type, number), name_hash_of(index_key, identity.name)


def button_list(providers: dict[str, IdentityProvider]) -> list[tuple[str, str]]:
    """(name, label) of each enabled provider, in display order."""
    return [(name, p.label) for name, p in providers.items()]
