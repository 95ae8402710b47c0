"""The inbox, donors' preferences and the queue of deliveries through providers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bloodcert.storage.rows import PastDonation
from bloodcert.storage.tables import (
    appointments,
    donations,
    notification_deliveries,
    notification_preferences,
    notifications,
    persons,
    sites,
    slots,
)
from bloodcert.storage.tables import provider_accounts as accounts
from bloodcert.storage.writes import NewDelivery, NewNotification, column_values


@dataclass(frozen=True, slots=True)
class PreferenceRow:
    """A donor's stored choices ({topic: [channel, …]}), SMS number and home region."""

    person_id: int
    choices: dict[str, Any]
    phone: str | None
    home_region: str | None


@dataclass(frozen=True, slots=True)
class NotificationRow:
    """An inbox entry."""

    id: int
    person_id: int
    topic: str
    event: str
    params: dict[str, str]
    link: str | None
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A queued delivery with what its message needs."""

    id: int
    notification_id: int
    person_id: int
    channel: str
    status: str
    attempts: int
    topic: str
    event: str
    params: dict[str, str]
    link: str | None


@dataclass(frozen=True, slots=True)
class BookedRow:
    """A booking still on, for its reminder."""

    id: int
    person_id: int
    site_name: str
    day: date
    starts_at: str
    kind: str


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """How far one message got through one channel."""

    channel: str
    status: str
    attempts: int
    last_error: str | None


class NotificationRepository:
    """Queries over `notifications`, `notification_deliveries` and `notification_preferences`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ---- preferences

    def preferences(self, person_ids: Iterable[int]) -> dict[int, PreferenceRow]:
        """The stored preferences of these persons (those who never chose are missing)."""
        c = notification_preferences.c
        ids = list(set(person_ids))
        if not ids:
            return {}
        rows = self.conn.execute(
            select(c.person_id, c.choices, c.phone, c.home_region).where(c.person_id.in_(ids))
        )
        return {r[0]: PreferenceRow(r[0], json.loads(r[1]), r[2], r[3]) for r in rows}

    def save_preferences(self, row: PreferenceRow, now: datetime) -> None:
        """Insert or replace one person's preferences."""
        c = notification_preferences.c
        values = {
            "choices": json.dumps(row.choices, sort_keys=True),
            "phone": row.phone,
            "home_region": row.home_region,
            "updated_at": now,
        }
        done = self.conn.execute(
            update(notification_preferences).where(c.person_id == row.person_id).values(**values)
        ).rowcount
        if not done:
            self.conn.execute(insert(notification_preferences).values(person_id=row.person_id, **values))

    def set_wechat_openid(self, person_id: int, openid: str, now: datetime) -> None:
        """Keep the openid subscription messages go to (the preferences row exists by then)."""
        c = notification_preferences.c
        self.conn.execute(
            update(notification_preferences)
            .where(c.person_id == person_id)
            .values(wechat_openid=openid, updated_at=now)
        )

    def wechat_openid(self, person_id: int) -> str | None:
        """The openid the donor registered from the mini-program, if any."""
        c = notification_preferences.c
        found = self.conn.execute(select(c.wechat_openid).where(c.person_id == person_id)).scalar()
        return str(found) if found else None

    def linked_subjects(self, person_id: int, provider: str) -> list[str]:
        """The platform accounts (openid / user id) linked to this person's verified ID, newest first."""
        p = persons.c
        rows = self.conn.execute(
            select(accounts.c.subject)
            .join(
                persons,
                and_(p.identity_hash == accounts.c.identity_hash, p.name_hash == accounts.c.name_hash),
            )
            .where(p.id == person_id, accounts.c.provider == provider)
            .order_by(accounts.c.verified_at.desc())
        )
        return [r[0] for r in rows]

    # ---- the inbox

    def add_new(self, rows: Sequence[NewNotification]) -> dict[tuple[int, str], int]:
        """Insert the notifications whose (person, key) is not taken yet; returns the new ones' ids."""
        if not rows:
            return {}
        c = notifications.c
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        # ON CONFLICT DO NOTHING: the same event raised by two workers at once is still one message.
        stmt = (
            dialect.insert(notifications)
            .on_conflict_do_nothing(index_elements=["person_id", "dedup_key"])
            .returning(c.person_id, c.dedup_key, c.id)
        )
        # One multi-row statement (SQLAlchemy's insertmanyvalues): a station's batch of a thousand records
        # adds its messages in a few round trips. Rows come back keyed, so their order does not matter.
        got = self.conn.execute(stmt, [column_values(r) for r in rows]).all()
        return {(int(r[0]), str(r[1])): int(r[2]) for r in got}

    def inbox(self, person_ids: Sequence[int], limit: int) -> list[NotificationRow]:
        """The persons' notifications, newest first."""
        c = notifications.c
        rows = self.conn.execute(
            select(c.id, c.person_id, c.topic, c.event, c.params, c.link, c.created_at, c.read_at)
            .where(c.person_id.in_(person_ids))
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit)
        )
        return [NotificationRow(*r) for r in rows]

    def unread(self, person_ids: Sequence[int]) -> int:
        """How many of the persons' notifications are unread."""
        c = notifications.c
        query = select(func.count()).where(c.person_id.in_(person_ids), c.read_at.is_(None))
        return int(self.conn.execute(query).scalar_one())

    def mark_read(self, person_ids: Sequence[int], notification_id: int | None, now: datetime) -> int:
        """Mark one notification (or, with None, all) of these persons read; returns how many changed."""
        c = notifications.c
        where: list[ColumnElement[bool]] = [c.person_id.in_(person_ids), c.read_at.is_(None)]
        if notification_id is not None:
            where.append(c.id == notification_id)
        return int(self.conn.execute(update(notifications).where(*where).values(read_at=now)).rowcount)

    def statuses(self, notification_ids: Sequence[int]) -> dict[int, list[DeliveryStatus]]:
        """The delivery status of each notification, per channel."""
        if not notification_ids:
            return {}
        d = notification_deliveries.c
        rows = self.conn.execute(
            select(d.notification_id, d.channel, d.status, d.attempts, d.last_error)
            .where(d.notification_id.in_(notification_ids))
            .order_by(d.id)
        )
        found: dict[int, list[DeliveryStatus]] = {}
        for r in rows:
            found.setdefault(int(r[0]), []).append(DeliveryStatus(r[1], r[2], r[3], r[4]))
        return found

    # ---- deliveries

    def queue(self, rows: Sequence[NewDelivery]) -> None:
        """Queue deliveries."""
        if rows:
            self.conn.execute(insert(notification_deliveries), [column_values(r) for r in rows])

    def due(self, now: datetime, limit: int) -> list[DeliveryRow]:
        """Queued deliveries whose time has come, oldest first."""
        d, n = notification_deliveries.c, notifications.c
        query = (
            select(d.id, d.notification_id, d.person_id, d.channel, d.status, d.attempts)
            .add_columns(n.topic, n.event, n.params, n.link)
            .join(notifications, n.id == d.notification_id)
            .where(d.status == "queued", d.next_attempt_at <= now)
            .order_by(d.next_attempt_at, d.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            # Two senders never take the same delivery: each skips the rows the other holds.
            query = query.with_for_update(of=notification_deliveries, skip_locked=True)
        return [DeliveryRow(*r) for r in self.conn.execute(query)]

    def sent_since(self, person_ids: Iterable[int], since: datetime) -> dict[int, int]:
        """How many capped messages went to each person since a moment (security ones are not counted)."""
        ids = list(set(person_ids))
        if not ids:
            return {}
        d, n = notification_deliveries.c, notifications.c
        rows = self.conn.execute(
            select(d.person_id, func.count())
            .join(notifications, n.id == d.notification_id)
            .where(
                d.person_id.in_(ids),
                d.status.in_(("sent", "sending")),
                d.sent_at >= since,
                n.topic != "security",
            )
            .group_by(d.person_id)
        )
        return {int(r[0]): int(r[1]) for r in rows}

    def attempts_of(self, delivery_ids: Sequence[int]) -> dict[int, int]:
        """How many times each delivery has been tried."""
        if not delivery_ids:
            return {}
        d = notification_deliveries.c
        rows = self.conn.execute(select(d.id, d.attempts).where(d.id.in_(delivery_ids)))
        return {int(r[0]): int(r[1]) for r in rows}

    def postpone(self, delivery_id: int, until: datetime, now: datetime) -> None:
        """Keep a delivery queued until a later moment (quiet hours, the cap, a retry)."""
        self._set(delivery_id, now, status="queued", next_attempt_at=until)

    def start(self, delivery_id: int, now: datetime) -> None:
        """Take a delivery for sending: it counts against the cap from now on."""
        self._set(
            delivery_id, now, status="sending", sent_at=now, attempts=notification_deliveries.c.attempts + 1
        )

    def finish(self, delivery_id: int, status: str, now: datetime, **values: Any) -> None:
        """Record how a delivery ended (sent, failed, dropped), or requeue it for a retry."""
        self._set(delivery_id, now, status=status, **values)

    def _set(self, delivery_id: int, now: datetime, **values: Any) -> None:
        d = notification_deliveries.c
        self.conn.execute(
            update(notification_deliveries).where(d.id == delivery_id).values(updated_at=now, **values)
        )

    def give_up_stale(self, before: datetime, now: datetime) -> int:
        """Mark failed the deliveries taken for sending before `before` and never answered."""
        d = notification_deliveries.c
        return int(
            self.conn.execute(
                update(notification_deliveries)
                .where(d.status == "sending", d.updated_at < before)
                .values(status="failed", last_error="no_answer", updated_at=now)
            ).rowcount
        )

    def drop_queued(self, person_id: int, channels: Iterable[str], topic: str, now: datetime) -> int:
        """Drop a person's queued deliveries of a topic through channels the donor left."""
        d, n = notification_deliveries.c, notifications.c
        ids = select(n.id).where(n.person_id == person_id, n.topic == topic).scalar_subquery()
        return int(
            self.conn.execute(
                update(notification_deliveries)
                .where(
                    d.person_id == person_id,
                    d.status == "queued",
                    d.channel.in_(list(channels)),
                    d.notification_id.in_(ids),
                )
                .values(status="dropped", last_error="opted_out", updated_at=now)
            ).rowcount
        )

    # ---- what the daily sweeps look at

    def donations_since(self, since: date) -> dict[int, list[PastDonation]]:
        """The valid donations since a day, by person (the eligibility sweep needs no older ones)."""
        d = donations.c
        rows = self.conn.execute(
            select(d.person_id, d.id, d.kind, d.donated_on).where(d.donated_on >= since, d.status == "valid")
        )
        found: dict[int, list[PastDonation]] = {}
        for pid, did, kind, day in rows:
            found.setdefault(int(pid), []).append(PastDonation(int(did), str(kind), day))
        return found

    def bookings_on(self, day: date) -> list[BookedRow]:
        """Every booking still on for a day, with its site and time."""
        a, s, st = appointments.c, slots.c, sites.c
        rows = self.conn.execute(
            select(a.id, a.person_id, st.name, s.day, s.starts_at, a.kind)
            .join(slots, s.id == a.slot_id)
            .join(sites, st.id == s.site_id)
            .where(s.day == day, a.status == "booked")
            .order_by(a.id)
        )
        return [BookedRow(*r) for r in rows]
