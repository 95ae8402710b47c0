"""A bloodcert cluster on one machine, started from the files in deploy/ the way an operator starts one.

Two `bloodcert serve` nodes, each run as deploy/systemd/bloodcert.service says (its ExecStart, its
Environment and LoadCredential lines, an EnvironmentFile rendered from deploy/systemd/bloodcert.env), a
private redis-server, and nginx with deploy/nginx/bloodcert.conf in front (TLS with a certificate made
here), over a private PostgreSQL primary and hot standby (tests/pgpair.py) with deploy/postgresql's
settings. Rendering changes only addresses, ports, paths and memory sizes; every other line is the
operator's.

Every process is started in its own process group and killed with it: `Cluster.close` kills them all,
whatever failed on the way, and a watchdog kills what is left if the test process itself dies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.pgpair import PgPair, start_pair

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "systemd" / "bloodcert.service"
ENV_FILE = DEPLOY / "systemd" / "bloodcert.env"
NGINX_CONF = DEPLOY / "nginx" / "bloodcert.conf"
BIN = Path(sys.executable).parent
# What the unit's ExecStart names, and what stands for it here.
UNIT_BINARY = "/opt/bloodcert/.venv/bin/bloodcert"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT_S = 120.0  # a node on a loaded 2-core machine has taken over 30 s to start


def tools_missing() -> list[str]:
    """The programs the cluster needs that this machine lacks."""
    missing = [tool for tool in ("redis-server", "wrk") if shutil.which(tool) is None]
    if not Path(NGINX).exists():
        missing.append("nginx")
    return missing


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    """Poll `check` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise TimeoutError(f"{what} within {timeout:.0f} s")


def port_open(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _kill_group(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGKILL) -> None:
    """Signal a program's whole process group (a server and its workers), then make sure it is gone."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    if sig != signal.SIGKILL:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    _unwatch(proc.pid)


def spawn(
    argv: list[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a program in a process group of its own, its output appended to `log`.

    The group is listed for the watchdog until `_kill_group` ends it.
    """
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )
    _watch(proc.pid)
    return proc


_WATCHED = Path(tempfile.gettempdir()) / f"bloodcert-cluster-{os.getpid()}.groups"
_watchdog: subprocess.Popen[bytes] | None = None


def _watch(pgid: int) -> None:
    """Have the process group killed if this process dies without ending it (killed, crashed): a
    watchdog that outlives this process kills every group still listed when it is gone."""
    global _watchdog  # noqa: PLW0603 - one watchdog per test process
    with _WATCHED.open("a") as listed:
        listed.write(f"{pgid}\n")
    if _watchdog is None:
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
            f"for g in $(cat '{_WATCHED}'); do kill -KILL -- -$g 2>/dev/null; done; rm -f '{_WATCHED}'"
        )
        _watchdog = subprocess.Popen(
            ["sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def _unwatch(pgid: int) -> None:
    with contextlib.suppress(OSError):
        kept = [line for line in _WATCHED.read_text().split() if line != str(pgid)]
        _WATCHED.write_text("".join(f"{line}\n" for line in kept))


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and every descendant still alive."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        todo += children.get(current, [])
    return total


# ---- PostgreSQL -----------------------------------------------------------------------------------------


def render_postgresql(name: str, archive: Path) -> str:
    """deploy/postgresql/NAME.conf for a server on this machine: loopback only, memory sized for a test,
    WAL archived into `archive`. The pair's standby streams without a replication slot."""
    text = (DEPLOY / "postgresql" / f"{name}.conf").read_text()
    for pattern, new in {
        r"^listen_addresses = '\*'": "listen_addresses = '127.0.0.1'",
        r"^shared_buffers = \S+": "shared_buffers = 32MB",
        r"^effective_cache_size = \S+": "effective_cache_size = 256MB",
        r"^maintenance_work_mem = \S+": "maintenance_work_mem = 64MB",
        r"^primary_slot_name = .*$": "",
    }.items():
        text, count = re.subn(pattern, new, text, flags=re.MULTILINE)
        assert count <= 1, pattern
    return text.replace("/var/lib/postgresql/wal-archive", str(archive))


def start_database(folder: Path) -> PgPair:
    """A private primary and hot standby (tests/pgpair.py) configured from deploy/postgresql, with an
    empty `bloodcert` database."""
    archive = folder / "wal-archive"
    archive.mkdir(parents=True)
    if os.geteuid() == 0:  # the servers run as the postgres user (tests/pgpair.py)
        shutil.chown(folder, user="postgres")
        shutil.chown(archive, user="postgres")
    pair = start_pair(
        primary_conf=render_postgresql("primary", archive), replica_conf=render_postgresql("replica", archive)
    )
    try:
        pair.create_database("bloodcert")
    except BaseException:
        pair.close()
        raise
    return pair


# ---- Redis ----------------------------------------------------------------------------------------------


@dataclass
class Redis:
    """A private redis-server on a port of its own, without persistence (as losing it loses everything)."""

    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.proc = spawn([*argv, "--dir", str(self.folder)], os.environ, self.folder / "redis.log")
        wait_until(lambda: port_open(self.port), 20, "redis-server did not listen")

    def kill(self) -> None:
        """SIGKILL: Redis is lost, with everything it held."""
        _kill_group(self.proc)
        self.proc = None


# ---- nodes, as the systemd unit runs them ---------------------------------------------------------------


def unit_lines(text: str, section: str = "Service") -> list[tuple[str, str]]:
    """The (key, value) lines of one section of a systemd unit, in order (keys may repeat)."""
    lines, current = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        if current == section:
            key, _, value = line.partition("=")
            lines.append((key.strip(), value.strip()))
    return lines


def render_env_file(text: str, values: Mapping[str, str]) -> str:
    """The example EnvironmentFile with these settings' values; each must be in the file already, so
    that a renamed or dropped setting fails here instead of silently starting a different node."""
    missing = set(values)
    out = []
    for line in text.splitlines():
        name = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and name in values:
            out.append(f"{name}={values[name]}")
            missing.discard(name)
        else:
            out.append(line)
    if missing:
        raise AssertionError(f"{ENV_FILE} no longer sets {sorted(missing)}")
    return "\n".join(out) + "\n"


def read_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines, as systemd's EnvironmentFile reads them (no quoting is used in ours)."""
    env = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def _expand(value: str, env: Mapping[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], value)


def node_command(
    unit_text: str, env_text: str, *, credentials: Path, secrets: Path
) -> tuple[list[str], dict[str, str]]:
    """What systemd would run for the unit: ExecStart's argv and the environment it gets.

    The unit's LoadCredential files (under /etc/bloodcert/secrets/) are read from `secrets` and copied into
    `credentials`, which stands for systemd's %d.
    """
    env: dict[str, str] = {}
    argv: list[str] = []
    credentials.mkdir(mode=0o700, parents=True, exist_ok=True)
    for key, value in unit_lines(unit_text):
        if key == "EnvironmentFile":
            env.update(read_env_file(env_text))
        elif key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting.replace("%d", str(credentials))
        elif key == "LoadCredential":
            name, _, source = value.partition(":")
            assert source.startswith("/etc/bloodcert/secrets/"), source
            (credentials / name).unlink(missing_ok=True)  # read-only after the previous start
            shutil.copyfile(secrets / Path(source).name, credentials / name)
            os.chmod(credentials / name, 0o400)
        elif key == "ExecStart":
            argv = [_expand(part, env) for part in shlex.split(value)]
    assert argv and argv[0] == UNIT_BINARY, f"{UNIT}: ExecStart no longer runs {UNIT_BINARY}"
    return [str(BIN / "bloodcert"), *argv[1:]], env


def base_environment() -> dict[str, str]:
    """This test run's environment (PATH, PYTHONPATH) without any BLOODCERT_* setting of its own.

    PYTHONPATH's folders are made absolute: the nodes run in folders of their own and must import the
    code under test.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOODCERT_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep)
        )
    return env


@dataclass
class Node:
    """One `bloodcert serve` node, its own data directory, key directory copy and credentials."""

    name: str
    folder: Path
    settings: dict[str, str]  # values for the EnvironmentFile
    secrets: Path
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "node.log"

    def command(self) -> tuple[list[str], dict[str, str]]:
        values = {
            **self.settings,
            "BIND_HOST": "127.0.0.1",
            "BIND_PORT": str(self.port),
            "BLOODCERT_DATA_DIR": str(self.folder / "data"),
            "BLOODCERT_KEY_DIR": str(self.folder / "issuer-keys"),
            "BLOODCERT_METRICS_HOST": "127.0.0.1",
            "BLOODCERT_METRICS_PORT": str(self.metrics_port),
        }
        extra = {k: v for k, v in values.items() if k not in read_env_file(ENV_FILE.read_text())}
        rendered = render_env_file(ENV_FILE.read_text(), {k: v for k, v in values.items() if k not in extra})
        # Settings a test adds (rate limits for the test, the replica) go after the operator's lines.
        rendered += "".join(f"{k}={v}\n" for k, v in extra.items())
        (self.folder / "bloodcert.env").write_text(rendered)
        return node_command(
            UNIT.read_text(), rendered, credentials=self.folder / "credentials", secrets=self.secrets
        )

    def start(self) -> None:
        argv, unit_env = self.command()
        self.proc = spawn(argv, {**base_environment(), **unit_env}, self.log, cwd=self.folder)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"node {self.name} exited: {self.log.read_text()[-3000:]}")
            try:
                return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout, f"node {self.name} was not ready", step=0.2)

    def kill(self) -> None:
        """SIGKILL to the server and its workers at once: the machine lost power."""
        _kill_group(self.proc)

    def stop(self) -> None:
        _kill_group(self.proc, signal.SIGTERM)

    def cpu_seconds(self) -> float:
        """CPU used so far by the node's server process and its workers."""
        assert self.proc is not None
        return process_cpu_seconds(self.proc.pid)

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples with these labels on the node's metrics listener (0 when none)."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        wanted = [f'{key}="{value}"' for key, value in labels.items()]
        values = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.split("{", 1)[0].split(" ", 1)[0] == name and all(label in line for label in wanted)
        ]
        return sum(values)


# ---- nginx ----------------------------------------------------------------------------------------------


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, for the TLS listener."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    crt, pem = folder / "bloodcert.crt", folder / "bloodcert.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(pem, 0o600)
    return crt, pem


def render_nginx(text: str, *, nodes: list[int], http_port: int, https_port: int, folder: Path) -> str:
    """deploy/nginx/bloodcert.conf with this machine's ports and paths (each replaced exactly once).

    With fewer nodes than the file's upstream servers, the extra server lines are left out.
    """
    upstreams = re.findall(r"^\s*server (10\.0\.0\.\d+:8000) .*\n", text, flags=re.MULTILINE)
    assert 1 <= len(nodes) <= len(upstreams) == 2, f"{NGINX_CONF}: two upstream servers expected, {upstreams}"
    swaps = [
        (f"server {old} ", f"server 127.0.0.1:{port} ") for old, port in zip(upstreams, nodes, strict=False)
    ]
    for line in re.findall(r"^\s*server 10\.0\.0\.\d+:8000 .*\n", text, flags=re.MULTILINE)[len(nodes) :]:
        text = text.replace(line, "")
    swaps += [
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
    ]
    for old, new in swaps:
        assert text.count(old) == 1, f"{NGINX_CONF}: {old!r} should appear once"
        text = text.replace(old, new)
    return text.replace("/var/log/nginx/", f"{folder}/logs/").replace("/etc/nginx/tls/", f"{folder}/tls/")


@dataclass
class Nginx:
    """nginx, unprivileged, under a prefix folder: a stand-in nginx.conf that includes ours."""

    folder: Path
    nodes: list[int]
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def access_log(self) -> Path:
        return self.folder / "logs" / "bloodcert.access.log"

    @property
    def certificate(self) -> Path:
        return self.folder / "tls" / "bloodcert.crt"

    def start(self) -> None:
        for sub in ("logs", "tmp"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self_signed(self.folder / "tls")
        site = render_nginx(
            NGINX_CONF.read_text(),
            nodes=self.nodes,
            http_port=self.http_port,
            https_port=self.https_port,
            folder=self.folder,
        )
        (self.folder / "bloodcert.conf").write_text(site)
        tmp = self.folder / "tmp"
        user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the files made here
        temp_paths = "".join(
            f"    {kind}_temp_path {tmp}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (self.folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n{temp_paths}    include {self.folder}/bloodcert.conf;\n}}\n"
        )
        check = subprocess.run(self._argv("-t"), capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{check.stderr}")
        self.proc = spawn(self._argv(), os.environ, self.folder / "logs" / "nginx.out")
        wait_until(lambda: port_open(self.https_port), 20, "nginx did not listen")

    def _argv(self, *extra: str) -> list[str]:
        directives = f"daemon off; pid {self.folder}/nginx.pid; error_log {self.folder}/logs/error.log warn;"
        return [
            NGINX,
            "-p",
            str(self.folder),
            "-c",
            str(self.folder / "nginx.conf"),
            "-g",
            directives,
            *extra,
        ]

    def kill(self) -> None:
        _kill_group(self.proc)

    def log_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def upstreams_of(self, request_id: str, *, wait_s: float = 5.0) -> list[str]:
        """The nodes (ip:port) nginx tried for the request with this id, in order. nginx writes the access
        line once the answer has gone out, so a client can hold the answer before the line exists: wait
        for it a little."""
        deadline = time.monotonic() + wait_s
        while True:
            for line in self.log_lines():
                if f" rid={request_id} " in line:
                    tried = line.split(" upstream=", 1)[1].split(" ", 1)[0]
                    return [part.strip() for part in tried.split(",")]
            if time.monotonic() >= deadline:
                return []
            time.sleep(0.05)


# ---- the whole cluster ------------------------------------------------------------------------------------


@dataclass
class Cluster:
    """Redis, two nodes and nginx in front, over the database given (`database_url`) and its hot standby."""

    folder: Path
    database_url: str
    replica_url: str
    extra_settings: dict[str, str] = field(default_factory=dict)
    node_count: int = 2
    workers: int = 1
    redis: Redis | None = None
    nodes: list[Node] = field(default_factory=list)
    nginx: Nginx | None = None

    def start(self) -> None:
        secrets = self.folder / "secrets"
        secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in ("index.key", "audit.key", "data.key"):
            (secrets / name).write_text(os.urandom(32).hex() + "\n")
            os.chmod(secrets / name, 0o600)
        # The private servers trust local connections; the file is there because the unit hands it over.
        (secrets / "pgpass").write_text("127.0.0.1:*:*:postgres:unused\n")
        os.chmod(secrets / "pgpass", 0o600)
        self.redis = Redis(self.folder / "redis")
        self.redis.start()
        settings = {
            "SERVE_WORKERS": str(self.workers),
            "BLOODCERT_DATABASE_URL": self.database_url,
            "BLOODCERT_REPLICA_URL": self.replica_url,
            "BLOODCERT_REDIS_URL": self.redis.url,
            "BLOODCERT_TRUSTED_PROXIES": "127.0.0.1",
            **self.extra_settings,
        }
        self.nodes = [
            Node(name, self.folder / f"node-{name}", dict(settings), secrets)
            for name in "ab"[: self.node_count]
        ]
        for node in self.nodes:
            (node.folder / "data").mkdir(parents=True, exist_ok=True)
        self._prepare_database(self.nodes[0])
        for node in self.nodes[1:]:  # the operator copies the key directory to every node after a rotation
            shutil.copytree(self.nodes[0].folder / "issuer-keys", node.folder / "issuer-keys")
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready()
        self.nginx = Nginx(self.folder / "nginx", [node.port for node in self.nodes])
        self.nginx.start()

    def _prepare_database(self, node: Node) -> None:
        """`bloodcert db upgrade` and `bloodcert keys rotate`, with the node's own settings."""
        argv, unit_env = node.command()
        env = {**base_environment(), **unit_env}
        for args in (["db", "upgrade"], ["keys", "rotate"]):
            done = subprocess.run(
                [argv[0], *args], env=env, capture_output=True, text=True, check=False, timeout=120
            )
            if done.returncode != 0:
                raise RuntimeError(f"bloodcert {' '.join(args)} failed:\n{done.stderr[-3000:]}")

    def node_env(self, node: Node | None = None) -> dict[str, str]:
        """The environment a node runs with (for CLI commands and in-process access to its database)."""
        return (
            base_environment()
            | node_command(
                UNIT.read_text(),
                (node or self.nodes[0]).folder.joinpath("bloodcert.env").read_text(),
                credentials=(node or self.nodes[0]).folder / "credentials",
                secrets=self.folder / "secrets",
            )[1]
        )

    def key(self, name: str) -> bytes:
        """One of the cluster's secret keys (index.key, audit.key, data.key)."""
        return bytes.fromhex((self.folder / "secrets" / name).read_text().strip())

    def client(self, source: str = "127.0.0.1", timeout: float = 15) -> httpx.Client:
        """An HTTPS client of nginx from a loopback address of its own (the per-client limits' key)."""
        context = ssl.create_default_context(cafile=str(self.nginx_.certificate))
        transport = httpx.HTTPTransport(local_address=source, verify=context)
        return httpx.Client(base_url=self.nginx_.url, transport=transport, timeout=timeout)

    @property
    def nginx_(self) -> Nginx:
        assert self.nginx is not None
        return self.nginx

    def close(self) -> None:
        """Kill every process, whatever state each is in."""
        for stop in [self.nginx, *self.nodes, self.redis]:
            if stop is not None:
                with contextlib.suppress(Exception):
                    stop.kill()


@contextlib.contextmanager
def running_cluster(folder: Path, pair: PgPair, **options: Any) -> Iterator[Cluster]:
    """A started cluster over the pair's `bloodcert` database, closed (every process killed) on the way
    out, even after a failure."""
    urls = (
        pair.primary.url("bloodcert", driver="postgresql"),
        pair.replica.url("bloodcert", driver="postgresql"),
    )
    cluster = Cluster(folder, *urls, **options)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
