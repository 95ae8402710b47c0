"""Backup and restore, by the book: the `restore-test` blocks of docs/backup-and-restore.md, run as written.

A platform is built (stations, issuer keys, imported donations with certificates, a donor's login and
reads, an exported trust list), backed up with the page's commands, destroyed, and restored into a new
database and new folders with the page's commands. Then certificates still verify offline and online, the
donor logs in and sees the same history, the audit chain verifies with the same head, and new records
(an import, a signed station batch) get new ids and certificate numbers. A restore without the data key
stops every command with the data key's error instead of running.

On SQLite, and on PostgreSQL (private databases on the test server, dropped afterwards); and a
point-in-time recovery from a base backup and the WAL archive, on a private PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from litestar.testing import TestClient
from sqlalchemy import create_engine, text

from bloodcert.config import Settings
from bloodcert.web.app import create_app
from tests.conftest import GENEROUS_LIMITS, PG_ADMIN_URL, _postgres_available
from tests.factories import StationKey, make_record, signed_headers

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "backup-and-restore.md"
BLOCK = re.compile(r"<!-- restore-test: ([a-z-]+) -->\n```sh\n(.*?)```", re.DOTALL)
BASE = "http://testserver.local"
BIN = Path(sys.executable).parent
STATION = "33019901"
# The ways a command refuses to run: typer's usage/config exit (2) or a check's failure (1).
REFUSED = {1, 2}


def guide_blocks() -> dict[str, str]:
    """The page's `restore-test` blocks by name."""
    blocks = dict(BLOCK.findall(GUIDE.read_text(encoding="utf-8")))
    assert set(blocks) >= {
        "backup-keys",
        "backup-postgresql",
        "backup-postgresql-base",
        "backup-sqlite",
        "restore-keys",
        "restore-postgresql",
        "restore-postgresql-pitr",
        "restore-sqlite",
        "after-restore",
    }
    return blocks


@dataclass
class Site:
    """One installation: its database, its folders and the environment its commands run with."""

    url: str  # as an operator writes it (postgresql://… or sqlite:///…)
    root: Path
    db_file: Path | None = None  # SQLite only
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def key_dir(self) -> Path:
        return self.root / "keys"

    @property
    def data_dir(self) -> Path:
        return self.root / "var"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BLOODCERT_")}
        if env.get("PYTHONPATH"):  # the blocks run in another folder: keep the same code importable
            env["PYTHONPATH"] = os.pathsep.join(
                str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep)
            )
        env |= {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "BLOODCERT_DATABASE_URL": self.url,
            "BLOODCERT_DATA_DIR": str(self.data_dir),
            "BLOODCERT_KEY_DIR": str(self.key_dir),
            "BLOODCERT_DATA_KEY_FILE": str(self.secrets / "data.key"),
            "BLOODCERT_INDEX_KEY_FILE": str(self.secrets / "index.key"),
            "BLOODCERT_AUDIT_KEY_FILE": str(self.secrets / "audit.key"),
            "BLOODCERT_AUDIT_MODE": "sync",
        }
        return env | self.extra

    def settings(self) -> Settings:
        import dataclasses

        return dataclasses.replace(Settings.from_env(self.env()), rate_limits=GENEROUS_LIMITS)

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "bloodcert"), *args],
            check=False,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if ok:
            assert done.returncode == 0, f"bloodcert {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    def scalar(self, sql: str) -> Any:
        engine = create_engine(self.settings().database_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar()
        finally:
            engine.dispose()


def run_block(
    name: str, site: Site, backup: Path, key_backup: Path, *, as_user: str | None = None, **more: str
) -> str:
    """Run one of the page's blocks with bash, with the page's names pointing at this test's folders
    (`more` gives a block's own names; `as_user` runs it as that user, as the page says)."""
    names = {
        "SECRETS": str(site.secrets),
        "KEY_DIR": str(site.key_dir),
        "BACKUP": str(backup),
        "KEY_BACKUP": str(key_backup),
        "DB": str(site.db_file or ""),
        **more,
    }
    shell = ["bash", "-eu", "-o", "pipefail", "-c", guide_blocks()[name]]
    done = subprocess.run(
        ["runuser", "-u", as_user, "--", *shell] if as_user else shell,
        check=False,
        env=site.env() | names,
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/" if as_user else site.root,
    )
    assert done.returncode == 0, f"block {name}: {done.stdout}{done.stderr}"
    return done.stdout


class Backend:
    """Makes new, empty databases of one kind, and drops them all at the end."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        self.made: list[str] = []

    def new_site(self, name: str) -> Site:
        root = self.tmp / name
        root.mkdir()
        if self.kind == "sqlite":
            db_file = root / "db" / "bloodcert.db"
            return Site(f"sqlite:///{db_file}", root, db_file)
        database = f"bloodcert_restore_{uuid.uuid4().hex[:10]}"
        self._admin(f'CREATE DATABASE "{database}"')
        self.made.append(database)
        host = PG_ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0]
        return Site(f"postgresql://{host}/{database}", root)

    def destroy(self, site: Site) -> None:
        """The disaster: the database and every folder of the site are gone."""
        if self.kind == "sqlite":
            assert site.db_file is not None
            shutil.rmtree(site.db_file.parent)
        else:
            self._admin(f'DROP DATABASE "{site.url.rsplit("/", 1)[1]}" WITH (FORCE)')
        shutil.rmtree(site.root)

    def drop_all(self) -> None:
        for database in self.made:
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "postgresql":
        if not _postgres_available():
            if os.environ.get("BLOODCERT_REQUIRE_POSTGRES") == "1":
                pytest.fail("PostgreSQL is required (BLOODCERT_REQUIRE_POSTGRES=1) but unreachable")
            pytest.skip("PostgreSQL is not reachable")
        for tool in ("pg_dump", "pg_restore"):
            if shutil.which(tool) is None:
                pytest.fail(f"{tool} is needed beside PostgreSQL (the postgresql-client package)")
    made = Backend(request.param, tmp_path)
    yield made
    if request.param == "postgresql":
        made.drop_all()


# ---- the platform before the backup ---------------------------------------------------------------------


@dataclass
class Before:
    """What the platform showed before the backup, to be compared after the restore."""

    login: dict[str, str]
    donations: list[dict[str, Any]]
    qr_texts: list[str]
    root_sha256: str
    audit_head: str
    max_person_id: int
    certificates: int
    max_serial: int


# A certificate number's serial: the 11 digits after the donation year (domain/certno.py).
SERIAL = "CAST(substr(certificate_no, 5, 11) AS BIGINT)"
SERIALS = "SELECT {}(" + SERIAL + ") FROM certificates"


def write_secrets(site: Site) -> None:
    """The three symmetric keys, as an operator makes them before the first start."""
    site.secrets.mkdir(mode=0o700)
    for name in ("data.key", "index.key", "audit.key"):
        (site.secrets / name).write_text(secrets.token_hex(32) + "\n")
        (site.secrets / name).chmod(0o600)


def records_file(path: Path, count: int, prefix: str, year: int) -> Path:
    """Records of the test's own station in the import format (JSON Lines with the station's code), for
    donors born on 1 January of `year` (their resident ID numbers say so, with a correct check character)."""
    lines = [
        json.dumps(record_of(f"{prefix}{i:05d}", f"测{prefix}{i}", year, i) | {"station": STATION})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def record_of(donation_no: str, name: str, year: int, serial: int) -> dict[str, Any]:
    from stdnum.iso7064 import mod_11_2

    body = f"330106{year}0101{serial * 2:03d}"  # an even sequence digit: a woman, as make_record's donor
    donor = {"id_number": body + mod_11_2.calc_check_digit(body), "name": name, "birth_date": f"{year}-01-01"}
    return make_record(donation_no=donation_no, donor=donor)


def donor_view(site: Site, login: dict[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Log the donor in over the API; their donations, and the QR text of each certificate."""
    with TestClient(app=create_app(site.settings()), base_url=BASE) as client:
        response = client.post(BASE + "/api/v1/auth/login", json=login)
        assert response.status_code == 200, response.text
        auth = {"Authorization": f"Bearer {response.json()['access_token']}"}
        donations = client.get(BASE + "/api/v1/me/donations", headers=auth).json()["donations"]
        qr_texts = []
        for donation in donations:
            certificate = client.get(
                BASE + f"/api/v1/me/certificates/{donation['certificate_no']}", headers=auth
            )
            assert certificate.status_code == 200, certificate.text
            qr_texts.append(certificate.json()["qr"])
    return donations, qr_texts


def build(site: Site, tmp: Path) -> Before:
    write_secrets(site)
    site.run("db", "upgrade")
    site.run("station", "seed")
    site.run("keys", "rotate")
    site.run("station", "add", "--code", STATION, "--name", "杭州市某血站", "--region", "330106",
             "--key-out", str(tmp / "station.pem"))  # fmt: skip
    national = tmp / "national.jsonl"
    site.run("generate", "--persons", "60", "--out", str(national), "--seed", "7")
    assert "0 rejected" in site.run("import", str(national), "--jobs", "0").stdout
    own = site.run("import", str(records_file(tmp / "own.jsonl", 20, "OWN", 1990)), "--jobs", "0")
    assert "20 accepted, 0 rejected" in own.stdout, own.stdout
    first = json.loads(national.read_text(encoding="utf-8").splitlines()[0])
    login = {
        "id_type": first["donor"]["id_type"],
        "id_number": first["donor"]["id_number"],
        "name": first["donor"]["name"],
        "donation_no": first["donation_no"],
    }
    donations, qr_texts = donor_view(site, login)
    assert donations and all(q.startswith("BC1:") for q in qr_texts)
    exported = site.run("trust-list", "export", str(tmp / "mirror" / "trust-list.json")).stdout
    root_sha256 = re.search(r"root key sha256: ([0-9a-f]{64})", exported)
    assert root_sha256
    head = re.search(r"intact: (\d+) entries; head ([0-9a-f]{64})", site.run("audit", "verify").stdout)
    assert head and int(head[1]) >= 5, "station seed, keys rotate, station add, the login and the reads"
    return Before(
        login,
        donations,
        qr_texts,
        root_sha256[1],
        head[2],
        int(site.scalar("SELECT max(id) FROM persons")),
        int(site.scalar("SELECT count(*) FROM certificates")),
        int(site.scalar(SERIALS.format("max"))),
    )


# ---- the checks after the restore -----------------------------------------------------------------------


def check_restored(site: Site, before: Before, tmp: Path) -> None:
    from datetime import UTC, datetime

    from bloodcert.certs.offline import load_trust_list, verify_offline
    from bloodcert.services.verification import OnlineVerifier
    from bloodcert.storage.uow import Database

    mirror = tmp / "mirror" / "trust-list.json"
    # Every certificate, offline with the trust list exported before the backup and online against the
    # restored database; the first one also through `bloodcert verify`, as a verifier runs it.
    trust = load_trust_list(mirror, pinned_root_sha256=before.root_sha256)
    settings = site.settings()
    db = Database(settings.database_url, data_key=settings.data_key)
    try:
        online = OnlineVerifier(db, settings.issuer)
        for qr in before.qr_texts:
            assert verify_offline(qr, trust, mirror.parent / "status", datetime.now(UTC)).valid
            assert online.verify(qr).valid
    finally:
        db.dispose()
    first = before.qr_texts[0]
    offline = site.run("verify", first, "--trust-list", str(mirror), "--root-fingerprint", before.root_sha256)
    assert offline.stdout.startswith("valid"), offline.stdout
    assert site.run("verify", first).stdout.startswith("valid")
    # The restored root key signs a new trust list that the same pin accepts.
    again = site.run("trust-list", "export", str(tmp / "mirror2" / "trust-list.json")).stdout
    assert f"root key sha256: {before.root_sha256}" in again
    renewed = load_trust_list(tmp / "mirror2" / "trust-list.json", pinned_root_sha256=before.root_sha256)
    assert verify_offline(first, renewed, tmp / "mirror2" / "status", datetime.now(UTC)).valid
    # The donor logs in (the restored index key finds them, the data key opens their records).
    donations, qr_texts = donor_view(site, before.login)
    assert donations == before.donations
    assert qr_texts == before.qr_texts
    # New records: an import and a signed station batch, each with new ids and certificate numbers.
    new = site.run("import", str(records_file(tmp / "after.jsonl", 10, "NEW", 1991)), "--jobs", "0")
    assert "10 accepted, 0 rejected" in new.stdout, new.stdout
    station_batch(site, tmp / "station.pem")
    assert site.scalar("SELECT count(*) FROM certificates") == before.certificates + 11
    assert site.scalar("SELECT count(DISTINCT certificate_no) FROM certificates") == before.certificates + 11
    new_people = site.scalar(f"SELECT count(*) FROM persons WHERE id > {before.max_person_id}")
    assert new_people == 11
    # The guide skipped 100,000 numbers after the restore: the new certificates' serials start past them.
    new_serials = f"{SERIALS.format('min')} WHERE {SERIAL} > {before.max_serial}"
    assert int(site.scalar(new_serials)) > before.max_serial + 100_000
    # The chain goes on under the restored audit key.
    assert site.run("audit", "verify").returncode == 0


def station_batch(site: Site, key_file: Path) -> None:
    """One record through the station API, signed with the station's key made before the backup."""
    key_id = site.scalar(
        "SELECT k.key_id FROM station_keys k JOIN stations s ON s.id = k.station_id "
        f"WHERE s.code = '{STATION}'"
    )
    key = StationKey(None, key_id, "ed25519", load_pem_private_key(key_file.read_bytes(), None))  # type: ignore[arg-type]
    record = record_of("API00001", "周新", 1993, 1)
    url = BASE + "/api/v1/station/donations"
    body = json.dumps({"records": [record]}).encode()
    with TestClient(app=create_app(site.settings()), base_url=BASE) as client:
        response = client.post(url, content=body, headers=signed_headers(key, "POST", url, body))
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "created", response.text


# ---- the test -------------------------------------------------------------------------------------------


def test_a_backup_made_and_restored_by_the_guide_brings_the_whole_platform_back(
    backend: Backend, tmp_path: Path
) -> None:
    backup, key_backup = tmp_path / "backup", tmp_path / "key-vault"
    live = backend.new_site("live")
    before = build(live, tmp_path)

    run_block("backup-keys", live, backup, key_backup)
    run_block(f"backup-{backend.kind}", live, backup, key_backup)
    backend.destroy(live)

    restored = backend.new_site("restored")
    run_block("restore-keys", restored, backup, key_backup)
    run_block(f"restore-{backend.kind}", restored, backup, key_backup)
    out = run_block("after-restore", restored, backup, key_backup)
    assert "the keys fit the database: data key, index key, audit key" in out
    assert "skipped certificate serials" in out and "sealed 1 status lists that had room" in out
    assert "audit chain intact" in out and f"head {before.audit_head}" in out
    check_restored(restored, before, tmp_path)

    # The same backup restored without data.key: nothing runs, nothing is written.
    bare = backend.new_site("without-data-key")
    run_block("restore-keys", bare, backup, key_backup)
    run_block(f"restore-{backend.kind}", bare, backup, key_backup)
    (bare.secrets / "data.key").unlink()
    missing = bare.run("db", "check-keys", ok=False)
    assert missing.returncode in REFUSED and "BLOODCERT_DATA_KEY_FILE" in missing.stderr
    # Without the _FILE setting a fresh key is made in the data folder: the check is what stops it.
    bare.extra = {"BLOODCERT_DATA_KEY_FILE": ""}
    persons = bare.scalar("SELECT count(*) FROM persons")
    for args in (
        ("db", "check-keys"),
        ("import", str(records_file(tmp_path / "late.jsonl", 3, "LATE", 1992)), "--jobs", "0"),
        ("serve", "--port", "1", "--workers", "1"),
        ("trust-list", "export", str(tmp_path / "never" / "trust-list.json")),
    ):
        refused = bare.run(*args, ok=False)
        assert refused.returncode in REFUSED, (args, refused.stdout, refused.stderr)
        assert "BLOODCERT_DATA_KEY is not the key" in refused.stderr, (args, refused.stderr)
    assert (bare.data_dir / "data.key").exists(), "the trap: a new key was made"
    # A wrong audit key too: `db check-keys` names both, and `audit verify` finds the chain does not fit.
    bare.extra["BLOODCERT_AUDIT_KEY_FILE"] = ""
    both = bare.run("db", "check-keys", ok=False)
    assert both.returncode == 1
    assert (
        "BLOODCERT_DATA_KEY is not the key" in both.stderr
        and "BLOODCERT_AUDIT_KEY is not the key" in both.stderr
    )
    assert "audit chain BROKEN" in bare.run("audit", "verify", ok=False).stderr
    assert bare.scalar("SELECT count(*) FROM persons") == persons
    assert not (tmp_path / "never" / "trust-list.json").exists()


# ---- point-in-time recovery on a private server ---------------------------------------------------------

PG_BIN = Path(os.environ.get("BLOODCERT_PG_BIN", "/usr/lib/postgresql/15/bin"))
# PostgreSQL will not run as root; the page's PostgreSQL blocks run as this user, as it says.
PG_USER = os.environ.get("BLOODCERT_PG_USER", "postgres")


class PrivatePostgres:
    """A throwaway PostgreSQL server on a free port that archives its WAL, as primary.conf has it."""

    def __init__(self, folder: Path) -> None:
        import socket

        self.folder = folder
        self.data = folder / "data"
        self.archive = folder / "wal-archive"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])

    def _as_user(self, *args: str) -> None:
        command = [*(["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []), *args]
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120, cwd="/")
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"

    def create(self) -> None:
        self.archive.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, PG_USER)
            shutil.chown(self.archive, PG_USER)
        self._as_user(str(PG_BIN / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres")
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.folder}'",
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f"'test ! -f {self.archive}/%f && cp %p {self.archive}/%f'",
            "fsync": "off",
            "max_connections": "60",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        self._as_user(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self._as_user(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> Any:
        engine = create_engine(self.url(database).replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                result = conn.execute(text(statement))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()

    def archive_everything(self) -> None:
        """Close the current WAL segment and wait until the archive has it."""
        import time

        segment = self.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
        self.sql("SELECT pg_switch_wal()")
        for _ in range(200):
            if (self.archive / segment).exists():
                return
            time.sleep(0.05)
        raise AssertionError(f"WAL segment {segment} never reached the archive")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    import tempfile

    if not (PG_BIN / "initdb").exists() or shutil.which("pg_basebackup") is None:
        if os.environ.get("BLOODCERT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"the PostgreSQL server binaries are needed in {PG_BIN} (BLOODCERT_PG_BIN)")
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    # Outside pytest's private temporary folder: the server's user must reach it.
    folder = Path(tempfile.mkdtemp(prefix="bloodcert-pitr-"))
    folder.chmod(0o755)
    server = PrivatePostgres(folder)
    server.create()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(AssertionError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
def test_a_base_backup_and_the_wal_archive_bring_the_database_back_to_the_moment_before_the_damage(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    import time

    server = private_postgres
    backup = server.folder / "backup"  # the server's user writes the restore from here
    server.sql("CREATE DATABASE bloodcert")
    site = Site(server.url("bloodcert"), tmp_path / "live")
    site.root.mkdir()
    before = build(site, tmp_path)

    as_user = PG_USER if os.geteuid() == 0 else None
    run_block(
        "backup-postgresql-base",
        site,
        backup,
        tmp_path / "key-vault",
        as_user=as_user,
        REPLICATION_URL=server.url(""),
    )
    # Written after the base backup: only the WAL archive has these.
    late = site.run("import", str(records_file(tmp_path / "late.jsonl", 5, "WAL", 1994)), "--jobs", "0")
    assert "5 accepted" in late.stdout
    head = re.search(r"head ([0-9a-f]{64})", site.run("audit", "verify").stdout)
    assert head
    certificates = site.scalar("SELECT count(*) FROM certificates")
    assert certificates == before.certificates + 5
    time.sleep(1.1)
    target = server.sql("SELECT now()::text")
    time.sleep(1.1)
    # The damage: someone empties the audit log.
    server.sql("DELETE FROM audit_log", "bloodcert")
    assert site.run("audit", "verify", ok=False).returncode == 1
    server.archive_everything()
    server.stop()

    run_block(
        "restore-postgresql-pitr",
        site,
        backup,
        tmp_path / "key-vault",
        as_user=as_user,
        PGDATA=str(server.data),
        WAL_ARCHIVE=str(server.archive),
        TARGET_TIME=target,
    )
    server.start()
    for _ in range(200):
        if server.sql("SELECT pg_is_in_recovery()") is False:
            break
        time.sleep(0.05)
    assert server.sql("SELECT pg_is_in_recovery()") is False, "promoted after reaching the target"

    out = run_block("after-restore", site, backup, tmp_path / "key-vault")
    assert f"head {head[1]}" in out, "the audit log as it was just before the damage"
    assert site.scalar("SELECT count(*) FROM certificates") == certificates, "the records only the WAL had"
    donations, qr_texts = donor_view(site, before.login)
    assert (donations, qr_texts) == (before.donations, before.qr_texts)
    new = site.run("import", str(records_file(tmp_path / "after.jsonl", 3, "NEW", 1995)), "--jobs", "0")
    assert "3 accepted" in new.stdout
    assert site.scalar("SELECT count(DISTINCT certificate_no) FROM certificates") == certificates + 3
