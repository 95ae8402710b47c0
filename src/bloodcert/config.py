"""One typed Settings object, read once from the environment and passed in."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path

from bloodcert.private_files import write_private

PREFIX = "BLOODCERT_"
DEFAULT_DATABASE_URL = "sqlite:///./bloodcert.db"


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """The real-name login platforms' settings, as given (identity/providers/registry.py checks them).

    Every field is BLOODCERT_<FIELD NAME IN CAPITALS>; the secrets may come from <NAME>_FILE instead.
    """

    alipay_app_id: str | None = None
    alipay_private_key: str | None = field(default=None, repr=False)
    alipay_public_key: str | None = None
    alipay_gateway: str | None = None
    alipay_authorize_url: str | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = field(default=None, repr=False)
    wechat_mini_app_id: str | None = None
    wechat_mini_app_secret: str | None = field(default=None, repr=False)
    wechat_open_base: str | None = None
    wechat_api_base: str | None = None
    wechat_realname_url: str | None = None
    baidu_client_id: str | None = None
    baidu_client_secret: str | None = field(default=None, repr=False)
    baidu_face_api_key: str | None = None
    baidu_face_secret_key: str | None = field(default=None, repr=False)
    baidu_face_plan_id: str | None = None
    baidu_face_min_score: str | None = None
    baidu_oauth_base: str | None = None
    baidu_aip_base: str | None = None
    baidu_face_page_url: str | None = None
    demo_login_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ProviderSettings:
        """Read every BLOODCERT_<PLATFORM>_* variable (or its _FILE)."""
        values = {}
        for name in cls.__dataclass_fields__:
            value = _get(env, name.upper())
            values[name] = value.strip() if value else None
        return cls(**values)


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Donor messages: quiet hours (Beijing time, "HH:MM"), caps, retries and the channels.

    A channel is on when its credentials are set: SMS (Alibaba Cloud), WeChat and Alipay subscription
    messages (the mini-programs' app ids and keys, and one template each).
    """

    quiet_start: clock_time = clock_time(21, 0)
    quiet_end: clock_time = clock_time(8, 0)
    daily_cap: int = 3
    max_attempts: int = 5
    callups_per_month: int = 2
    sms_access_key_id: str | None = None
    sms_access_key_secret: str | None = field(default=None, repr=False)
    sms_sign_name: str | None = None
    sms_template_code: str | None = None
    sms_endpoint: str | None = None
    wechat_message_app_id: str | None = None
    wechat_message_app_secret: str | None = field(default=None, repr=False)
    wechat_template_id: str | None = None
    alipay_template_id: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifySettings:
        """Read the BLOODCERT_NOTIFY_*, SMS_* and *_TEMPLATE_ID variables."""
        start, end = _get(env, "NOTIFY_QUIET_START"), _get(env, "NOTIFY_QUIET_END")
        return cls(
            quiet_start=_clock_time("NOTIFY_QUIET_START", start, clock_time(21, 0)),
            quiet_end=_clock_time("NOTIFY_QUIET_END", end, clock_time(8, 0)),
            daily_cap=int(_get(env, "NOTIFY_DAILY_CAP") or 3),
            max_attempts=int(_get(env, "NOTIFY_MAX_ATTEMPTS") or 5),
            callups_per_month=int(_get(env, "NOTIFY_CALLUPS_PER_MONTH") or 2),
            sms_access_key_id=_get(env, "SMS_ACCESS_KEY_ID"),
            sms_access_key_secret=_get(env, "SMS_ACCESS_KEY_SECRET"),
            sms_sign_name=_get(env, "SMS_SIGN_NAME"),
            sms_template_code=_get(env, "SMS_TEMPLATE_CODE"),
            sms_endpoint=_get(env, "SMS_ENDPOINT"),
            wechat_message_app_id=_get(env, "WECHAT_MESSAGE_APP_ID"),
            wechat_message_app_secret=_get(env, "WECHAT_MESSAGE_APP_SECRET"),
            wechat_template_id=_get(env, "WECHAT_TEMPLATE_ID"),
            alipay_template_id=_get(env, "ALIPAY_TEMPLATE_ID"),
        )


def _clock_time(name: str, value: str | None, default: clock_time) -> clock_time:
    if not value:
        return default
    try:
        return clock_time.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be a time of day, HH:MM (Beijing time)") from exc


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of the platform. Build it with `Settings.from_env()` or directly in tests."""

    database_url: str = DEFAULT_DATABASE_URL
    # A PostgreSQL hot standby of the database: donors' reads go there when it has replayed what they
    # must see (storage/replica.py); None: everything reads from the database.
    replica_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path("./var")
    demo: bool = False
    key_dir_override: Path | None = None
    # Keyed HMAC for the merge key and ID lookups: a stolen database alone must not reveal who donated.
    index_key: bytes = field(default=b"", repr=False)
    # Keys the audit log's hash chain, so that database access alone cannot rewrite history.
    audit_key: bytes = field(default=b"", repr=False)
    # Encrypts ID numbers, names, birth dates and raw records in the database (AES-256-GCM); kept off it.
    data_key: bytes = field(default=b"", repr=False)
    audit_retention_days: int = 365
    # buffered: a background flush every 50 ms; sync: each audit entry is written before the response
    # (see services/audit.py AuditSink). Logins and logouts are audited in their own transaction either way.
    audit_mode: str = "buffered"
    # Per-name overrides of the abuse limits in web/ratelimit.py, e.g. {"verify": "200/second"}.
    rate_limits: tuple[tuple[str, str], ...] = ()
    # Worker processes serving this database from this machine (`bloodcert serve` sets it): the volume
    # limits counted in memory give each worker its share.
    workers: int = 1
    # Proxies (addresses or CIDR blocks) whose X-Forwarded-For / Forwarded headers name the client; none by
    # default, so that no client can choose its own address for the per-client limits and the audit log.
    trusted_proxies: tuple[str, ...] = ()
    signature_window_s: int = 300
    max_batch_records: int = 1000
    issuer: str = "CN-NHC"
    cert_alg: str = "ES256"  # or SM2-SM3 (needs the `sm` extra)
    public_base_url: str = "http://127.0.0.1:8000"
    # Prometheus metrics on a listener of their own (`bloodcert serve`): off without a port, and on the
    # loopback address unless told otherwise, never on the public port.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # `bloodcert serve` logs JSON lines at this level; `info` adds one access line per request.
    log_level: str = "warning"
    # Online claims: working days a station has to decide its share, and the holiday calendar they skip
    # (a TOML file shaped like bloodcert/data/holidays/cn.toml; None: the shipped one).
    claim_due_working_days: int = 10
    holiday_calendar: Path | None = None
    # Calendar days a station has to answer a donor's correction or back-fill request before it escalates.
    correction_due_days: int = 15
    providers: ProviderSettings = field(default_factory=ProviderSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)

    @property
    def key_dir(self) -> Path:
        """The issuer's private keys (never in the database): BLOODCERT_KEY_DIR or DATA_DIR/keys."""
        return self.key_dir_override or self.data_dir / "keys"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read BLOODCERT_* variables (and *_FILE variants for secrets)."""
        env = os.environ if env is None else env
        data_dir = Path(_get(env, "DATA_DIR") or "./var")
        database_url = _normalise_db_url(_get(env, "DATABASE_URL") or DEFAULT_DATABASE_URL)
        return cls(
            database_url=database_url,
            replica_url=_replica_url(env, database_url),
            redis_url=_get(env, "REDIS_URL"),
            data_dir=data_dir,
            demo=(_get(env, "DEMO") or "").lower() in {"1", "true", "yes"},
            key_dir_override=Path(key_dir) if (key_dir := _get(env, "KEY_DIR")) else None,
            index_key=_secret_key(env, data_dir, "INDEX_KEY", "index.key"),
            audit_key=_secret_key(env, data_dir, "AUDIT_KEY", "audit.key"),
            data_key=_secret_key(env, data_dir, "DATA_KEY", "data.key"),
            audit_retention_days=_retention(env),
            audit_mode=_choice(env, "AUDIT_MODE", ("buffered", "sync"), "buffered"),
            rate_limits=_rate_limits(env),
            workers=max(1, int(_get(env, "WORKERS") or 1)),
            trusted_proxies=_trusted_proxies(env),
            signature_window_s=int(_get(env, "SIGNATURE_WINDOW_S") or 300),
            issuer=_get(env, "ISSUER") or "CN-NHC",
            cert_alg=_get(env, "CERT_ALG") or "ES256",
            public_base_url=(_get(env, "PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            metrics_port=_metrics_port(env),
            metrics_host=_get(env, "METRICS_HOST") or "127.0.0.1",
            log_level=_choice(env, "LOG_LEVEL", ("debug", "info", "warning", "error"), "warning"),
            claim_due_working_days=_positive(env, "CLAIM_DUE_WORKING_DAYS", 10),
            holiday_calendar=Path(calendar) if (calendar := _get(env, "HOLIDAY_CALENDAR")) else None,
            correction_due_days=_due_days(env),
            providers=ProviderSettings.from_env(env),
            notify=NotifySettings.from_env(env),
        )


def root_key_pin(env: Mapping[str, str] | None = None) -> str | None:
    """BLOODCERT_ROOT_KEY_SHA256: the national root public key's SHA-256, which offline verification pins.

    Read on its own, not through Settings: an offline verifier has no database, and reading Settings
    would make the server's secret keys on its disk.
    """
    return _get(os.environ if env is None else env, "ROOT_KEY_SHA256")


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name)
    if value:
        return value
    path = env.get(PREFIX + name + "_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{PREFIX}{name}_FILE points to {path!r}, which cannot be read: {exc}") from exc
    return None


def _normalise_db_url(url: str) -> str:
    # Operators write postgresql://…; SQLAlchemy needs the driver named to pick psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _replica_url(env: Mapping[str, str], database_url: str) -> str | None:
    url = _get(env, "REPLICA_URL")
    if not url:
        return None
    url = _normalise_db_url(url)
    check_replica(database_url, url)
    return url


def check_replica(database_url: str, replica_url: str) -> None:
    """ConfigError unless both URLs name PostgreSQL: a read replica is a PostgreSQL hot standby."""
    if not database_url.startswith("postgresql"):
        raise ConfigError(
            f"{PREFIX}REPLICA_URL needs a PostgreSQL {PREFIX}DATABASE_URL: SQLite has no replicas "
            "(unset REPLICA_URL, or move the database to PostgreSQL)"
        )
    if not replica_url.startswith("postgresql"):
        raise ConfigError(f"{PREFIX}REPLICA_URL must be a postgresql:// URL of a hot standby of the database")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = _get(env, name) or default
    if value not in allowed:
        raise ConfigError(f"{PREFIX}{name} must be one of {', '.join(allowed)}")
    return value


def _rate_limits(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """BLOODCERT_RATE_LIMITS="verify=200/second,login=20/minute" overrides single limits."""
    pairs = []
    for part in (_get(env, "RATE_LIMITS") or "").split(","):
        if part.strip():
            name, sep, limit = part.partition("=")
            if not sep or not limit.strip():
                raise ConfigError(f"{PREFIX}RATE_LIMITS takes name=limit pairs, e.g. verify=200/second")
            pairs.append((name.strip(), limit.strip()))
    return tuple(pairs)


def _trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    """BLOODCERT_TRUSTED_PROXIES="10.0.0.0/8,127.0.0.1": the proxies whose forwarding headers are believed."""
    entries = tuple(part.strip() for part in (_get(env, "TRUSTED_PROXIES") or "").split(",") if part.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"{PREFIX}TRUSTED_PROXIES takes addresses or CIDR blocks (10.0.0.0/8); {entry!r} is neither"
            ) from exc
    return entries


def _metrics_port(env: Mapping[str, str]) -> int | None:
    value = _get(env, "METRICS_PORT")
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"{PREFIX}METRICS_PORT must be a port number (1-65535)")
    return int(value)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = _get(env, name)
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{PREFIX}{name} must be a whole number of at least 1")
    return int(text)


def _due_days(env: Mapping[str, str]) -> int:
    days = int(_get(env, "CORRECTION_DUE_DAYS") or 15)
    if not 1 <= days <= 90:
        raise ValueError("BLOODCERT_CORRECTION_DUE_DAYS must be 1–90 (calendar days)")
    return days


def _retention(env: Mapping[str, str]) -> int:
    days = int(_get(env, "AUDIT_RETENTION_DAYS") or 365)
    if days < 180:
        raise ConfigError(
            f"{PREFIX}AUDIT_RETENTION_DAYS must be at least 180 (PIPL / 等保 2.0 keep six months)"
        )
    return days


def _secret_key(env: Mapping[str, str], data_dir: Path, name: str, filename: str) -> bytes:
    configured = _get(env, name)
    if configured:
        try:
            key = bytes.fromhex(configured)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}{name} must be hex (64 hex digits)") from exc
        if len(key) < 32:
            raise ConfigError(f"{PREFIX}{name} must hold at least 32 bytes (64 hex digits)")
        return key
    # Without a configured key, keep one beside the data so that restarts agree on it.
    path = data_dir / filename
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Private from the first byte, and never overwrite a key another process just made.
        with contextlib.suppress(FileExistsError):
            write_private(path, secrets.token_hex(32).encode("ascii"), "new")
    for _ in range(100):  # another process may have created the file and not yet written it
        text = path.read_text(encoding="ascii").strip()
        if text:
            return bytes.fromhex(text)
        time.sleep(0.01)
    raise ConfigError(f"{path} is empty; delete it to have a new key made, or set {PREFIX}{name}")
