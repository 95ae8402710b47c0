"""Donor sessions, login failures, captchas, real-name provider accounts and OAuth states."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, delete, exists, func, insert, select, update

from bloodcert.storage.rows import (
    NewCaptcha,
    NewDonorSession,
    OAuthStateRow,
    ProviderAccountRow,
    SessionRow,
)
from bloodcert.storage.tables import (
    captchas,
    donations,
    donor_sessions,
    login_failures,
    oauth_states,
    persons,
    provider_accounts,
)

if TYPE_CHECKING:
    from bloodcert.storage.changes import ChangedKeys


class IdentityRepository:
    """Queries over the donor login tables."""

    def __init__(self, conn: Connection, *, changed: ChangedKeys | None = None) -> None:
        self.conn = conn
        self.changed = changed  # sessions ended, for a read replica (storage/replica.py)

    # Sessions

    def add_session(self, row: NewDonorSession) -> int:
        """Store a session (by the hash of its token); returns its id."""
        result = self.conn.execute(insert(donor_sessions).values(**asdict(row)))
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
                donor_sessions.c.person_id,
            ).where(donor_sessions.c.token_hash == token_hash)
        ).first()
        return SessionRow(int(row[0]), bytes(row[1]), bytes(row[2]), *row[3:]) if row else None

    # Who a login reaches

    def person_with_donation_no(self, identity_hash: bytes, name_hash: bytes, donation_no: str) -> int | None:
        """The person with this ID + name (any ABO) who has a valid donation with this number (献血编号).

        One query whatever matches, so that a wrong name takes as long as a wrong donation number.
        """
        row = self.conn.execute(
            select(persons.c.id)
            .join(donations, donations.c.person_id == persons.c.id)
            .where(
                persons.c.identity_hash == identity_hash,
                persons.c.name_hash == name_hash,
                donations.c.donation_no == donation_no,
                donations.c.status == "valid",
            )
            .order_by(persons.c.id)
            .limit(1)
        ).first()
        return int(row[0]) if row else None

    def has_persons(self, identity_hash: bytes, name_hash: bytes) -> bool:
        """True when some person carries this ID + name."""
        query = select(
            exists().where(persons.c.identity_hash == identity_hash, persons.c.name_hash == name_hash)
        )
        return bool(self.conn.execute(query).scalar())

    def touch_session(self, session_id: int, now: datetime) -> None:
        """Move a session's idle deadline."""
        self.touch_sessions({session_id: now})

    def touch_sessions(self, seen: dict[int, datetime]) -> None:
        """Move each session's idle deadline to when it was last seen, in one statement; never backwards."""
        if not seen:
            return
        self.conn.execute(
            update(donor_sessions)
            .where(donor_sessions.c.id == bindparam("sid"), donor_sessions.c.last_seen_at < bindparam("seen"))
            .values(last_seen_at=bindparam("seen")),
            [{"sid": sid, "seen": at} for sid, at in seen.items()],
        )

    def end_session(self, session_id: int, now: datetime) -> None:
        """End a session on the server (logout)."""
        if self.changed is not None:
            self.changed.session(session_id)
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

    def add_captcha(self, row: NewCaptcha) -> None:
        """Store a captcha's answer (hashed) until it expires."""
        self.conn.execute(insert(captchas).values(**asdict(row)))

    def keep_newest_captchas(self, client_hash: bytes, keep: int) -> None:
        """Drop all but the `keep` newest captchas of a client (a newer one replaces the oldest)."""
        newest = (
            select(captchas.c.captcha_id)
            .where(captchas.c.client_hash == client_hash)
            .order_by(captchas.c.expires_at.desc(), captchas.c.captcha_id)
            .limit(keep)
        )
        self.conn.execute(
            delete(captchas).where(
                captchas.c.client_hash == client_hash, captchas.c.captcha_id.not_in(newest.scalar_subquery())
            )
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

    def add_state(self, row: OAuthStateRow) -> None:
        """Remember an OAuth `state` (hashed) with its PKCE verifier and the browser that started it."""
        self.conn.execute(insert(oauth_states).values(**asdict(row)))

    def take_state(self, state_hash: bytes) -> OAuthStateRow | None:
        """Use up an OAuth state; None when unknown."""
        c = oauth_states.c
        row = self.conn.execute(
            select(
                c.state_hash, c.provider, c.code_verifier, c.redirect_to, c.browser_hash, c.expires_at
            ).where(c.state_hash == state_hash)
        ).first()
        if row is None:
            return None
        self.conn.execute(delete(oauth_states).where(c.state_hash == state_hash))
        browser = bytes(row[4]) if row[4] is not None else None
        return OAuthStateRow(bytes(row[0]), row[1], row[2], row[3], browser, row[5])

    def provider_account(self, provider: str, subject: str) -> ProviderAccountRow | None:
        """A linked platform account."""
        c = provider_accounts.c
        row = self.conn.execute(
            select(c.provider, c.subject, c.identity_hash, c.name_hash, c.created_at, c.verified_at).where(
                c.provider == provider, c.subject == subject
            )
        ).first()
        if row is None:
            return None
        identity = bytes(row[2]) if row[2] is not None else None
        name = bytes(row[3]) if row[3] is not None else None
        return ProviderAccountRow(row[0], row[1], identity, name, row[4], row[5])

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
