"""Abuse limits (OWASP API4): per client on login, captcha and verify; per client and key on the station API;
per client on every request without credentials (`anonymous`) and on refusals (`refused`, 401 and 403);
per client and per session on rendered certificates and volunteer-hours statements (`render`,
`render_session`).

A client over its `refused` limit is answered 429 on every request until the window ends, before any
handler runs or anything is written: failed station signatures (whatever key id they name), failed
sessions and console refusals all count against the client's address.

Every worker counts against one limit. With BLOODCERT_REDIS_URL set, every limit is counted in Redis (the
`limits` library), across every worker and machine. Without it, and while Redis cannot be reached:

- the guessing limits (login, captcha, real-name providers, console login) are counted in the database,
  one fixed window per client, exact across workers: they guard against guessing, and a write per
  attempt costs little next to a login;
- the volume limits (verify, station) are counted in each worker's memory, each allowing its share of the
  limit (limit ÷ BLOODCERT_WORKERS, which `bloodcert serve` sets): the kernel spreads connections over
  the workers, so the whole holds to within a connection's worth. A database write per verification
  would cost more than the verification.

Losing Redis never stops the service and never lifts a limit: each check that cannot reach Redis is
counted as above instead (exact for the guessing limits, each worker's share for the volume limits), with a
warning in the log and `bloodcert_rate_limits_counted_locally_total`; Redis is tried again after a second.
Nonces never depend on Redis (services/station_auth.py keeps them in the database).

Over the limit: 429 problem+json with Retry-After. The client is the address web/clients.py derives.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
import msgspec
import redis
from limits import RateLimitItem, parse, storage, strategies
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from bloodcert import metrics
from bloodcert.config import Settings
from bloodcert.domain.keyed import blind_index
from bloodcert.storage import redis_health
from bloodcert.storage.uow import Database
from bloodcert.web.clients import client_address

log = logging.getLogger("bloodcert.ratelimit")

# (method, path, limit name): a path ending in "/" matches as a prefix, any other path exactly.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/api/v1/auth/login", "login"),
    ("POST", "/api/v1/auth/captcha", "captcha"),
    ("POST", "/api/v1/verify", "verify"),
    ("POST", "/verify", "verify"),
    ("POST", "/api/v1/station/", "station"),
    ("GET", "/api/v1/station/", "station"),
    ("POST", "/api/v1/hospital/", "hospital"),
    ("GET", "/api/v1/hospital/", "hospital"),
    ("GET", "/api/v1/auth/providers/", "provider"),
    ("POST", "/console/login", "console_login"),
    # Uploads of documents (claims, relatives' proofs, answers), up to 50 MiB each.
    ("POST", "/api/v1/me/claims", "upload"),
    ("POST", "/api/v1/me/claims/", "upload"),
    ("POST", "/api/v1/me/relatives", "upload"),
    ("POST", "/api/v1/me/relatives/", "upload"),
    ("POST", "/me/claims/", "upload"),
    ("POST", "/me/relatives", "upload"),
    ("POST", "/me/relatives/", "upload"),
    ("POST", "/api/v1/me/corrections", "correction"),
    ("POST", "/me/corrections", "correction"),
)
LOGIN_PAGE = ("POST", "/")
# Counted in the database when there is no Redis (see the module's docstring).
GUESSING_LIMITS = frozenset({"login", "login_page", "captcha", "provider", "console_login"})
DEFAULT_LIMITS: Mapping[str, str] = {
    "login": "10/minute",
    "login_page": "10/minute",
    "captcha": "30/minute",
    "verify": "60/second",
    "station": "50/second",
    "hospital": "400/second",
    "provider": "30/minute",
    "console_login": "10/minute",
    # Every request without a session, token or signature, whatever the route.
    "anonymous": "30/second",
    # 401 and 403 answers; over it, every request of the client is 429 until the window ends.
    "refused": "60/minute",
    # A certificate drawn as SVG or PDF costs tens to hundreds of milliseconds of CPU.
    "render": "60/minute",
    "render_session": "20/minute",
    # Documents a donor uploads (and the claim form's quotes): counted per session, or per client without one.
    "upload": "60/hour",
    # Donors' correction and back-fill requests: each one is work for a station.
    "correction": "20/hour",
}
RENDER_PREFIX = "/api/v1/me/certificates/"
RENDER_SUFFIXES = (".svg", ".pdf")
# Other documents drawn on request, counted against the same limits as certificates.
RENDER_PATHS = frozenset({"/api/v1/me/volunteer-hours.pdf"})
# A request that carries any of these is not anonymous (whether the credential is good is the handler's
# question; a bad one is a refusal, and refusals have their own limit).
CREDENTIAL_HEADERS = frozenset({b"authorization", b"signature"})
CREDENTIAL_COOKIES = (b"bloodcert_session=", b"bloodcert_staff=")
_KEYID = re.compile(rb'keyid="([^"]{1,64})"')
_SESSION_COOKIE = re.compile(rb"(?:^|;)\s*bloodcert_session=([^;]+)")


@dataclass(frozen=True, slots=True)
class Limits:
    """Parsed limits by name."""

    items: dict[str, RateLimitItem]

    @classmethod
    def from_settings(cls, overrides: Mapping[str, str]) -> Limits:
        """DEFAULT_LIMITS, with per-name overrides such as {"verify": "5000/second"}."""
        merged = {**DEFAULT_LIMITS, **overrides}
        return cls({name: parse(text) for name, text in merged.items()})

    def shares(self, workers: int, names: Iterable[str]) -> Limits:
        """These limits with the named ones divided among `workers` (each at least 1 per window)."""
        chosen = set(names)
        return Limits(
            {
                name: type(item)(max(1, item.amount // workers), item.multiples, item.namespace)
                if name in chosen and workers > 1
                else item
                for name, item in self.items.items()
            }
        )


class Counter(Protocol):
    """Counts hits of one client against one limit."""

    blocking: bool  # True: call it off the event loop

    def hit(self, item: RateLimitItem, name: str, key: str) -> float | None:
        """None when the hit is within the limit; otherwise seconds until the window ends."""


# A check waits at most this long for Redis before it is counted locally instead.
REDIS_TIMEOUT_S = 0.5


class LimitsCounter:
    """Fixed windows with `limits`: in Redis (every worker and machine), or in memory while Redis is lost."""

    def __init__(self, storage_uri: str) -> None:
        self.blocking = not storage_uri.startswith("memory")
        options: dict[str, Any] = {}
        if self.blocking:
            options = {"socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S}
        self.limiter = strategies.FixedWindowRateLimiter(storage.storage_from_string(storage_uri, **options))

    def hit(self, item: RateLimitItem, name: str, key: str) -> float | None:
        if self.limiter.hit(item, name, key):
            return None
        return self.limiter.get_window_stats(item, name, key).reset_time - time.time()

    def peek(self, item: RateLimitItem, name: str, key: str) -> float | None:
        """Like `hit`, without counting: None while the client has hits left in the window."""
        if self.limiter.test(item, name, key):
            return None
        return self.limiter.get_window_stats(item, name, key).reset_time - time.time()


class RedisOrLocal:
    """Counts in Redis; while Redis cannot be reached, in `local` against `local_limits` (the module's
    docstring says which counter and which share), trying Redis again every redis_health.RETRY_S."""

    blocking = True

    def __init__(self, shared: LimitsCounter, local: Mapping[str, Counter], local_limits: Limits) -> None:
        self.shared = shared
        self.local = local
        self.local_limits = local_limits
        self.retry_at = 0.0  # time.monotonic() before which Redis is not tried
        self.lost = False

    def hit(self, item: RateLimitItem, name: str, key: str) -> float | None:
        answered, wait = self._in_redis(self.shared.hit, item, name, key)
        if answered:
            return wait
        metrics.rate_limit_counted_locally()
        return self.local[name].hit(self.local_limits.items[name], name, key)

    def peek(self, item: RateLimitItem, name: str, key: str) -> float | None:
        """Like `hit`, without counting (the local counter of `name` must be a LimitsCounter)."""
        answered, wait = self._in_redis(self.shared.peek, item, name, key)
        if answered:
            return wait
        local = self.local[name]
        assert isinstance(local, LimitsCounter | MemoryCounter)
        return local.peek(self.local_limits.items[name], name, key)

    def _in_redis(
        self,
        count: Callable[[RateLimitItem, str, str], float | None],
        item: RateLimitItem,
        name: str,
        key: str,
    ) -> tuple[bool, float | None]:
        """(True, Redis's answer); (False, None) while Redis is not tried, or when it fails (noted)."""
        if time.monotonic() < self.retry_at:
            return False, None
        try:
            wait = count(item, name, key)
        except redis.RedisError as exc:
            self._lose(exc)
            return False, None
        self._found()
        return True, wait

    def _lose(self, exc: Exception) -> None:
        redis_health.lost()
        self.retry_at = time.monotonic() + redis_health.RETRY_S
        if not self.lost:
            self.lost = True
            log.warning(
                "Redis cannot be reached; rate limits are counted on this node until it can",
                extra={"fields": {"error": type(exc).__name__}},
            )

    def _found(self) -> None:
        if self.lost:
            self.lost = False
            log.warning("Redis can be reached again; rate limits are counted in Redis")


class MemoryCounter:
    """Fixed windows in this worker's memory, as `limits` counts them (a window opens at a client's first
    hit and lasts the limit's period), at the cost of a dictionary look-up: every request is counted or
    checked here, and `limits`' own memory storage costs tens of microseconds a hit.

    Ended windows are dropped every SWEEP_S seconds, so memory follows the clients of the last minutes.
    Called on the event loop only (`blocking` is False), so the read-modify-write of a window needs no lock.
    """

    blocking = False
    SWEEP_S = 60.0

    def __init__(self) -> None:
        self.windows: dict[tuple[str, str], list[float]] = {}  # (limit name, key) -> [ends, hits]
        self.sweep_at = time.monotonic() + self.SWEEP_S

    def hit(self, item: RateLimitItem, name: str, key: str) -> float | None:
        now = time.monotonic()
        if now >= self.sweep_at:
            self._sweep(now)
        window = self.windows.get((name, key))
        if window is None or window[0] <= now:
            self.windows[name, key] = window = [now + item.get_expiry(), 0]
        window[1] += 1
        return None if window[1] <= item.amount else window[0] - now

    def peek(self, item: RateLimitItem, name: str, key: str) -> float | None:
        """Like `hit`, without counting: None while the client has hits left in the window."""
        window = self.windows.get((name, key))
        if window is None:
            return None
        now = time.monotonic()
        return None if window[0] <= now or window[1] < item.amount else window[0] - now

    def _sweep(self, now: float) -> None:
        self.windows = {k: w for k, w in self.windows.items() if w[0] > now}
        self.sweep_at = now + self.SWEEP_S


@dataclass(frozen=True, slots=True)
class Refusals:
    """The `refused` limit: 401s and 403s per client, counted in memory or Redis (never the database)."""

    counter: LimitsCounter | RedisOrLocal | MemoryCounter
    item: RateLimitItem

    def hit(self, client: str) -> float | None:
        """Count a refusal; seconds to wait when the client is over the limit (nothing may be written)."""
        return self.counter.hit(self.item, "refused", client)

    def peek(self, client: str) -> float | None:
        """Seconds to wait when the client is already over the limit."""
        return self.counter.peek(self.item, "refused", client)


class DatabaseCounter:
    """Fixed windows in the database's rate_counters table, exact across workers. Clients are stored as
    keyed hashes, never as addresses; `bloodcert db prune` drops ended windows."""

    blocking = True

    def __init__(self, db: Database, key: bytes) -> None:
        self.db = db
        self.key = key

    def hit(self, item: RateLimitItem, name: str, key: str) -> float | None:
        window = float(item.get_expiry())
        now = time.time()
        # Windows aligned to the clock, like the `limits` library's fixed windows.
        digest = blind_index(self.key, f"{name}|{item}|{key}").hex()
        with self.db.transaction() as uow:
            count, ends = uow.rate_counters.hit(digest, now=now, window_s=window - now % window)
        return None if count <= item.amount else max(0.0, ends - now)


def _routes_by_method() -> dict[str, tuple[tuple[str, bool, str], ...]]:
    """ROUTES by method, in their order: (path, matches as a prefix, limit name)."""
    by: dict[str, list[tuple[str, bool, str]]] = {}
    for method, path, name in ROUTES:
        by.setdefault(method, []).append((path, path.endswith("/"), name))
    return {method: tuple(entries) for method, entries in by.items()}


_BY_METHOD = _routes_by_method()


def _route(method: str, path: str) -> str | None:
    if (method, path) == LOGIN_PAGE:
        return "login_page"
    for prefix, is_prefix, name in _BY_METHOD.get(method, ()):
        if path == prefix or (is_prefix and path.startswith(prefix)):
            return name
    return None


def _key(scope: Scope, name: str, client: str) -> str:
    if name == "upload":
        return _session_of(scope["headers"]) or client
    if name in ("station", "hospital"):
        # A station's (or hospital's) limit follows its key id as well, so that one cannot starve the others.
        for header, value in scope["headers"]:
            if header == b"signature-input" and (match := _KEYID.search(value)):
                return f"{client}|{match.group(1).decode('latin-1')}"
    return client


def _anonymous(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name in CREDENTIAL_HEADERS:
            return False
        if name == b"cookie" and any(c in value for c in CREDENTIAL_COOKIES):
            return False
    return True


def _session_of(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The session a render request names (bearer token or cookie), as a digest: never kept as given."""
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return hashlib.sha256(value[7:].strip()).hexdigest()
        if name == b"cookie" and (match := _SESSION_COOKIE.search(value)):
            return hashlib.sha256(match.group(1)).hexdigest()
    return None


def checks_of(scope: Scope, client: str | None = None) -> list[tuple[str, str]]:
    """The (limit name, key) pairs a request counts against, in the order they are counted."""
    http: Any = scope
    method, path, headers = http["method"], http["path"], http["headers"]
    if client is None:
        client = client_address(scope)
    checks: list[tuple[str, str]] = []
    if _anonymous(headers):
        checks.append(("anonymous", client))
    if (name := _route(method, path)) is not None:
        checks.append((name, _key(scope, name, client)))
    if method == "GET" and (
        (path.startswith(RENDER_PREFIX) and path.endswith(RENDER_SUFFIXES)) or path in RENDER_PATHS
    ):
        checks.append(("render", client))
        if (session := _session_of(headers)) is not None:
            checks.append(("render_session", session))
    return checks


class RateLimitMiddleware:
    """Pure ASGI middleware in front of the app: cheap, and it refuses before any parsing."""

    def __init__(
        self, app: ASGIApp, *, limits: Limits, counters: Mapping[str, Counter], refusals: Refusals
    ) -> None:
        self.app = app
        self.limits = limits
        self.counters = counters
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http: Any = scope
        if http["type"] == "http":
            wait = await self._wait(scope)
            if wait is not None:
                await _too_many(send, max(1, math.ceil(wait)))
                return
        await self.app(scope, receive, send)

    async def _wait(self, scope: Scope) -> float | None:
        """Seconds the client must wait, or None to let the request through (counted)."""
        client = client_address(scope)
        for name, key in checks_of(scope, client):
            item = self.limits.items.get(name)
            if item is None:
                continue
            counter = self.counters[name]
            if counter.blocking:
                wait = await anyio.to_thread.run_sync(counter.hit, item, name, key)
            else:
                wait = counter.hit(item, name, key)
            if wait is not None:
                return wait
        if self.refusals.counter.blocking:
            return await anyio.to_thread.run_sync(self.refusals.peek, client)
        return self.refusals.peek(client)


def refusals_for(settings: Settings) -> Refusals:
    """The `refused` limit of the settings (each worker's share, or shared in Redis)."""
    limits = Limits.from_settings(dict(settings.rate_limits))
    shares = limits.shares(settings.workers, {"refused"})
    if settings.redis_url:
        fallback = {"refused": LimitsCounter("memory://")}
        counter = RedisOrLocal(LimitsCounter(settings.redis_url), fallback, shares)
        return Refusals(counter, limits.items["refused"])
    return Refusals(MemoryCounter(), shares.items["refused"])


def middleware_for(settings: Settings, db: Database, refusals: Refusals) -> DefineMiddleware:
    """The limits of the settings, counted where the module's docstring says."""
    limits = Limits.from_settings(dict(settings.rate_limits))
    database = DatabaseCounter(db, settings.index_key)
    local_limits = limits.shares(settings.workers, set(limits.items) - GUESSING_LIMITS)
    if settings.redis_url:
        # Reached from the threads Redis checks run in, while Redis is lost: `limits`' own memory storage.
        fallback = LimitsCounter("memory://")
        local: dict[str, Counter] = {n: database if n in GUESSING_LIMITS else fallback for n in limits.items}
        shared = RedisOrLocal(LimitsCounter(settings.redis_url), local, local_limits)
        counters: dict[str, Counter] = dict.fromkeys(limits.items, shared)
        return DefineMiddleware(RateLimitMiddleware, limits=limits, counters=counters, refusals=refusals)
    memory = MemoryCounter()  # on the event loop
    local = {n: database if n in GUESSING_LIMITS else memory for n in limits.items}
    return DefineMiddleware(RateLimitMiddleware, limits=local_limits, counters=local, refusals=refusals)


def too_many_body(retry_after: int) -> bytes:
    """The 429 problem document."""
    return msgspec.json.encode(
        {
            "type": "too_many_requests",
            "title": "Too many requests",
            "status": 429,
            "detail": f"slow down; try again in {retry_after} s",
        }
    )


async def _too_many(send: Send, retry_after: int) -> None:
    body = too_many_body(retry_after)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/problem+json"),
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
        (b"content-length", str(len(body)).encode()),
    ]
    start: Any = {"type": "http.response.start", "status": 429, "headers": headers}
    await send(start)
    end: Any = {"type": "http.response.body", "body": body}
    await send(end)
