"""Who the client is: the one place the client address is derived, for limits, throttling and the audit.

A forwarded address (X-Forwarded-For, or RFC 7239 Forwarded) is believed only when the peer that sent it
is a proxy named in BLOODCERT_TRUSTED_PROXIES (none by default): otherwise anyone could pick their own
address with a header, and every per-client limit and audit entry would be theirs to choose. Behind a
chain of trusted proxies the client is the right-most address that is not one of them.

When both headers arrive, X-Forwarded-For is the one read, since it is what most proxies write; a proxy
that writes only Forwarded must drop any X-Forwarded-For its clients send.

The scheme the client used (`X-Forwarded-Proto: https` from a TLS-terminating proxy) is believed from a
trusted proxy too: stations sign the URL they call, and the server must rebuild the same one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# for=192.0.2.60, for="[2001:db8::1]:4711", for="192.0.2.43:47011"; other values (unknown, _hidden) are
# not addresses and end the walk.
_FORWARDED_FOR = re.compile(r'for\s*=\s*"?\[?([0-9A-Fa-f:.]+?)\]?(?::\d+)?"?\s*(?:[;,]|$)', re.IGNORECASE)


def client_address(scope: Scope) -> str:
    """The client address of a request (after ProxyHeadersMiddleware has resolved forwarding)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client address of a request, for failure counting, limits and the audit log."""
    return client_address(connection.scope)


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Parse addresses and CIDR blocks (ValueError names the bad one)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _forwarded_chain(headers: Iterable[tuple[bytes, bytes]]) -> list[str] | None:
    """The addresses the proxies reported, first hop first (None when no proxy header is present)."""
    xff: list[str] = []
    forwarded: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            xff.extend(part.strip() for part in value.decode("latin-1").split(","))
        elif name == b"forwarded":
            forwarded.extend(m.group(1) for m in _FORWARDED_FOR.finditer(value.decode("latin-1")))
    if xff:
        return xff
    return forwarded or None


def resolve_client(peer: str, headers: Iterable[tuple[bytes, bytes]], networks: tuple[Network, ...]) -> str:
    """The client behind `peer`: walk the forwarded chain from the right while the hop is a trusted proxy."""
    if not networks or not _trusted(peer, networks):
        return peer
    chain = _forwarded_chain(headers)
    if not chain:
        return peer
    client = peer
    for hop in reversed(chain):
        if not _trusted(client, networks):
            break
        try:
            client = str(ipaddress.ip_address(hop))
        except ValueError:
            break  # an unparseable hop: the last trusted proxy is as far as anything is known
    return client


class ProxyHeadersMiddleware:
    """Pure ASGI middleware: rewrites the scope's client to the address the trusted proxies report."""

    def __init__(self, app: ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.networks and scope["type"] in ("http", "websocket") and scope.get("client"):
            peer = client_address(scope)
            client = resolve_client(peer, scope["headers"], self.networks)
            if client != peer:
                scope["client"] = (client, 0)
            raw: Any = scope
            scheme = forwarded_scheme(raw["headers"]) if raw["type"] == "http" else None
            if scheme is not None and _trusted(peer, self.networks):
                raw["scheme"] = scheme
        await self.app(scope, receive, send)


def forwarded_scheme(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """`http` or `https` as the nearest proxy's X-Forwarded-Proto says (its last value); None without one."""
    for name, value in headers:
        if name == b"x-forwarded-proto":
            last = value.decode("latin-1").rsplit(",", 1)[-1].strip().lower()
            return last if last in ("http", "https") else None
    return None
