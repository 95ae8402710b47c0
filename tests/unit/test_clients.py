"""The client address: forwarded headers believed only from configured proxies, walked from the right."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from bloodcert.config import ConfigError, Settings
from bloodcert.web.clients import ProxyHeadersMiddleware, resolve_client, trusted_networks

PROXIES = trusted_networks(["10.0.0.0/8", "2001:db8::/32"])


def _headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(name.replace("_", "-").encode(), value.encode()) for name, value in values.items()]


def test_forwarded_headers_from_an_untrusted_peer_are_ignored() -> None:
    headers = _headers(x_forwarded_for="1.2.3.4", forwarded="for=5.6.7.8")
    assert resolve_client("203.0.113.9", headers, PROXIES) == "203.0.113.9"
    assert resolve_client("203.0.113.9", headers, ()) == "203.0.113.9"


def test_nothing_is_trusted_by_default() -> None:
    assert Settings.from_env({}).trusted_proxies == ()
    assert (
        resolve_client("127.0.0.1", _headers(x_forwarded_for="1.2.3.4"), trusted_networks([])) == "127.0.0.1"
    )


def test_a_trusted_proxy_names_the_client() -> None:
    assert resolve_client("10.0.0.5", _headers(x_forwarded_for="198.51.100.7"), PROXIES) == "198.51.100.7"


def test_an_address_the_client_put_in_front_is_not_believed() -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the address it saw.
    headers = _headers(x_forwarded_for="1.1.1.1, 198.51.100.7")
    assert resolve_client("10.0.0.5", headers, PROXIES) == "198.51.100.7"


def test_a_chain_of_trusted_proxies_is_walked_back() -> None:
    headers = _headers(x_forwarded_for="198.51.100.7, 10.1.1.1, 10.2.2.2")
    assert resolve_client("10.0.0.5", headers, PROXIES) == "198.51.100.7"


def test_rfc_7239_forwarded_is_read_when_there_is_no_x_forwarded_for() -> None:
    headers = _headers(forwarded='for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"')
    assert resolve_client("10.0.0.5", headers, PROXIES) == "192.0.2.60"
    assert resolve_client("10.0.0.5", _headers(forwarded="for=unknown"), PROXIES) == "10.0.0.5"


def test_the_setting_takes_addresses_and_blocks_and_refuses_anything_else() -> None:
    env = {"BLOODCERT_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}
    assert Settings.from_env(env).trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        Settings.from_env({"BLOODCERT_TRUSTED_PROXIES": "proxy.example"})


def _scope_after_proxy_headers(peer: str, **headers: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(scope: Any, _receive: Any, _send: Any) -> None:
        seen.update(scope)

    scope = {"type": "http", "scheme": "http", "client": (peer, 5000), "headers": _headers(**headers)}
    # In a thread of its own: another test may have left an event loop running in this one.
    runner = threading.Thread(
        target=anyio.run, args=(ProxyHeadersMiddleware(app, PROXIES), scope, None, None)
    )
    runner.start()
    runner.join(timeout=10)
    return seen


def test_the_scheme_a_trusted_tls_proxy_reports_is_the_requests_scheme() -> None:
    # Stations sign the https URL they call; behind the proxy the server must rebuild that same URL.
    assert _scope_after_proxy_headers("10.0.0.5", x_forwarded_proto="https")["scheme"] == "https"
    assert _scope_after_proxy_headers("10.0.0.5", x_forwarded_proto="http, https")["scheme"] == "https"
    assert _scope_after_proxy_headers("10.0.0.5", x_forwarded_proto="gopher")["scheme"] == "http"
    assert _scope_after_proxy_headers("203.0.113.9", x_forwarded_proto="https")["scheme"] == "http"
