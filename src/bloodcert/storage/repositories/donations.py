"""Donations and every version of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from bloodcert.storage.bulk import insert_rows, insert_rows_returning_ids, station_pairs
from bloodcert.storage.driver import result_processor
from bloodcert.storage.engine import side_engine
from bloodcert.storage.rows import DonationRow, PastDonation
from bloodcert.storage.tables import counters, donation_versions, donations
from bloodcert.storage.writes import DonationState, NewDonationVersion

# Columns a correction may change: all but the donation's key; `b_` names keep bind parameters apart
# from column names.
UPDATABLE = tuple(f for f in DonationState.__struct_fields__ if f not in ("station_id", "donation_no"))
_UPDATE = (
    update(donations)
    .where(donations.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in UPDATABLE})
)


class DonationRepository:
    """Queries over `donations`, `donation_versions` and `counters`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def current_by_keys(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], DonationRow]:
        """Current state of donations by (station id, donation number), with their current content hash."""
        day = result_processor(donations.c.donated_on, self.conn.dialect) or (lambda value: value)
        rows = station_pairs(
            self.conn,
            keys,
            "SELECT d.id, d.station_id, d.donation_no, d.version, d.status, d.person_id, d.donor_id, d.kind, "
            "d.donated_on, d.certificate_no, v.content_hash FROM {pairs} "
            "JOIN donations d ON d.station_id = k.station_id AND d.donation_no = k.key "
            "JOIN donation_versions v ON v.donation_id = d.id AND v.version = d.version",
            "text",
        )
        return {
            (int(r[1]), str(r[2])): DonationRow(
                int(r[0]),
                int(r[1]),
                r[2],
                int(r[3]),
                r[4],
                int(r[5]),
                r[6],
                r[7],
                day(r[8]),
                r[9],
                bytes(r[10]),
            )
            for r in rows
        }

    def lock_by_keys(self, keys: Iterable[tuple[int, str]]) -> None:
        """On PostgreSQL, hold the rows of these donations that exist, in id order, until the transaction
        ends: a correction planned against a donation's current version must not race another one (SQLite's
        writer already has the whole database)."""
        if self.conn.dialect.name != "postgresql":
            return
        ids = sorted(
            int(r[0])
            for r in station_pairs(
                self.conn,
                keys,
                "SELECT d.id FROM {pairs} "
                "JOIN donations d ON d.station_id = k.station_id AND d.donation_no = k.key",
                "text",
            )
        )
        if ids:
            self.conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT id FROM donations WHERE id = ANY(%s) ORDER BY id "
                "FOR NO KEY UPDATE) AS locked",
                (ids,),
            )

    def valid_of_persons(self, person_ids: Iterable[int]) -> dict[int, list[PastDonation]]:
        """Valid donations of each person, for the interval rules."""
        ids = list(set(person_ids))
        found: dict[int, list[PastDonation]] = {}
        if ids:
            rows = self.conn.execute(
                select(donations.c.person_id, donations.c.id, donations.c.kind, donations.c.donated_on).where(
                    donations.c.person_id.in_(ids), donations.c.status == "valid"
                )
            )
            for pid, did, kind, day in rows:
                found.setdefault(int(pid), []).append(PastDonation(int(did), str(kind), day))
        return found

    def insert_many(self, rows: Sequence[DonationState]) -> list[int]:
        """Insert donations; returns their ids in the order given."""
        return insert_rows_returning_ids(self.conn, donations, rows)

    def update_many(self, changes: Sequence[tuple[int, DonationState]]) -> None:
        """Replace donations' current state, by id (the earlier versions stay in donation_versions)."""
        if changes:
            self.conn.execute(
                _UPDATE,
                [{"b_id": i, **{f"b_{k}": getattr(state, k) for k in UPDATABLE}} for i, state in changes],
            )

    def add_versions(self, rows: Sequence[NewDonationVersion]) -> None:
        """Keep versions exactly as stations sent them."""
        insert_rows(self.conn, donation_versions, rows)

    def versions_of(self, donation_id: int) -> list[tuple[int, dict[str, Any]]]:
        """Every version of a donation, oldest first."""
        rows = self.conn.execute(
            select(donation_versions.c.version, donation_versions.c.record)
            .where(donation_versions.c.donation_id == donation_id)
            .order_by(donation_versions.c.version)
        )
        return [(int(v), dict(r)) for v, r in rows]

    def allocate_serials(self, name: str, count: int) -> int:
        """Reserve `count` consecutive numbers from a counter; returns the first. Safe across workers.

        On PostgreSQL the block is taken in a short transaction of its own (on the engine's side pool, see
        storage/engine.py), committed at once, so that the counter's row is never held while a batch writes
        (parallel writers would queue behind it); a batch that then fails leaves its block unused. Numbers
        are never reused either way. SQLite has one writer at a time, so the counter moves with the batch.
        """
        stmt = (
            update(counters)
            .where(counters.c.name == name)
            .values(next_value=counters.c.next_value + count)
            .returning(counters.c.next_value - count)
        )
        if self.conn.dialect.name != "postgresql":
            return int(self.conn.execute(stmt).scalar_one())
        with side_engine(self.conn.engine).begin() as own:
            return int(own.execute(stmt).scalar_one())
