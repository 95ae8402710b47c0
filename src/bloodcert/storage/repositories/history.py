"""Read queries behind the donor's national history (爱心历程): plain selects, nothing written."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, exists, select

from bloodcert.storage.repositories.persons import PERSON_COLUMNS
from bloodcert.storage.rows import HistoryRow, PersonRow
from bloodcert.storage.tables import certificates, donations, persons, stations

_HISTORY_COLUMNS = (
    donations.c.id,
    donations.c.person_id,
    donations.c.certificate_no,
    donations.c.donation_no,
    donations.c.donated_at,
    donations.c.utc_offset_min,
    donations.c.kind,
    donations.c.volume_ml,
    donations.c.units,
    stations.c.code,
    stations.c.name,
    donations.c.site_name,
    donations.c.site_type,
    donations.c.site_region,
    donations.c.test_result,
)


class HistoryRepository:
    """Queries over persons, donations and certificates for one donor."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def persons_by_identity_and_name(self, identity_hash: bytes, name_hash: bytes) -> list[PersonRow]:
        """The merged persons a donor is: same ID type + number and name, any ABO type."""
        rows = self.conn.execute(
            select(*PERSON_COLUMNS)
            .where(persons.c.identity_hash == identity_hash, persons.c.name_hash == name_hash)
            .order_by(persons.c.id)
        )
        return [PersonRow(**r._mapping) for r in rows]

    def count_by_identity(self, identity_hash: bytes) -> int:
        """How many merged persons share this ID type + number (more than one: under review)."""
        return len(
            self.conn.execute(select(persons.c.id).where(persons.c.identity_hash == identity_hash)).all()
        )

    def has_donation_no(self, person_ids: Sequence[int], donation_no: str) -> bool:
        """True when one of the persons has a valid donation with this number (献血编号), at any station."""
        if not person_ids:
            return False
        return bool(
            self.conn.execute(
                select(
                    exists().where(
                        donations.c.person_id.in_(person_ids),
                        donations.c.donation_no == donation_no,
                        donations.c.status == "valid",
                    )
                )
            ).scalar()
        )

    def donations_of_persons(
        self,
        person_ids: Sequence[int],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        region_prefix: str | None = None,
    ) -> list[HistoryRow]:
        """Valid donations of the persons, newest first, filtered by UTC time range and site region prefix."""
        stmt = (
            select(*_HISTORY_COLUMNS)
            .join(stations, stations.c.id == donations.c.station_id)
            .where(donations.c.person_id.in_(person_ids), donations.c.status == "valid")
        )
        if since is not None:
            stmt = stmt.where(donations.c.donated_at >= since)
        if until is not None:
            stmt = stmt.where(donations.c.donated_at < until)
        if region_prefix:
            stmt = stmt.where(donations.c.site_region.startswith(region_prefix, autoescape=True))
        rows = self.conn.execute(stmt.order_by(donations.c.donated_at.desc(), donations.c.id.desc()))
        return [HistoryRow(*tuple(r)) for r in rows]

    def certificate_of_persons(
        self, certificate_no: str, person_ids: Sequence[int]
    ) -> tuple[str, str, int] | None:
        """(qr, status, donation id) of a certificate when it belongs to one of the persons, else None."""
        if not person_ids:
            return None
        row = self.conn.execute(
            select(certificates.c.qr, certificates.c.status, certificates.c.donation_id).where(
                certificates.c.certificate_no == certificate_no, certificates.c.person_id.in_(person_ids)
            )
        ).first()
        return (str(row[0]), str(row[1]), int(row[2])) if row else None

    def donation(self, donation_id: int) -> HistoryRow | None:
        """One donation with its station, whatever its status."""
        row = self.conn.execute(
            select(*_HISTORY_COLUMNS)
            .join(stations, stations.c.id == donations.c.station_id)
            .where(donations.c.id == donation_id)
        ).first()
        return HistoryRow(*tuple(row)) if row else None
