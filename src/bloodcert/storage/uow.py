"""The unit of work: the one place that commits."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Dialect, Engine

from bloodcert.storage.crypto import attach_cipher
from bloodcert.storage.engine import make_engine, writer_queue
from bloodcert.storage.repositories.audit import AuditRepository
from bloodcert.storage.repositories.certificates import CertificateReads, CertificateRepository
from bloodcert.storage.repositories.claims import ClaimRepository, RelativeRepository
from bloodcert.storage.repositories.corrections import CorrectionRepository
from bloodcert.storage.repositories.donations import DonationRepository
from bloodcert.storage.repositories.health_checks import HealthCheckRepository
from bloodcert.storage.repositories.history import HistoryRepository
from bloodcert.storage.repositories.honours import HonourRepository
from bloodcert.storage.repositories.identity import IdentityRepository
from bloodcert.storage.repositories.identity_review import IdentityReviewRepository
from bloodcert.storage.repositories.imports import ImportRunRepository
from bloodcert.storage.repositories.nonces import NonceRepository
from bloodcert.storage.repositories.notifications import NotificationRepository
from bloodcert.storage.repositories.persons import PersonRepository
from bloodcert.storage.repositories.quality import QualityRepository
from bloodcert.storage.repositories.rate_counters import RateCounterRepository
from bloodcert.storage.repositories.scorecards import ScorecardRepository
from bloodcert.storage.repositories.sites import SiteRepository
from bloodcert.storage.repositories.staff import StaffRepository
from bloodcert.storage.repositories.station_stats import StationStatsRepository
from bloodcert.storage.repositories.stations import StationRepository
from bloodcert.storage.repositories.statistics import StatisticsRepository
from bloodcert.storage.repositories.supply import SupplyRepository
from bloodcert.storage.repositories.surveys import SurveyRepository
from bloodcert.storage.repositories.waivers import HospitalKeyReads, HospitalRepository, WaiverRepository

# The advisory lock that ingest transactions take on PostgreSQL (any constant; "bldcert" in ASCII).
INGEST_LOCK = 0x62_6C_64_63_65_72_74
# Idle connections kept for donor reads; more are closed on return (a burst of threads leaves no hoard).
IDLE_READERS = 8


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
        self.hospitals = HospitalRepository(conn)
        self.waivers = WaiverRepository(conn)
        self.honours = HonourRepository(conn)
        self.sites = SiteRepository(conn)
        self.health_checks = HealthCheckRepository(conn)
        self.relatives = RelativeRepository(conn)
        self.claims = ClaimRepository(conn)
        self.notifications = NotificationRepository(conn)
        self.supply = SupplyRepository(conn)
        self.surveys = SurveyRepository(conn)
        self.corrections = CorrectionRepository(conn)
        self.identity_review = IdentityReviewRepository(conn)
        self.scorecards = ScorecardRepository(conn)
        self.statistics = StatisticsRepository(conn)

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
    """What a donor's read, online verification and a hospital's signature check need, outside any unit
    of work."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw
        self.history = HistoryRepository(raw, dialect)
        self.certificates = CertificateReads(raw, dialect)
        self.hospital_keys = HospitalKeyReads(raw, dialect)


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
        self._idle_readers: deque[DonorReads] = deque()
        self._writers = writer_queue(url)

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """Yield a unit of work; commit when the block ends normally, roll back when it raises."""
        if self._writers is None:
            with self.engine.begin() as conn:
                yield UnitOfWork(conn)
            return
        with self._writers.turn(), self.engine.begin() as conn:
            yield UnitOfWork(conn)

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """Yield a unit of work for reads only; it never takes the SQLite write lock and never commits."""
        with self.engine.connect().execution_options(bloodcert_read_only=True) as conn, conn.begin():
            yield UnitOfWork(conn)

    @contextmanager
    def donor_reads(self) -> Iterator[DonorReads]:
        """The donor's hot reads on an autocommit driver connection of their own (no transaction to open).

        The same on every thread. The block takes an idle connection from this Database's own small stack
        of donor-read connections, or opens one when none is idle, and gives it back afterwards. A worker
        process serving from its event loop (handlers with sync_to_thread=False) therefore reads through
        one connection for its whole life, and a thread pool shares a few, as many as ran at once (at most
        IDLE_READERS stay idle). Why not the engine's pool: a checkout costs a reset and, on PostgreSQL,
        a ping round trip per request, and a pooled connection opens a transaction that would then have
        to end; these connections are autocommit, so every read sees every commit made before it. They
        are opened through the engine (its connect events set SQLite's pragmas and the cipher) and then
        detached from its pool, so they never count against it. A driver error closes the connection
        instead of returning it, and the next block connects afresh.
        """
        try:
            reads = self._idle_readers.pop()
        except IndexError:
            reads = self._new_reads()
        try:
            yield reads
        except Exception as exc:
            if isinstance(exc, self.engine.dialect.loaded_dbapi.Error):
                reads.raw.close()
                raise
            self._give_back(reads)
            raise
        self._give_back(reads)

    def _give_back(self, reads: DonorReads) -> None:
        if len(self._idle_readers) < IDLE_READERS:
            self._idle_readers.append(reads)
        else:
            reads.raw.close()

    def _new_reads(self) -> DonorReads:
        proxied = self.engine.raw_connection()
        raw: Any = proxied.driver_connection
        proxied.detach()  # kept by this Database: it must not count against the engine's pool
        if self.engine.dialect.name == "postgresql":
            raw.autocommit = True  # every read sees every commit made before it
        return DonorReads(raw, self.engine.dialect)

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        """Close pooled connections and the idle donor-read connections."""
        while self._idle_readers:
            self._idle_readers.pop().raw.close()
        self.engine.dispose()
