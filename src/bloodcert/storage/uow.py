"""The unit of work: the one place that commits."""

from __future__ import annotations

import select
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Dialect, Engine

from bloodcert import metrics
from bloodcert.storage.changes import ChangedKeys
from bloodcert.storage.crypto import attach_cipher
from bloodcert.storage.engine import dispose_side_engine, make_engine, writer_queue
from bloodcert.storage.replica import Standby
from bloodcert.storage.repositories.audit import AuditRepository
from bloodcert.storage.repositories.certificates import CertificateReads, CertificateRepository
from bloodcert.storage.repositories.claims import ClaimRepository, RelativeRepository
from bloodcert.storage.repositories.corrections import CorrectionRepository
from bloodcert.storage.repositories.donations import DonationRepository
from bloodcert.storage.repositories.fences import FenceRepository
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

# The class of the advisory locks that ingest transactions take on PostgreSQL ("bld" in ASCII), one lock
# per stripe of identities (ID type + number); fewer stripes than identities keep the lock table small.
IDENTITY_LOCK = 0x62_6C_64
IDENTITY_STRIPES = 1024
# Idle connections kept for donor reads; more are closed on return (a burst of threads leaves no hoard).
IDLE_READERS = 8


class UnitOfWork:
    """Repositories sharing one transaction. Services use it; only `Database.transaction` commits."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # What this transaction changed that donors see: fenced for a read replica once it commits.
        self.changed = ChangedKeys()
        self.stations = StationRepository(conn)
        self.persons = PersonRepository(conn, changed=self.changed)
        self.donations = DonationRepository(conn)
        self.certificates = CertificateRepository(conn)
        self.quality = QualityRepository(conn)
        self.nonces = NonceRepository(conn)
        self.imports = ImportRunRepository(conn)
        self.identity = IdentityRepository(conn, changed=self.changed)
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
        self.identity_review = IdentityReviewRepository(conn, changed=self.changed)
        self.scorecards = ScorecardRepository(conn)
        self.statistics = StatisticsRepository(conn)
        self.fences = FenceRepository(conn)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.conn.dialect.name

    def take_ingest_turn(self, identity_hashes: Iterable[bytes]) -> None:
        """Hold the identities (ID type + number) a batch is about to plan for, until this transaction ends.

        Ingest plans a batch against what it has read (persons, donors, donations) and then inserts, so two
        batches planning the same identity at once would both create the same new person. SQLite's writers
        already take turns (BEGIN IMMEDIATE). On PostgreSQL each identity's stripe is a transaction-scoped
        advisory lock, taken in ascending order (so two batches never wait for each other in a circle):
        batches of other identities go ahead at the same time.
        """
        if self.dialect == "postgresql":
            stripes = sorted({identity_stripe(h) for h in identity_hashes})
            if stripes:
                self.conn.exec_driver_sql(
                    "SELECT count(pg_advisory_xact_lock(%s, s)) FROM unnest(%s::int[]) AS s",
                    (IDENTITY_LOCK, stripes),
                )


def identity_stripe(identity_hash: bytes) -> int:
    """The lock stripe of an identity's blind index (take_ingest_turn); also how an import splits its
    records between parallel writers, so that they never wait for each other."""
    return int.from_bytes(identity_hash[:4], "big") % IDENTITY_STRIPES


class DonorReads:
    """What a donor's read, online verification and a hospital's signature check need, outside any unit
    of work (`standby`: on a read replica, see storage/replica.py)."""

    def __init__(self, raw: Any, dialect: Dialect, *, standby: bool = False) -> None:
        self.raw = raw
        self.history = HistoryRepository(raw, dialect, standby=standby)
        self.certificates = CertificateReads(raw, dialect)
        self.hospital_keys = HospitalKeyReads(raw, dialect)


T = TypeVar("T")


class Database:
    """The engine and the transaction boundary.

    `data_key` (Settings.data_key) encrypts and decrypts personal data; a Database without it can check
    the schema but fails clearly on any read or write of an encrypted column.

    With `replica_url` (Settings.replica_url), donors' reads may go to that PostgreSQL hot standby
    (`donor_read`), and every transaction that changes what a donor sees fences it once committed
    (storage/replica.py), in Redis with `redis_url`, else in this database.
    """

    def __init__(
        self,
        url: str,
        *,
        data_key: bytes | None = None,
        engine: Engine | None = None,
        replica_url: str | None = None,
        redis_url: str | None = None,
        standby: bool = False,
    ) -> None:
        self.url = url
        if engine is None:
            engine = make_engine(url, data_key=data_key)
        elif data_key is not None:
            attach_cipher(engine, data_key)
        self.engine = engine
        self._idle_readers: deque[DonorReads] = deque()
        self._writers = writer_queue(url)
        self._standby = standby
        self.replica: Standby | None = None
        if replica_url is not None:
            self.replica = Standby.of(self, replica_url, data_key=data_key, redis_url=redis_url)

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """Yield a unit of work; commit when the block ends normally, roll back when it raises."""
        turn = self._writers.turn() if self._writers is not None else nullcontext()
        with turn, self.engine.connect() as conn:
            with conn.begin():
                uow = UnitOfWork(conn)
                yield uow
            if self.replica is not None and uow.changed:  # committed: fence what donors must see
                self.replica.fence(conn, uow.changed)

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
        instead of returning it, and the next block connects afresh. An idle connection the server has
        ended (a restart, a failover) is found without a round trip and replaced before it is used.
        """
        reads = None
        while reads is None:
            try:  # threads share the stack: the pop itself decides who gets the last idle connection
                reads = self._idle_readers.pop()
            except IndexError:
                break
            if _closed_by_server(reads.raw):
                reads.raw.close()
                reads = None
        if reads is None:
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
        return DonorReads(raw, self.engine.dialect, standby=self._standby)

    def donor_read(self, read: Callable[[DonorReads], T], *, standby: bool) -> T:
        """`read` on the read replica when `standby` and it answers, else on this database."""
        if standby and self.replica is not None:
            found, value = self.replica.attempt(read)
            if found:
                return cast(T, value)
            metrics.donor_read("primary", "replica_down")
        with self.donor_reads() as reads:
            return read(reads)

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        """Close pooled connections and the idle donor-read connections (the read replica's too)."""
        while self._idle_readers:
            self._idle_readers.pop().raw.close()
        self.engine.dispose()
        dispose_side_engine(self.engine)
        if self.replica is not None:
            self.replica.db.dispose()


def _closed_by_server(raw: Any) -> bool:
    """True for an idle PostgreSQL connection the server has ended: when it shuts down (or terminates the
    backend) it sends a last message and closes the socket, so an idle connection's socket is readable
    only then. One system call, no round trip. SQLite connections have no socket and are never ended."""
    fileno = getattr(raw, "fileno", None)
    if fileno is None or getattr(raw, "closed", False):
        return bool(getattr(raw, "closed", False))
    try:
        readable, _, _ = select.select([fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
