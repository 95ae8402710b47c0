"""Identity conflicts and administrators' decisions on them: which persons share an ID number, moving a
person's donors and donations to another (and back), and the decisions' ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update

from bloodcert.storage.rows import PersonRow
from bloodcert.storage.tables import (
    certificates,
    donations,
    donors,
    identity_decisions,
    persons,
    quality_issues,
    stations,
)
from bloodcert.storage.writes import NewIdentityDecision, column_values

if TYPE_CHECKING:
    from bloodcert.storage.changes import ChangedKeys

_PERSON = (
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


@dataclass(frozen=True, slots=True)
class ReviewPerson:
    """One side of a conflict: the person, whether it is settled, and the stations that reported it."""

    person: PersonRow
    identity_hash: bytes
    merge_hash: bytes
    merged_into: int | None
    settled_at: datetime | None
    station_codes: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """An administrator's decision, and whether it was undone."""

    id: int
    identity_hash: bytes
    person_id: int
    other_person_id: int
    decision: str
    evidence: str
    decided_by: str
    decided_at: datetime
    undone_by: str | None
    undone_at: datetime | None


@dataclass(frozen=True, slots=True)
class CertifiedDonation:
    """What a certificate of a donation says of it (the holder comes from the person)."""

    donation_id: int
    donation_no: str
    version: int
    station_code: str
    station_name: str
    donated_on: date
    kind: str
    volume_ml: int | None
    units: int | None


class IdentityReviewRepository:
    """Queries over persons sharing an ID number, and `identity_decisions`."""

    def __init__(self, conn: Connection, *, changed: ChangedKeys | None = None) -> None:
        self.conn = conn
        self.changed = changed  # persons whose donors see the change (storage/replica.py)

    def conflicted_hashes(self, limit: int) -> list[bytes]:
        """ID numbers (blind-indexed) held by more than one active person, not all of them settled."""
        active = persons.c.merged_into.is_(None)
        rows = self.conn.execute(
            select(persons.c.identity_hash)
            .where(active)
            .group_by(persons.c.identity_hash)
            .having(func.count() > 1)
            .having(func.count(persons.c.identity_settled_at) < func.count())
            .order_by(func.min(persons.c.id))
            .limit(limit)
        )
        return [bytes(r[0]) for r in rows]

    def persons_of_identity(self, identity_hash: bytes) -> list[ReviewPerson]:
        """Every active person under one ID number, oldest first, with their stations."""
        rows = self.conn.execute(
            select(*_PERSON, persons.c.identity_hash, persons.c.merge_hash, persons.c.merged_into)
            .add_columns(persons.c.identity_settled_at)
            .where(persons.c.identity_hash == identity_hash, persons.c.merged_into.is_(None))
            .order_by(persons.c.id)
        ).all()
        return [self._review(r) for r in rows]

    def person(self, person_id: int) -> ReviewPerson | None:
        """One person, merged or not."""
        row = self.conn.execute(
            select(*_PERSON, persons.c.identity_hash, persons.c.merge_hash, persons.c.merged_into)
            .add_columns(persons.c.identity_settled_at)
            .where(persons.c.id == person_id)
        ).first()
        return self._review(row) if row else None

    def _review(self, row: Any) -> ReviewPerson:
        values: tuple[Any, ...] = tuple(row)
        person = PersonRow(*values[:14])
        reported = self.conn.execute(
            select(stations.c.code, stations.c.region)
            .distinct()
            .select_from(donors.join(stations, stations.c.id == donors.c.station_id))
            .where(donors.c.person_id == person.id)
            .order_by(stations.c.code)
        ).all()
        return ReviewPerson(
            person,
            bytes(values[14]),
            bytes(values[15]),
            values[16],
            values[17],
            tuple(str(r[0]) for r in reported),
            tuple(str(r[1]) for r in reported),
        )

    # Moving a person's records

    def move(self, from_id: int, to_id: int) -> list[int]:
        """Give every donor row, donation and certificate of one person to another; returns the donations."""
        moved = [
            int(r[0])
            for r in self.conn.execute(select(donations.c.id).where(donations.c.person_id == from_id))
        ]
        self.conn.execute(update(donors).where(donors.c.person_id == from_id).values(person_id=to_id))
        self.conn.execute(update(donations).where(donations.c.person_id == from_id).values(person_id=to_id))
        self.conn.execute(
            update(certificates).where(certificates.c.person_id == from_id).values(person_id=to_id)
        )
        return moved

    def move_back(self, merge_hash: bytes, from_id: int, to_id: int) -> list[int]:
        """Give back to a person what stations reported under its own key (also since the merge)."""
        donor_ids = [
            int(r[0])
            for r in self.conn.execute(
                select(donors.c.id).where(donors.c.merge_hash == merge_hash, donors.c.person_id == from_id)
            )
        ]
        if not donor_ids:
            return []
        moved = [
            int(r[0])
            for r in self.conn.execute(select(donations.c.id).where(donations.c.donor_id.in_(donor_ids)))
        ]
        self.conn.execute(update(donors).where(donors.c.id.in_(donor_ids)).values(person_id=to_id))
        self.conn.execute(update(donations).where(donations.c.id.in_(moved)).values(person_id=to_id))
        if moved:
            self.conn.execute(
                update(certificates).where(certificates.c.donation_id.in_(moved)).values(person_id=to_id)
            )
        return moved

    def set_merged_into(self, person_id: int, into: int | None, now: datetime) -> None:
        """Mark a person merged into another (None: not merged); persons merged into it follow."""
        if self.changed is not None:
            self.changed.persons([person_id] if into is None else [person_id, into])
        self.conn.execute(
            update(persons).where(persons.c.id == person_id).values(merged_into=into, updated_at=now)
        )
        if into is not None:
            self.conn.execute(
                update(persons).where(persons.c.merged_into == person_id).values(merged_into=into)
            )

    def settle(self, person_ids: Sequence[int], at: datetime | None) -> None:
        """Mark persons decided to be different people (None: no longer decided)."""
        if self.changed is not None:
            self.changed.persons(person_ids)
        if person_ids:
            self.conn.execute(
                update(persons).where(persons.c.id.in_(list(person_ids))).values(identity_settled_at=at)
            )

    def valid_donations(self, donation_ids: Sequence[int]) -> list[CertifiedDonation]:
        """The valid ones among donations, with what their certificates show."""
        if not donation_ids:
            return []
        rows = self.conn.execute(
            select(
                donations.c.id,
                donations.c.donation_no,
                donations.c.version,
                stations.c.code,
                stations.c.name,
                donations.c.donated_on,
                donations.c.kind,
                donations.c.volume_ml,
                donations.c.units,
            )
            .join(stations, stations.c.id == donations.c.station_id)
            .where(donations.c.id.in_(list(donation_ids)), donations.c.status == "valid")
            .order_by(donations.c.id)
        )
        return [CertifiedDonation(*r) for r in rows]

    def set_certificate_no(self, donation_id: int, certificate_no: str) -> None:
        """The donation's certificate in force."""
        self.conn.execute(
            update(donations).where(donations.c.id == donation_id).values(certificate_no=certificate_no)
        )

    # The quality issues that flagged the conflict

    def close_conflict_issues(self, person_ids: Sequence[int], note: str, by: str, at: datetime) -> None:
        """Close the open identity_conflict issues about these persons, naming the decision."""
        ids = list(person_ids)
        self.conn.execute(
            update(quality_issues)
            .where(
                quality_issues.c.code == "identity_conflict",
                quality_issues.c.status == "open",
                quality_issues.c.person_id.in_(ids) | quality_issues.c.other_person_id.in_(ids),
            )
            .values(status="accepted", close_note=note, closed_by=by, closed_at=at)
        )

    def reopen_conflict_issues(self, note: str) -> None:
        """Open again the issues a decision closed (when it is undone)."""
        self.conn.execute(
            update(quality_issues)
            .where(quality_issues.c.code == "identity_conflict", quality_issues.c.close_note == note)
            .values(status="open", close_note=None, closed_by=None, closed_at=None)
        )

    # Decisions

    def add_decision(self, row: NewIdentityDecision) -> int:
        """Record a decision; returns its id."""
        result = self.conn.execute(insert(identity_decisions).values(**column_values(row)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def decision(self, decision_id: int) -> DecisionRow | None:
        """One decision."""
        row = self.conn.execute(
            select(*identity_decisions.c).where(identity_decisions.c.id == decision_id)
        ).first()
        return DecisionRow(*row) if row else None

    def recent_decisions(self, limit: int) -> list[DecisionRow]:
        """The latest decisions, newest first."""
        rows = self.conn.execute(
            select(*identity_decisions.c).order_by(identity_decisions.c.id.desc()).limit(limit)
        )
        return [DecisionRow(*r) for r in rows]

    def mark_undone(self, decision_id: int, by: str, at: datetime) -> bool:
        """Mark a decision undone; False when it already was."""
        result = self.conn.execute(
            update(identity_decisions)
            .where(identity_decisions.c.id == decision_id, identity_decisions.c.undone_at.is_(None))
            .values(undone_by=by, undone_at=at)
        )
        return result.rowcount == 1
