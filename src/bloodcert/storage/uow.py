"""The unit of work: the one place that commits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from bloodcert.storage.crypto import attach_cipher
from bloodcert.storage.engine import make_engine
from bloodcert.storage.repositories.audit import AuditRepository
from bloodcert.storage.repositories.certificates import CertificateRepository
from bloodcert.storage.repositories.donations import DonationRepository
from bloodcert.storage.repositories.history import HistoryRepository
from bloodcert.storage.repositories.identity import IdentityRepository
from bloodcert.storage.repositories.imports import ImportRunRepository
from bloodcert.storage.repositories.nonces import NonceRepository
from bloodcert.storage.repositories.persons import PersonRepository
from bloodcert.storage.repositories.quality import QualityRepository
from bloodcert.storage.repositories.rate_counters import RateCounterRepository
from bloodcert.storage.repositories.sites import SiteRepository
from bloodcert.storage.repositories.staff import StaffRepository
from bloodcert.storage.repositories.station_stats import StationStatsRepository
from bloodcert.storage.repositories.stations import StationRepository

# The advisory lock that ingest transactions take on PostgreSQL (any constant; "bldcert" in ASCII).
INGEST_LOCK = 0x62_6C_64_63_65_72_74


class UnitOfWork:
    """Repositories sharing one transaction. Services use it; only `Database.transaction` commits."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.stations = StationRepository(conn)
        self.persons = PersonRepository(conn)
        self.donations = DonationRepository(conn)
        self.certificates = CertificateRepository(conn)
        self.quality = QualityRepository(conn)
        self.nonces = NonceRepository(conn)
        self.imports = ImportRunRepository(conn)
        self.identity = IdentityRepository(conn)
        self.history = HistoryRepository(conn.connection.driver_connection, conn.dialect)
        self.audit = AuditRepository(conn)
        self.staff = StaffRepository(conn)
        self.station_stats = StationStatsRepository(conn)
        self.rate_counters = RateCounterRepository(conn)
        self.sites = SiteRepository(conn)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.conn.dialect.name

    def take_ingest_turn(self) -> None:
        """Wait until no other transaction is ingesting, and hold the turn until this one ends.

        Ingest plans a batch against what it has read (persons, donors, donations) and then inserts, so two
        batches planned at once would both create the same new person. SQLite's writers already take turns
        (BEGIN IMMEDIATE); on PostgreSQL a transaction-scoped advisory lock does the same.
        """
        if self.dialect == "postgresql":
            self.conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (INGEST_LOCK,))


class DonorReads:
    """What a donor's read needs, outside any unit of work."""

    def __init__(self, history: HistoryRepository) -> None:
        self.history = history


class Database:
    """The engine and the transaction boundary.

    `data_key` (Settings.data_key) encrypts and decrypts personal data; a Database without it can check
    the schema but fails clearly on any read or write of an encrypted column.
    """

    def __init__(self, url: str, *, data_key: bytes | None = None, engine: Engine | None = None) -> None:
        self.url = url
        if engine is None:
            engine = make_engine(url, data_key=data_key)
        elif data_key is not None:
            attach_cipher(engine, data_key)
        self.engine = engine
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """Yield a unit of work; commit when the block ends normally, roll back when it raises."""
        with self.engine.begin() as conn:
            yield UnitOfWork(conn)

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """Yield a unit of work for reads only; it never takes the SQLite write lock and never commits."""
        with self.engine.connect().execution_options(bloodcert_read_only=True) as conn, conn.begin():
            yield UnitOfWork(conn)

    @contextmanager
    def donor_reads(self) -> Iterator[DonorReads]:
        """The donor's hot reads on this thread's own autocommit connection (no transaction to open).

        On the event loop's thread (handlers with sync_to_thread=False) that is one connection per worker,
        kept for its life; a driver error drops it and the next request connects afresh. Other threads
        borrow a pooled connection for the block, so a thread pool never holds connections idle.
        """
        if threading.current_thread() is not threading.main_thread():
            proxied = self.engine.raw_connection()
            try:
                yield DonorReads(HistoryRepository(proxied.driver_connection, self.engine.dialect))
            finally:
                proxied.close()
            return
        reads = getattr(self._local, "reads", None)
        if reads is None:
            reads = self._local.reads = self._new_reads()
        try:
            yield reads
        except Exception as exc:
            if isinstance(exc, self.engine.dialect.loaded_dbapi.Error):
                self._local.reads = None
                reads.history.raw.close()
            raise

    def _new_reads(self) -> DonorReads:
        proxied = self.engine.raw_connection()
        raw: Any = proxied.driver_connection
        proxied.detach()  # held for the thread's life: it must not count against the pool
        if self.engine.dialect.name == "postgresql":
            raw.autocommit = True  # every read sees every commit made before it
        return DonorReads(HistoryRepository(raw, self.engine.dialect))

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
