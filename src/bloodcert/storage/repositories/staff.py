"""Console staff: accounts, sessions and failed logins by client."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from bloodcert.storage.rows import NewStaffSession, NewStaffUser, StaffSessionRow, StaffUserRow
from bloodcert.storage.tables import staff_login_failures, staff_sessions, staff_users, stations

_USER_COLUMNS = (
    staff_users.c.id,
    staff_users.c.username,
    staff_users.c.role,
    staff_users.c.station_id,
    stations.c.code,
    staff_users.c.password_hash,
    staff_users.c.totp_secret,
    staff_users.c.last_totp_step,
    staff_users.c.failed_count,
    staff_users.c.last_failure_at,
    staff_users.c.locked_until,
    staff_users.c.created_at,
    staff_users.c.disabled_at,
    staff_users.c.province,
)


def _user(row: Any) -> StaffUserRow:
    return StaffUserRow(*row)


class StaffRepository:
    """Queries over `staff_users`, `staff_sessions` and `staff_login_failures`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _select_users(self) -> Any:
        return select(*_USER_COLUMNS).select_from(
            staff_users.outerjoin(stations, stations.c.id == staff_users.c.station_id)
        )

    # Accounts

    def add_user(self, row: NewStaffUser) -> int:
        """Store a new account; returns its id."""
        result = self.conn.execute(insert(staff_users).values(failed_count=0, **asdict(row)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def user_by_username(self, username: str) -> StaffUserRow | None:
        """The account with this (lower-case) username, disabled or not."""
        row = self.conn.execute(self._select_users().where(staff_users.c.username == username)).first()
        return _user(row) if row else None

    def user_by_id(self, user_id: int) -> StaffUserRow | None:
        """The account with this id, disabled or not."""
        row = self.conn.execute(self._select_users().where(staff_users.c.id == user_id)).first()
        return _user(row) if row else None

    def all_users(self) -> list[StaffUserRow]:
        """Every account, by username."""
        rows = self.conn.execute(self._select_users().order_by(staff_users.c.username))
        return [_user(r) for r in rows]

    def count_users(self) -> int:
        """How many accounts exist (disabled ones too)."""
        return int(self.conn.execute(select(func.count()).select_from(staff_users)).scalar_one())

    def record_failure(
        self, user_id: int, *, failed_count: int, at: datetime, locked_until: datetime | None
    ) -> None:
        """Store the account's failure counter after a failed login (and the lock, when it starts one)."""
        values: dict[str, Any] = {"failed_count": failed_count, "last_failure_at": at}
        if locked_until is not None:
            values["locked_until"] = locked_until
        self.conn.execute(update(staff_users).where(staff_users.c.id == user_id).values(**values))

    def record_success(self, user_id: int, *, totp_step: int) -> bool:
        """Clear the failure counter and remember the TOTP step just used; False if a later one was used.

        The condition is in the UPDATE itself, so that two logins racing with the same code cannot both
        succeed: the second waits for the first's row lock and then matches nothing.
        """
        result = self.conn.execute(
            update(staff_users)
            .where(
                staff_users.c.id == user_id,
                or_(staff_users.c.last_totp_step.is_(None), staff_users.c.last_totp_step < totp_step),
            )
            .values(failed_count=0, last_failure_at=None, locked_until=None, last_totp_step=totp_step)
        )
        return result.rowcount == 1

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Replace the stored hash (a rehash with the current parameters)."""
        self.conn.execute(
            update(staff_users).where(staff_users.c.id == user_id).values(password_hash=password_hash)
        )

    def disable_user(self, user_id: int, now: datetime) -> bool:
        """Disable an account; False when it was already disabled."""
        result = self.conn.execute(
            update(staff_users)
            .where(staff_users.c.id == user_id, staff_users.c.disabled_at.is_(None))
            .values(disabled_at=now)
        )
        return result.rowcount == 1

    # Sessions

    def add_session(self, row: NewStaffSession) -> int:
        """Store a session (by the hash of its token); returns its id."""
        result = self.conn.execute(insert(staff_sessions).values(**asdict(row)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def session_by_token_hash(self, token_hash: bytes) -> StaffSessionRow | None:
        """A session by the hash of its token, whatever its state."""
        row = self.conn.execute(
            select(
                staff_sessions.c.id,
                staff_sessions.c.user_id,
                staff_sessions.c.last_seen_at,
                staff_sessions.c.expires_at,
                staff_sessions.c.ended_at,
            ).where(staff_sessions.c.token_hash == token_hash)
        ).first()
        return StaffSessionRow(*row) if row else None

    def touch_session(self, session_id: int, now: datetime) -> None:
        """Move a session's idle deadline."""
        self.conn.execute(
            update(staff_sessions).where(staff_sessions.c.id == session_id).values(last_seen_at=now)
        )

    def end_session(self, session_id: int, now: datetime) -> None:
        """End one session (logout)."""
        self.conn.execute(
            update(staff_sessions)
            .where(staff_sessions.c.id == session_id, staff_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )

    def end_sessions_of_user(self, user_id: int, now: datetime) -> None:
        """End every open session of an account (when it is disabled)."""
        self.conn.execute(
            update(staff_sessions)
            .where(staff_sessions.c.user_id == user_id, staff_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )

    # Failed logins by client

    def add_client_failure(self, client_hash: bytes, now: datetime) -> None:
        """Count one failed login against a client."""
        self.conn.execute(insert(staff_login_failures).values(client_hash=client_hash, at=now))

    def client_failures_since(self, client_hash: bytes, since: datetime) -> int:
        """How many failed logins a client made since `since`."""
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(staff_login_failures)
                .where(staff_login_failures.c.client_hash == client_hash, staff_login_failures.c.at >= since)
            ).scalar_one()
        )

    def purge_client_failures(self, before: datetime) -> None:
        """Forget failures older than any window that reads them."""
        self.conn.execute(delete(staff_login_failures).where(staff_login_failures.c.at < before))
