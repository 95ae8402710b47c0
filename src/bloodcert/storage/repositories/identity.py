"""Donor sessions, login failures, captchas, real-name provider accounts and OAuth states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from bloodcert.storage.rows import SessionRow
from bloodcert.storage.tables import captchas, donor_sessions, login_failures, oauth_states, provider_accounts


class IdentityRepository:
    """Queries over the donor login tables."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # Sessions

    def add_session(self, row: dict[str, Any]) -> int:
        """Store a session (by the hash of its token); returns its id."""
        result = self.conn.execute(insert(donor_sessions).values(**row))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def session_by_token_hash(self, token_hash: bytes) -> SessionRow | None:
        """A session by the hash of its token, whatever its state."""
        row = self.conn.execute(
            select(
                donor_sessions.c.id,
                donor_sessions.c.identity_hash,
                donor_sessions.c.name_hash,
                donor_sessions.c.method,
                donor_sessions.c.last_seen_at,
                donor_sessions.c.expires_at,
                donor_sessions.c.ended_at,
            ).where(donor_sessions.c.token_hash == token_hash)
        ).first()
        return SessionRow(int(row[0]), bytes(row[1]), bytes(row[2]), *row[3:]) if row else None

    def touch_session(self, session_id: int, now: datetime) -> None:
        """Move a session's idle deadline."""
        self.conn.execute(
            update(donor_sessions).where(donor_sessions.c.id == session_id).values(last_seen_at=now)
        )

    def end_session(self, session_id: int, now: datetime) -> None:
        """End a session on the server (logout)."""
        self.conn.execute(
            update(donor_sessions)
            .where(donor_sessions.c.id == session_id, donor_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )

    # Failed logins

    def add_failures(self, subject_hashes: list[bytes], now: datetime) -> None:
        """Count a failed login against each subject (a client, an ID number)."""
        self.conn.execute(insert(login_failures), [{"subject_hash": h, "at": now} for h in subject_hashes])

    def failures_since(self, subject_hash: bytes, since: datetime) -> int:
        """Failed logins of a subject since a time."""
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(login_failures)
                .where(login_failures.c.subject_hash == subject_hash, login_failures.c.at >= since)
            ).scalar_one()
        )

    def clear_failures(self, subject_hashes: list[bytes]) -> None:
        """Forget the failures of subjects after a successful login."""
        self.conn.execute(delete(login_failures).where(login_failures.c.subject_hash.in_(subject_hashes)))

    # Captchas

    def add_captcha(self, captcha_id: str, answer_hash: bytes, expires_at: datetime) -> None:
        """Store a captcha's answer (hashed) until it expires."""
        self.conn.execute(
            insert(captchas).values(captcha_id=captcha_id, answer_hash=answer_hash, expires_at=expires_at)
        )

    def take_captcha(self, captcha_id: str) -> tuple[bytes, datetime] | None:
        """Remove a captcha and return (answer hash, expiry): any attempt uses it up."""
        row = self.conn.execute(
            select(captchas.c.answer_hash, captchas.c.expires_at).where(captchas.c.captcha_id == captcha_id)
        ).first()
        if row is None:
            return None
        self.conn.execute(delete(captchas).where(captchas.c.captcha_id == captcha_id))
        return bytes(row[0]), row[1]

    def purge_expired(self, now: datetime, failures_before: datetime) -> None:
        """Drop expired captchas and OAuth states and failures too old to count."""
        self.conn.execute(delete(captchas).where(captchas.c.expires_at < now))
        self.conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < now))
        self.conn.execute(delete(login_failures).where(login_failures.c.at < failures_before))

    # Real-name providers

    def add_state(self, row: dict[str, Any]) -> None:
        """Remember an OAuth `state` (hashed) with its PKCE verifier."""
        self.conn.execute(insert(oauth_states).values(**row))

    def take_state(self, state_hash: bytes) -> dict[str, Any] | None:
        """Use up an OAuth state; None when unknown."""
        row = self.conn.execute(select(oauth_states).where(oauth_states.c.state_hash == state_hash)).first()
        if row is None:
            return None
        self.conn.execute(delete(oauth_states).where(oauth_states.c.state_hash == state_hash))
        return dict(row._mapping)

    def provider_account(self, provider: str, subject: str) -> dict[str, Any] | None:
        """A linked platform account."""
        row = self.conn.execute(
            select(provider_accounts).where(
                provider_accounts.c.provider == provider, provider_accounts.c.subject == subject
            )
        ).first()
        return dict(row._mapping) if row else None

    def link_provider_account(
        self, *, provider: str, subject: str, identity_hash: bytes, name_hash: bytes, now: datetime
    ) -> None:
        """Create or update the link of a platform account to a verified ID + name."""
        if self.provider_account(provider, subject) is None:
            self.conn.execute(
                insert(provider_accounts).values(
                    provider=provider,
                    subject=subject,
                    identity_hash=identity_hash,
                    name_hash=name_hash,
                    created_at=now,
                    verified_at=now,
                )
            )
            return
        self.conn.execute(
            update(provider_accounts)
            .where(provider_accounts.c.provider == provider, provider_accounts.c.subject == subject)
            .values(identity_hash=identity_hash, name_hash=name_hash, verified_at=now)
        )
