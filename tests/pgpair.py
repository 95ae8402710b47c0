"""A private PostgreSQL primary and its streaming hot standby, for tests of replicas and clusters.

`start_pair()` builds both in a temporary folder in a few seconds: `initdb` for the primary
(wal_level=replica, trust authentication for connections and replication, its unix socket inside the
folder), then `pg_basebackup -R` for the standby (hot_standby=on), each on a free port of 127.0.0.1.
Nothing touches the machine's own PostgreSQL service.

The pair can wait until the standby has replayed everything the primary wrote (`wait_replayed`), hold
the standby's replay back on purpose to make it lag (`pause_replay` / `resume_replay`), and stop, start
or restart either server. `close()` stops both; if it is never called (a crashed test run), an exit
handler and a watchdog process that outlives the test process stop them anyway, so no server is left
running.

PostgreSQL refuses to run as root: as root the servers run as the `postgres` user (BLOODCERT_PG_USER
names another) and the folder is handed to that user.

Fixtures (tests/conftest.py makes them available to every test):

- `pg_pair`: one pair per test process (session scope). Mark the tests that use it with
  `pytest.mark.xdist_group(PGPAIR_GROUP)` so that `--dist loadgroup` runs them on one worker, which
  then builds one pair for all of them.
- `pair`: the same pair for one test, handed back in working order afterwards (both servers running,
  replay resumed, the standby caught up), whatever the test did to it.

Without the PostgreSQL 15 binaries (BLOODCERT_PG_BIN names another folder) the fixtures skip the test,
or fail it when BLOODCERT_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

PG_BIN = Path(os.environ.get("BLOODCERT_PG_BIN", "/usr/lib/postgresql/15/bin"))
PGPAIR_GROUP = "pgpair"
SUPERUSER = "postgres"
# Fast and throwaway: nothing here has to survive a crash of the machine.
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "wal_receiver_status_interval": "1s",
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "60",
    "logging_collector": "off",
    "log_min_messages": "warning",
}
_HBA = """\
local   all             all                     trust
host    all             all     127.0.0.1/32    trust
local   replication     all                     trust
host    replication     all     127.0.0.1/32    trust
"""


class PgPairUnavailable(Exception):
    """The binaries or an unprivileged user to run them are missing."""


def unavailable_reason() -> str | None:
    """Why a pair cannot be built here, or None when it can."""
    for tool in ("initdb", "pg_ctl", "pg_basebackup", "postgres"):
        if not (PG_BIN / tool).exists():
            return f"PostgreSQL binaries not found in {PG_BIN} (set BLOODCERT_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(_run_as_user())
        except KeyError:
            return f"running as root and there is no user {_run_as_user()!r} to run PostgreSQL as"
    return None


def _run_as_user() -> str:
    return os.environ.get("BLOODCERT_PG_USER", "postgres")


def _as_server_user(args: Sequence[str]) -> list[str]:
    """The command, run as the unprivileged user when this process is root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", _run_as_user(), "--", *args]
    return list(args)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: Sequence[str], *, timeout: float = 60) -> None:
    done = subprocess.run(_as_server_user(args), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@dataclass
class PgServer:
    """One private server: its data folder, port and log."""

    name: str
    datadir: Path
    port: int
    socket_dir: Path

    @property
    def log(self) -> Path:
        return self.datadir.parent / f"{self.name}.log"

    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL (or, with driver="postgresql", a libpq one) of a database on this server."""
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database} connect_timeout=5"

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        """An autocommit connection as the superuser."""
        return psycopg.connect(self.conninfo(database), autocommit=True)

    def query(self, sql: str, params: Sequence[Any] = (), database: str = "postgres") -> Any:
        """The first column of the first row of `sql` (None when it returns no row, or no rows at all)."""
        with self.connect(database) as conn:
            cursor = conn.execute(sql, params)  # type: ignore[arg-type]
            row = cursor.fetchone() if cursor.description is not None else None
        return None if row is None else row[0]

    @property
    def running(self) -> bool:
        return self._postmaster_pid() is not None

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.log), "-w", "-t", "60", "start"]
        )
        self._wait_ready()

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`, `immediate` to crash it, `smart`); nothing when it is not running."""
        if self._postmaster_pid() is None:
            return
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def kill(self) -> None:
        """Stop at once, whatever state the server is in (SIGQUIT, then SIGKILL of what is left)."""
        pid = self._postmaster_pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        for child in _children(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)

    def _postmaster_pid(self) -> int | None:
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.query("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


@dataclass
class PgPair:
    """A primary and its streaming hot standby."""

    root: Path
    primary: PgServer
    replica: PgServer
    _watchdog: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    def primary_url(self, database: str = "postgres") -> str:
        return self.primary.url(database)

    def replica_url(self, database: str = "postgres") -> str:
        return self.replica.url(database)

    def create_database(self, name: str) -> None:
        """A new empty database on the primary (the standby has it once it has replayed)."""
        with self.primary.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]

    def primary_lsn(self) -> str:
        """The end of the WAL the primary has flushed (every commit so far: synchronous_commit is on).

        Not the insert position: after a segment switch it points past the next page's header, which the
        standby reaches only once something more is written.
        """
        return str(self.primary.query("SELECT pg_current_wal_flush_lsn()::text"))

    def replay_lsn(self) -> str | None:
        """The last position the standby has replayed."""
        value = self.replica.query("SELECT pg_last_wal_replay_lsn()::text")
        return None if value is None else str(value)

    def wait_replayed(self, lsn: str | None = None, timeout: float = 30) -> None:
        """Wait until the standby has replayed `lsn` (default: everything the primary has written now)."""
        target = lsn or self.primary_lsn()
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(psycopg.OperationalError):
                if self.replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby did not replay {target} within {timeout} s")
            time.sleep(0.02)

    def pause_replay(self) -> None:
        """Hold the standby's replay back (it keeps receiving WAL): it lags until `resume_replay`."""
        with self.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            deadline = time.monotonic() + 10
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() != ("paused",):
                if time.monotonic() > deadline:
                    raise TimeoutError("the standby's replay did not pause")
                time.sleep(0.01)

    def resume_replay(self) -> None:
        self.replica.query("SELECT pg_wal_replay_resume()")

    def replay_paused(self) -> bool:
        return bool(self.replica.query("SELECT pg_is_wal_replay_paused()"))

    def heal(self) -> None:
        """Back to working order: both servers running, replay resumed, the standby caught up."""
        for server in (self.primary, self.replica):
            if not server.running:
                server.start()
        if self.replay_paused():
            self.resume_replay()
        self.wait_replayed()

    def close(self) -> None:
        """Stop both servers (at once) and remove the folder. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        for server in (self.replica, self.primary):
            with contextlib.suppress(Exception):
                server.stop("immediate")
            server.kill()
        if self._watchdog is not None:
            with contextlib.suppress(Exception):
                self._watchdog.kill()
                self._watchdog.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def start_pair(base: Path | None = None, *, primary_conf: str = "", replica_conf: str = "") -> PgPair:
    """Build and start a primary and its standby in a new folder under `base` (default: the temp dir).

    `primary_conf` and `replica_conf` are postgresql.conf lines for each server (an operator's settings,
    such as deploy/postgresql/*.conf); the pair's own test settings (ports, sockets, no fsync) follow them.
    """
    reason = unavailable_reason()
    if reason is not None:
        raise PgPairUnavailable(reason)
    root = Path(tempfile.mkdtemp(prefix="bloodcert-pgpair-", dir=base))
    if os.geteuid() == 0:
        shutil.chown(root, user=_run_as_user())
    pair: PgPair | None = None
    try:
        for attempt in range(3):  # another process may take a free port between choosing and binding it
            try:
                pair = _build(root / f"try{attempt}", primary_conf, replica_conf)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        assert pair is not None
        pair.root = root
        pair._watchdog = _watchdog(pair)
        atexit.register(pair.close)
        return pair
    except BaseException:
        if pair is not None:
            pair.close()
        shutil.rmtree(root, ignore_errors=True)
        raise


def _build(folder: Path, primary_conf: str = "", replica_conf: str = "") -> PgPair:
    _run(["mkdir", "-p", str(folder)])
    primary = PgServer("primary", folder / "primary", _free_port(), folder)
    _run(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(primary.datadir),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]
    )
    settings = {**_SERVER_SETTINGS, "port": str(primary.port), "unix_socket_directories": f"'{folder}'"}
    _append_text(primary.datadir / "postgresql.conf", primary_conf)
    _append(primary.datadir / "postgresql.conf", settings)
    _write(primary.datadir / "pg_hba.conf", _HBA)
    pair = PgPair(folder, primary, PgServer("replica", folder / "replica", _free_port(), folder))
    try:
        primary.start()
        _run(
            [
                str(PG_BIN / "pg_basebackup"),
                "-D",
                str(pair.replica.datadir),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                SUPERUSER,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ]
        )
        # The primary's lines came with the base backup; the standby's own go after them, then its port.
        _append_text(pair.replica.datadir / "postgresql.conf", replica_conf)
        _append(pair.replica.datadir / "postgresql.conf", {"port": str(pair.replica.port)})
        pair.replica.start()
        pair.wait_replayed()
    except BaseException:
        pair.replica.kill()
        primary.kill()
        raise
    return pair


def _append(conf: Path, settings: dict[str, str]) -> None:
    lines = "".join(f"{k} = {v}\n" for k, v in settings.items())
    _run(["sh", "-c", f"cat >> '{conf}' <<'EOF'\n{lines}EOF\n"])


def _append_text(conf: Path, text: str) -> None:
    if text.strip():
        _run(["sh", "-c", f"cat >> '{conf}' <<'EOF'\n{text.rstrip()}\nEOF\n"])


def _write(path: Path, text: str) -> None:
    _run(["sh", "-c", f"cat > '{path}' <<'EOF'\n{text}EOF\n"])


def _watchdog(pair: PgPair) -> subprocess.Popen[bytes]:
    """A process that stops both servers when this one dies without closing the pair (killed, crashed)."""
    pids = " ".join(str(p) for p in (pair.primary._postmaster_pid(), pair.replica._postmaster_pid()) if p)
    script = (
        f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
        f"for d in '{pair.replica.datadir}' '{pair.primary.datadir}'; do "
        f'  [ -f "$d/postmaster.pid" ] && kill -QUIT $(head -1 "$d/postmaster.pid") 2>/dev/null; '
        "done; sleep 2; "
        f"for p in {pids}; do kill -KILL $p 2>/dev/null; done; "
        f"rm -rf '{pair.root}'"
    )
    return subprocess.Popen(
        ["sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not killed with the test process's group
    )


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when BLOODCERT_REQUIRE_POSTGRES=1."""
    if os.environ.get("BLOODCERT_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"a private PostgreSQL pair is required (BLOODCERT_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_pair() -> Iterator[PgPair]:
    """A private primary and hot standby for this test process (see the module's docstring)."""
    reason = unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    started = time.monotonic()
    pair = start_pair()
    print(
        f"pgpair: primary :{pair.primary.port}, standby :{pair.replica.port} in "
        f"{time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    try:
        yield pair
    finally:
        pair.close()


@pytest.fixture
def pair(pg_pair: PgPair) -> Iterator[PgPair]:
    """The process's pair for one test, handed back in working order whatever the test did to it."""
    pg_pair.heal()
    yield pg_pair
    pg_pair.heal()
