"""Merged persons (the national view) and the donors each station reported."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, case, func, select, update

from bloodcert.storage.bulk import insert_rows_returning_ids, station_pairs
from bloodcert.storage.rows import IdentitySample, PersonRow
from bloodcert.storage.tables import donations, donors, persons
from bloodcert.storage.writes import NewDonor, NewPerson

if TYPE_CHECKING:
    from bloodcert.storage.changes import ChangedKeys

PERSON_COLUMNS = (
    persons.c.id,
    persons.c.id_type,
    persons.c.id_number,
    persons.c.name,
    persons.c.sex,
    persons.c.birth_date,
    persons.c.abo,
    persons.c.rhd,
    persons.c.donation_count,
    persons.c.whole_blood_ml,
    persons.c.platelet_units,
    persons.c.plasma_ml,
    persons.c.first_at,
    persons.c.last_at,
)

_TOTALS = (
    update(persons)
    .where(persons.c.id == bindparam("p_id"))
    .values(
        donation_count=bindparam("n"),
        whole_blood_ml=bindparam("wb"),
        platelet_units=bindparam("pu"),
        plasma_ml=bindparam("pl"),
        first_at=bindparam("first"),
        last_at=bindparam("last"),
        updated_at=bindparam("now"),
    )
)
_TOUCH_DONOR = (
    update(donors).where(donors.c.id == bindparam("d_id")).values(last_reported_at=bindparam("now"))
)


class PersonRepository:
    """Queries over `persons` and `donors`."""

    def __init__(self, conn: Connection, *, changed: ChangedKeys | None = None) -> None:
        self.conn = conn
        self.changed = changed

    def get(self, person_id: int) -> PersonRow | None:
        """A merged person by id."""
        row = self.conn.execute(select(*PERSON_COLUMNS).where(persons.c.id == person_id)).first()
        return PersonRow(**row._mapping) if row else None

    def newest_identity(self) -> IdentitySample | None:
        """The newest merged person's name and ID number (decrypted: DataKeyError with the wrong data key)
        and their blind indexes; None while there is nobody."""
        row = self.conn.execute(
            select(
                persons.c.id_type,
                persons.c.id_number,
                persons.c.name,
                persons.c.identity_hash,
                persons.c.name_hash,
            )
            .order_by(persons.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return IdentitySample(row[0], row[1], row[2], bytes(row[3]), bytes(row[4]))

    def ids_by_merge_hashes(self, hashes: Iterable[bytes]) -> dict[bytes, int]:
        """Merged persons by the blind index of their merge key; a person an administrator merged into
        another stands for that one, so that later reports under its key land there too."""
        wanted = list(set(hashes))
        if not wanted:
            return {}
        rows = self.conn.execute(
            select(persons.c.merge_hash, func.coalesce(persons.c.merged_into, persons.c.id)).where(
                persons.c.merge_hash.in_(wanted)
            )
        )
        return {bytes(h): int(i) for h, i in rows}

    def ids_by_identity_hashes(self, hashes: Iterable[bytes]) -> dict[bytes, list[int]]:
        """Every merged person per ID type + number (not those merged into another by an administrator);
        more than one means an identity conflict."""
        wanted = list(set(hashes))
        found: dict[bytes, list[int]] = {}
        if wanted:
            rows = self.conn.execute(
                select(persons.c.identity_hash, persons.c.id)
                .where(persons.c.identity_hash.in_(wanted), persons.c.merged_into.is_(None))
                .order_by(persons.c.id)
            )
            for h, i in rows:
                found.setdefault(bytes(h), []).append(int(i))
        return found

    def create_many(self, rows: Sequence[NewPerson]) -> list[int]:
        """Create merged persons; returns their ids in the order given."""
        if self.changed is not None:
            self.changed.identities(row.identity_hash for row in rows)
        return insert_rows_returning_ids(self.conn, persons, rows)

    def donor_ids(self, keys: Iterable[tuple[int, bytes]]) -> dict[tuple[int, bytes], int]:
        """Stations' own donor rows by (station id, merge hash)."""
        rows = station_pairs(
            self.conn,
            keys,
            "SELECT d.station_id, d.merge_hash, d.id FROM {pairs} "
            "JOIN donors d ON d.station_id = k.station_id AND d.merge_hash = k.key",
            "bytea",
        )
        return {(int(s), bytes(h)): int(i) for s, h, i in rows}

    def add_donors(self, rows: Sequence[NewDonor]) -> list[int]:
        """Record donors as stations reported them; returns their ids in the order given."""
        return insert_rows_returning_ids(self.conn, donors, rows)

    def touch_donors(self, donor_ids: Iterable[int], now: datetime) -> None:
        """Note that stations reported these donors again."""
        params = [{"d_id": d, "now": now} for d in set(donor_ids)]
        if params:
            self.conn.execute(_TOUCH_DONOR, params)

    def recompute_totals(self, person_ids: Iterable[int], now: datetime) -> None:
        """Recompute count, volumes and first/last dates of persons from their valid donations.

        Every write that changes a person's donations ends here, so this is where the persons are noted
        as changed for their donors (`changed`, fenced for a read replica once the transaction commits).
        """
        ids = sorted(set(person_ids))
        if not ids:
            return
        if self.changed is not None:
            self.changed.persons(ids)
        if self.conn.dialect.name == "postgresql":
            # Lock first (in id order), then add up: a concurrent batch that moved a donation to or from one
            # of these persons has then committed, and the sums below (a new statement) include its change.
            self.conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT id FROM persons WHERE id = ANY(%s) ORDER BY id "
                "FOR NO KEY UPDATE) AS locked",
                (ids,),
            )
        totals = self.conn.execute(
            select(
                donations.c.person_id,
                func.count(),
                func.sum(case((donations.c.kind == "whole_blood", donations.c.volume_ml), else_=0)),
                func.sum(case((donations.c.kind == "platelets", donations.c.units), else_=0)),
                func.sum(case((donations.c.kind == "plasma", donations.c.volume_ml), else_=0)),
                func.min(donations.c.donated_at),
                func.max(donations.c.donated_at),
            )
            .where(donations.c.person_id.in_(ids), donations.c.status == "valid")
            .group_by(donations.c.person_id)
        ).all()
        found = {row[0]: row for row in totals}
        params = []
        for person_id in ids:
            row = found.get(person_id)
            n, wb, pu, pl, first, last = row[1:] if row else (0, 0, 0, 0, None, None)
            params.append(
                {
                    "p_id": person_id,
                    "n": n,
                    "wb": wb or 0,
                    "pu": pu or 0,
                    "pl": pl or 0,
                    "first": first,
                    "last": last,
                    "now": now,
                }
            )
        self.conn.execute(_TOTALS, params)
