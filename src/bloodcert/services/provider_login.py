"""Real-name login through Alipay, WeChat, Baidu (and the demo platform): start, callback, mini-program.

A platform account links to a donor only through an ID type + number + name that the platform itself
verified; an account keyed by (provider, subject) remembers that link for later logins. Such a session
reaches every person under the verified ID + name (services/sessions.py explains why that is safe).

The callback is bound to the browser that started the flow: `start` hands back a secret for a short-lived
HttpOnly cookie and stores its hash with the `state`; a callback URL opened in any other browser (a login
CSRF, or a link passed on) is refused. PKCE is used where the platform supports it (the demo platform;
Baidu's face verification token plays the same part; Alipay and WeChat have none, so there the state and
its browser binding carry the whole check).

These use cases take the Database rather than a unit of work, because the HTTP exchange with the platform
must not hold a transaction open: each transaction here is a unit of work that commits on its own.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bloodcert.domain.clock import naive_utc
from bloodcert.domain.identity import IdType, normalize_id_number
from bloodcert.domain.keyed import identity_hash_of, name_hash_of, token_hash
from bloodcert.errors import NotFound
from bloodcert.identity.providers.base import (
    ClaimedIdentity,
    IdentityProvider,
    ProviderError,
    VerifiedIdentity,
)
from bloodcert.services import sessions
from bloodcert.services.sessions import DONOR, DonorOwner, LoginContext, LoginOutcome
from bloodcert.storage.rows import OAuthStateRow
from bloodcert.storage.uow import Database, UnitOfWork

STATE_TTL = timedelta(minutes=10)
AFTER_LOGIN = "/me"


class ProviderUnavailable(Exception):
    """The platform could not start a login now."""


@dataclass(frozen=True, slots=True)
class Started:
    """Where to send the browser, and the secret its binding cookie holds until the callback."""

    url: str
    browser_secret: str
    max_age: int


@dataclass(frozen=True, slots=True)
class Callback:
    """What the platform sent back to the callback, and the binding cookie the browser brought."""

    code: str | None
    state: str | None
    error: str | None
    browser_secret: str | None


@dataclass(frozen=True, slots=True)
class Finished:
    """The login outcome, and where the browser goes next."""

    outcome: LoginOutcome
    redirect_to: str


def start(db: Database, provider: IdentityProvider, *, callback_url: str, now: datetime) -> Started:
    """Ask the platform for its authorisation URL and remember the state, bound to this browser."""
    try:
        auth = provider.authorization(callback_url)
    except ProviderError as exc:
        raise ProviderUnavailable(str(exc)) from exc
    secret = secrets.token_urlsafe(32)
    row = OAuthStateRow(
        token_hash(auth.state),
        provider.name,
        auth.code_verifier,
        AFTER_LOGIN,
        token_hash(secret),
        naive_utc(now + STATE_TTL),
    )
    with db.transaction() as uow:
        uow.identity.add_state(row)
    return Started(auth.url, secret, int(STATE_TTL.total_seconds()))


def finish(
    db: Database, provider: IdentityProvider, ctx: LoginContext, back: Callback, *, callback_url: str
) -> Finished:
    """Check the state and its browser, exchange the code with the platform, open a session: all audited."""
    obj = provider.name
    with db.transaction() as uow:
        pending = _take_state(uow, provider.name, back, ctx.now)
        if pending is None or back.error or not back.code:
            reason = "bad_state" if pending is None else "denied"
            return Finished(_refuse(uow, ctx, reason, obj), "/")
    try:
        identity = provider.identity(
            back.code, redirect_uri=callback_url, code_verifier=pending.code_verifier
        )
    except ProviderError:
        with db.transaction() as uow:
            return Finished(_refuse(uow, ctx, "provider_error", obj), "/")
    with db.transaction() as uow:
        outcome = sign_in(uow, ctx, identity)
    return Finished(outcome, pending.redirect_to if outcome.grant else "/")


def mini_program(
    db: Database,
    provider: IdentityProvider,
    ctx: LoginContext,
    *,
    js_code: str,
    claimed: ClaimedIdentity | None,
    consent_code: str | None,
) -> LoginOutcome:
    """The WeChat mini-program login: wx.login's code checked with WeChat, then a session (audited)."""
    if not getattr(provider, "has_mini_program", False):
        raise NotFound("no WeChat mini-program is configured")
    method = f"{provider.name}_mini"  # the session and audit name of a mini-program login
    exchange: Any = provider
    try:
        identity = exchange.mini_program_identity(js_code, claimed=claimed, consent_code=consent_code)
    except ProviderError:
        with db.transaction() as uow:
            return _refuse(uow, ctx, "provider_error", method)
    with db.transaction() as uow:
        return sign_in(uow, ctx, identity, method=method)


def sign_in(
    uow: UnitOfWork, ctx: LoginContext, identity: VerifiedIdentity, *, method: str | None = None
) -> LoginOutcome:
    """Link the platform account and open a session; refused (no_record) when no person matches."""
    hashes = _verified_hashes(identity, ctx.index_key)
    if hashes is not None:
        uow.identity.link_provider_account(
            provider=identity.provider,
            subject=identity.subject,
            identity_hash=hashes[0],
            name_hash=hashes[1],
            now=naive_utc(ctx.now),
        )
    else:
        account = uow.identity.provider_account(identity.provider, identity.subject)
        if account is not None and account.identity_hash is not None and account.name_hash is not None:
            hashes = (account.identity_hash, account.name_hash)
    if hashes is None or not uow.identity.has_persons(*hashes):
        return _refuse(uow, ctx, "no_record", method or identity.provider)
    owner = DonorOwner(hashes[0], hashes[1], None, method or identity.provider)
    return sessions.grant(uow, ctx, DONOR, owner)


def _refuse(uow: UnitOfWork, ctx: LoginContext, reason: str, obj: str) -> LoginOutcome:
    return sessions.refuse(uow, ctx, DONOR, reason, actor=sessions.ANONYMOUS_DONOR, obj=obj)


def _take_state(uow: UnitOfWork, provider: str, back: Callback, now: datetime) -> OAuthStateRow | None:
    """Use up the state; None when unknown, expired, for another provider or from another browser."""
    row = uow.identity.take_state(token_hash((back.state or "")[:200]))
    if row is None or row.provider != provider or row.expires_at <= naive_utc(now):
        return None
    given = token_hash((back.browser_secret or "")[:128])
    if row.browser_hash is None or not hmac.compare_digest(given, row.browser_hash):
        return None
    return row


def _verified_hashes(identity: VerifiedIdentity, index_key: bytes) -> tuple[bytes, bytes] | None:
    if not (identity.id_type and identity.id_number and identity.name):
        return None
    try:
        id_type = IdType(identity.id_type)
    except ValueError:
        return None
    number = normalize_id_number(identity.id_number)
    return identity_hash_of(index_key, id_type, number), name_hash_of(index_key, identity.name)
