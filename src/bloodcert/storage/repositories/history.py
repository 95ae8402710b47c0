"""Read queries behind the donor's national history (爱心历程), on the raw driver connection.

These are the hottest queries of the platform (every donor page and API read), so they are plain SQL
with bound parameters, run on the DBAPI cursor: no statement building, compilation or result proxies.
Encrypted columns are decrypted with the same column types the tables declare.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect

from bloodcert.storage.rows import HistoryRow, PersonRow, SessionRow
from bloodcert.storage.tables import certificates, persons

# The columns' own encrypted types decrypt what the raw cursor returns.
_NAME: Any = persons.c.name.type
_ID_NUMBER: Any = persons.c.id_number.type
_BIRTH: Any = persons.c.birth_date.type
_QR: Any = certificates.c.qr.type

_PERSON_SQL = (
    "SELECT id, id_type, id_number, name, sex, birth_date, abo, rhd, donation_count, whole_blood_ml, "
    "platelet_units, plasma_ml, first_at, last_at FROM persons"
)
_HISTORY_SQL = (
    "SELECT d.id, d.person_id, d.certificate_no, d.donation_no, d.donated_at, d.utc_offset_min, d.kind, "
    "d.volume_ml, d.units, s.code, s.name, d.site_name, d.site_type, d.site_region, d.test_result "
    "FROM donations d JOIN stations s ON s.id = d.station_id"
)


def _when(value: Any) -> Any:
    """SQLite hands back SQLAlchemy's text form of DATETIME and DATE; PostgreSQL real objects."""
    if isinstance(value, str):
        return datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    return value


def _stamp(value: datetime, dialect: str) -> Any:
    # Bound the way SQLAlchemy stored it, so that SQLite compares like with like.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else value


@lru_cache(maxsize=256)
def _sql(text: str, dialect: str) -> str:
    return text.replace("?", "%s") if dialect == "postgresql" else text


def _marks(n: int) -> str:
    return ",".join("?" * n)


class HistoryRepository:
    """Queries over persons, donations, certificates and sessions for one donor."""

    def __init__(self, dbapi_connection: Any, dialect: Dialect) -> None:
        self.raw = dbapi_connection
        self.dialect = dialect
        self.name = dialect.name

    def _rows(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cursor = self.raw.cursor()
        try:
            cursor.execute(_sql(text, self.name), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _person(self, row: tuple[Any, ...]) -> PersonRow:
        d = self.dialect
        return PersonRow(
            int(row[0]),
            row[1],
            _ID_NUMBER.process_result_value(row[2], d),
            _NAME.process_result_value(row[3], d),
            row[4],
            _BIRTH.process_result_value(row[5], d),
            row[6],
            row[7],
            int(row[8]),
            int(row[9]),
            int(row[10]),
            int(row[11]),
            _when(row[12]),
            _when(row[13]),
        )

    def _history(self, row: tuple[Any, ...]) -> HistoryRow:
        return HistoryRow(int(row[0]), int(row[1]), row[2], row[3], _when(row[4]), int(row[5]), *row[6:])

    def session_with_persons(self, token_hash: bytes) -> tuple[SessionRow, list[int], bool] | None:
        """A session, the person ids it reaches and whether its ID number is shared: one query.

        A session with a person (a donation-number login) reaches that person only; one without (a real-name
        platform login) reaches every person under its ID + name. Shared means another person carries the
        same ID number (another name or ABO type): an identity under review.
        """
        rows = self._rows(
            "SELECT s.id, s.identity_hash, s.name_hash, s.method, s.last_seen_at, s.expires_at, s.ended_at, "
            "s.person_id, p.id, p.name_hash = s.name_hash FROM donor_sessions s "
            "LEFT JOIN persons p ON p.identity_hash = s.identity_hash WHERE s.token_hash = ? ORDER BY p.id",
            (token_hash,),
        )
        if not rows:
            return None
        r = rows[0]
        person = None if r[7] is None else int(r[7])
        session = SessionRow(
            int(r[0]), bytes(r[1]), bytes(r[2]), r[3], _when(r[4]), _when(r[5]), _when(r[6]), person
        )
        same_id = [row for row in rows if row[8] is not None]
        if person is None:
            mine = [int(row[8]) for row in same_id if row[9]]
        else:
            mine = [int(row[8]) for row in same_id if int(row[8]) == person]
        return session, mine, len(same_id) > 1

    def persons_by_identity_and_name(self, identity_hash: bytes, name_hash: bytes) -> list[PersonRow]:
        """The merged persons a donor is: same ID type + number and name, any ABO type."""
        rows = self._rows(
            f"{_PERSON_SQL} WHERE identity_hash = ? AND name_hash = ? ORDER BY id", (identity_hash, name_hash)
        )
        return [self._person(r) for r in rows]

    def persons_by_ids(self, person_ids: Sequence[int]) -> list[PersonRow]:
        """Persons by id, in id order."""
        if not person_ids:
            return []
        rows = self._rows(f"{_PERSON_SQL} WHERE id IN ({_marks(len(person_ids))}) ORDER BY id", person_ids)
        return [self._person(r) for r in rows]

    def has_donation_no(self, person_ids: Sequence[int], donation_no: str) -> bool:
        """True when one of the persons has a valid donation with this number (献血编号), at any station."""
        if not person_ids:
            return False
        rows = self._rows(
            f"SELECT 1 FROM donations WHERE person_id IN ({_marks(len(person_ids))}) "  # noqa: S608 - marks only
            "AND donation_no = ? AND status = 'valid' LIMIT 1",
            (*person_ids, donation_no),
        )
        return bool(rows)

    def donations_of_persons(
        self,
        person_ids: Sequence[int],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        region_prefix: str | None = None,
    ) -> list[HistoryRow]:
        """Valid donations of the persons, newest first, filtered by UTC time range and site region prefix."""
        if not person_ids:
            return []
        where = [f"d.person_id IN ({_marks(len(person_ids))})", "d.status = 'valid'"]
        params: list[Any] = list(person_ids)
        if since is not None:
            where.append("d.donated_at >= ?")
            params.append(_stamp(since, self.name))
        if until is not None:
            where.append("d.donated_at < ?")
            params.append(_stamp(until, self.name))
        if region_prefix:
            where.append("d.site_region LIKE ?")
            params.append(region_prefix + "%")  # validated digits: no LIKE metacharacters
        text = f"{_HISTORY_SQL} WHERE {' AND '.join(where)} ORDER BY d.donated_at DESC, d.id DESC"
        return [self._history(r) for r in self._rows(text, params)]

    def certificate_of_persons(
        self, certificate_no: str, person_ids: Sequence[int]
    ) -> tuple[str, str, int] | None:
        """(qr, status, donation id) of a certificate when it belongs to one of the persons, else None."""
        if not person_ids:
            return None
        rows = self._rows(
            f"SELECT qr, status, donation_id FROM certificates WHERE certificate_no = ? "  # noqa: S608 - marks only
            f"AND person_id IN ({_marks(len(person_ids))})",
            (certificate_no, *person_ids),
        )
        if not rows:
            return None
        qr = _QR.process_result_value(rows[0][0], self.dialect)
        return str(qr), str(rows[0][1]), int(rows[0][2])

    def certificate_and_key_status(
        self, certificate_no: str, entry: tuple[str, int], kid: bytes
    ) -> tuple[str | None, tuple[str, datetime, datetime] | None] | None:
        """For online verification, in one query: the certificate's status (for this status entry) and its
        signing key's (status, not_before, not_after); None when the key is unknown."""
        rows = self._rows(
            "SELECT k.status, k.not_before, k.not_after, "
            "(SELECT c.status FROM certificates c WHERE c.certificate_no = ? AND c.status_list_id = ? "
            "AND c.status_index = ?) FROM signing_keys k WHERE k.kid = ?",
            (certificate_no, entry[0], entry[1], kid),
        )
        if not rows:
            return None
        r = rows[0]
        return r[3], (str(r[0]), _when(r[1]), _when(r[2]))

    def donation(self, donation_id: int) -> HistoryRow | None:
        """One donation with its station, whatever its status."""
        rows = self._rows(f"{_HISTORY_SQL} WHERE d.id = ?", (donation_id,))
        return self._history(rows[0]) if rows else None
