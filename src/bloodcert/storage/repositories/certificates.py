"""Certificates, the issuer's public keys, and the revocation status lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, func, insert, select, update

from bloodcert.storage.bulk import insert_rows
from bloodcert.storage.reads import Query, ReadModel
from bloodcert.storage.rows import (
    CertificateRow,
    CertificateStanding,
    PendingCertificate,
    SigningKeyRow,
    StatusListRow,
)
from bloodcert.storage.tables import certificates, signing_keys, status_lists
from bloodcert.storage.writes import NewCertificate, NewSigningKey, NewStatusList, column_values

_KEY_COLUMNS = (
    signing_keys.c.kid,
    signing_keys.c.role,
    signing_keys.c.alg,
    signing_keys.c.public_key_pem,
    signing_keys.c.not_before,
    signing_keys.c.not_after,
    signing_keys.c.status,
)
_LIST_COLUMNS = (
    status_lists.c.list_id,
    status_lists.c.bits,
    status_lists.c.allocated,
    status_lists.c.allocated_count,
    status_lists.c.updated_at,
)
_CERT_COLUMNS = (
    certificates.c.certificate_no,
    certificates.c.donation_id,
    certificates.c.person_id,
    certificates.c.status,
    certificates.c.issued_at,
    certificates.c.status_list_id,
    certificates.c.status_index,
    certificates.c.qr,
)


_STANDING = ReadModel(
    CertificateStanding,
    {
        "key_status": signing_keys.c.status,
        "not_before": signing_keys.c.not_before,
        "not_after": signing_keys.c.not_after,
        "certificate_status": select(certificates.c.status)
        .where(
            certificates.c.certificate_no == bindparam("certificate_no"),
            certificates.c.status_list_id == bindparam("list_id"),
            certificates.c.status_index == bindparam("index"),
        )
        .scalar_subquery(),
    },
)
_STANDING_OF = Query(_STANDING, _STANDING.select().where(signing_keys.c.kid == bindparam("kid")))


class CertificateReads:
    """Reads of certificates on a raw driver connection, for online verification's hot path."""

    def __init__(self, dbapi_connection: Any, dialect: Dialect) -> None:
        self.raw = dbapi_connection
        self.dialect = dialect

    def standing(self, certificate_no: str, entry: tuple[str, int], kid: bytes) -> CertificateStanding | None:
        """In one query: the signing key's row and the certificate's status at this status entry; None
        when the key is unknown."""
        return _STANDING_OF.first(
            self.raw, self.dialect, certificate_no=certificate_no, list_id=entry[0], index=entry[1], kid=kid
        )


def _key(row: Any) -> SigningKeyRow:
    return SigningKeyRow(bytes(row[0]), *row[1:])


def _list(row: Any) -> StatusListRow:
    return StatusListRow(row[0], bytearray(row[1]), bytearray(row[2]), int(row[3]), row[4])


class CertificateRepository:
    """Queries over `certificates`, `signing_keys` and `status_lists`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _locking(self, stmt: Any) -> Any:
        # PostgreSQL workers must not interleave updates of one status list; SQLite's writer lock already
        # serialises them.
        return stmt.with_for_update() if self.conn.dialect.name == "postgresql" else stmt

    # Certificates

    def issue_many(self, rows: Sequence[NewCertificate]) -> None:
        """Record newly issued certificates."""
        insert_rows(self.conn, certificates, rows)

    def end_active(self, donation_ids: Iterable[int], status: str, now: datetime) -> list[tuple[str, int]]:
        """Mark the donations' active certificates `superseded` or `revoked`; returns their status entries."""
        ids = list(set(donation_ids))
        if not ids:
            return []
        where = (certificates.c.donation_id.in_(ids), certificates.c.status == "active")
        entries = [
            (str(list_id), int(index))
            for list_id, index in self.conn.execute(
                select(certificates.c.status_list_id, certificates.c.status_index).where(*where)
            )
        ]
        self.conn.execute(update(certificates).where(*where).values(status=status, status_changed_at=now))
        return entries

    def pending(self, limit: int) -> list[PendingCertificate]:
        """Up to `limit` pending certificates, oldest first, held until the transaction ends.

        On PostgreSQL those another transaction holds are passed over (SKIP LOCKED), so that several
        signers share the work and none signs a certificate another is signing; SQLite's writer already
        has the database to itself.
        """
        stmt = (
            select(certificates.c.id, certificates.c.pending)
            .where(certificates.c.pending.is_not(None))
            .order_by(certificates.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return [PendingCertificate(int(i), dict(content)) for i, content in self.conn.execute(stmt)]

    def count_pending(self) -> int:
        """How many certificates wait for their signature."""
        query = select(func.count()).select_from(certificates).where(certificates.c.pending.is_not(None))
        return int(self.conn.execute(query).scalar_one())

    def sign_pending(self, signed: Sequence[tuple[int, bytes, str]], now: datetime) -> int:
        """Store the signatures (id, key id, `BC1:` text) of pending certificates; returns how many were
        still pending (a certificate is signed once: one already signed is left as it is)."""
        if not signed:
            return 0
        stmt = (
            update(certificates)
            .where(certificates.c.id == bindparam("c_id"), certificates.c.pending.is_not(None))
            .values(kid=bindparam("c_kid"), qr=bindparam("c_qr"), issued_at=now, pending=None)
        )
        result = self.conn.execute(stmt, [{"c_id": i, "c_kid": kid, "c_qr": qr} for i, kid, qr in signed])
        return int(result.rowcount)

    def get_by_no(self, certificate_no: str) -> CertificateRow | None:
        """A certificate by its number."""
        row = self.conn.execute(
            select(*_CERT_COLUMNS).where(certificates.c.certificate_no == certificate_no)
        ).first()
        return CertificateRow(*row) if row else None

    # Signing keys

    def add_key(self, row: NewSigningKey) -> None:
        """Record the public half of a new key."""
        self.conn.execute(insert(signing_keys).values(**column_values(row)))

    def all_keys(self) -> list[SigningKeyRow]:
        """Every key, oldest first."""
        return [_key(r) for r in self.conn.execute(select(*_KEY_COLUMNS).order_by(signing_keys.c.id))]

    def active_key(self, role: str) -> SigningKeyRow | None:
        """The newest active key of a role (`root` or `signing`)."""
        row = self.conn.execute(
            select(*_KEY_COLUMNS)
            .where(signing_keys.c.role == role, signing_keys.c.status == "active")
            .order_by(signing_keys.c.id.desc())
            .limit(1)
        ).first()
        return _key(row) if row else None

    def retire_key(self, kid: bytes, now: datetime) -> None:
        """Stop a key from signing: it stays in the trust list for the certificates it signed."""
        self.conn.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == kid)
            .values(status="retired", retired_at=now, not_after=now)
        )

    # Status lists

    def claim_open_list(self, fill_limit: int, *, exclude: Iterable[str] = ()) -> StatusListRow | None:
        """A list with room for new certificates (other than those in `exclude`), locked for update; None
        when every list is full.

        On PostgreSQL a list another transaction holds is passed over (SKIP LOCKED), so that concurrent
        writers fill different lists instead of queueing behind one; SQLite has one writer at a time.
        """
        stmt = (
            select(*_LIST_COLUMNS)
            .where(
                status_lists.c.allocated_count < fill_limit,
                status_lists.c.sealed_at.is_(None),
                status_lists.c.list_id.not_in(list(exclude)),
            )
            .order_by(status_lists.c.id)
            .limit(1)
        )
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        row = self.conn.execute(stmt).first()
        return _list(row) if row else None

    def seal_open_lists(self, fill_limit: int, now: datetime) -> int:
        """Seal every list that still has room (no new certificate takes a slot in it); how many."""
        stmt = (
            update(status_lists)
            .where(status_lists.c.allocated_count < fill_limit, status_lists.c.sealed_at.is_(None))
            .values(sealed_at=now)
        )
        return int(self.conn.execute(stmt).rowcount)

    def lists_for_update(self, list_ids: Iterable[str]) -> dict[str, StatusListRow]:
        """Status lists by id, locked for update (in id order, so that two writers never wait in a circle)."""
        ids = list(set(list_ids))
        if not ids:
            return {}
        stmt = select(*_LIST_COLUMNS).where(status_lists.c.list_id.in_(ids)).order_by(status_lists.c.id)
        return {r[0]: _list(r) for r in self.conn.execute(self._locking(stmt))}

    def get_list(self, list_id: str) -> StatusListRow | None:
        """A status list by id."""
        row = self.conn.execute(select(*_LIST_COLUMNS).where(status_lists.c.list_id == list_id)).first()
        return _list(row) if row else None

    def list_ids(self) -> list[str]:
        """Every status list id, oldest first."""
        return [
            str(r)
            for r in self.conn.execute(select(status_lists.c.list_id).order_by(status_lists.c.id)).scalars()
        ]

    def create_list(self, row: NewStatusList) -> None:
        """Open a new status list."""
        self.conn.execute(insert(status_lists).values(**column_values(row)))

    def save_list(self, row: StatusListRow, now: datetime) -> None:
        """Write back a list's bits and allocations."""
        self.conn.execute(
            update(status_lists)
            .where(status_lists.c.list_id == row.list_id)
            .values(
                bits=bytes(row.bits),
                allocated=bytes(row.allocated),
                allocated_count=row.allocated_count,
                updated_at=now,
            )
        )
