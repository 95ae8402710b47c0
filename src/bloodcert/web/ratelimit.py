"""Abuse limits (OWASP API4): per client on login, captcha and verify; per client and key on the station API.

Counting uses the `limits` library, in memory per worker or in Redis when BLOODCERT_REDIS_URL is set (then
the limit holds across every worker and machine). Over the limit: 429 problem+json with Retry-After.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from limits import RateLimitItem, parse, storage, strategies
from litestar.types import ASGIApp, Receive, Scope, Send

# (method, path, limit name): a path ending in "/" matches as a prefix, any other path exactly.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/api/v1/auth/login", "login"),
    ("POST", "/api/v1/auth/captcha", "captcha"),
    ("POST", "/api/v1/verify", "verify"),
    ("POST", "/verify", "verify"),
    ("POST", "/api/v1/station/", "station"),
    ("GET", "/api/v1/station/", "station"),
    ("GET", "/api/v1/auth/providers/", "provider"),
    ("POST", "/console/login", "console_login"),
)
LOGIN_PAGE = ("POST", "/")
DEFAULT_LIMITS: Mapping[str, str] = {
    "login": "10/minute",
    "login_page": "10/minute",
    "captcha": "30/minute",
    "verify": "60/second",
    "station": "50/second",
    "provider": "30/minute",
    "console_login": "10/minute",
}
_KEYID = re.compile(rb'keyid="([^"]{1,64})"')


@dataclass(frozen=True, slots=True)
class Limits:
    """Parsed limits by name."""

    items: dict[str, RateLimitItem]

    @classmethod
    def from_settings(cls, overrides: Mapping[str, str]) -> Limits:
        """DEFAULT_LIMITS, with per-name overrides such as {"verify": "5000/second"}."""
        merged = {**DEFAULT_LIMITS, **overrides}
        return cls({name: parse(text) for name, text in merged.items()})


def _route(method: str, path: str) -> str | None:
    if (method, path) == LOGIN_PAGE:
        return "login_page"
    for route_method, prefix, name in ROUTES:
        if method == route_method and (path == prefix or (prefix.endswith("/") and path.startswith(prefix))):
            return name
    return None


def _key(scope: Scope, name: str) -> str:
    client = scope.get("client")
    key = client[0] if client else "unknown"
    if name == "station":
        # A station's limit follows its key id as well, so that one station cannot starve the others.
        for header, value in scope["headers"]:
            if header == b"signature-input" and (match := _KEYID.search(value)):
                return f"{key}|{match.group(1).decode('latin-1')}"
    return key


class RateLimitMiddleware:
    """Pure ASGI middleware in front of the app: cheap, and it refuses before any parsing."""

    def __init__(self, app: ASGIApp, *, limits: Limits, storage_uri: str = "memory://") -> None:
        self.app = app
        self.limits = limits
        self.limiter = strategies.FixedWindowRateLimiter(storage.storage_from_string(storage_uri))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http: Any = scope
        if http["type"] == "http":
            name = _route(http["method"], http["path"])
            item = self.limits.items.get(name) if name else None
            if item is not None and name is not None:
                key = _key(scope, name)
                if not self.limiter.hit(item, name, key):
                    reset = self.limiter.get_window_stats(item, name, key).reset_time
                    await _too_many(send, max(1, math.ceil(reset - time.time())))
                    return
        await self.app(scope, receive, send)


async def _too_many(send: Send, retry_after: int) -> None:
    body = msgspec.json.encode(
        {
            "type": "too_many_requests",
            "title": "Too many requests",
            "status": 429,
            "detail": f"slow down; try again in {retry_after} s",
        }
    )
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
