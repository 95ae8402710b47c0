"""Security headers on every response: a strict CSP (no inline script or style), framing and sniffing off;
a body limit on every route, and the CSRF cookie checked before a body is read."""

from __future__ import annotations

import hmac
import re
from typing import Any

import msgspec
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import BaseRouteHandler
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, CSRFMiddleware, generate_csrf_hash
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from bloodcert.errors import UnsupportedMediaType

# Every asset is served by the app itself; data: and blob: images are the captcha and the camera/photo
# frames the verifier decodes in the browser. Nothing inline, nothing evaluated, nothing from elsewhere.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    # The verifier scans with the camera; nothing else may ask for a device or sensor.
    # The site finder may ask for the position (it goes only to this server, in the `near` field).
    "permissions-policy": "camera=(self), microphone=(), geolocation=(self), payment=(), usb=()",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
# Encoded once: every response carries them, so the hook only appends (no per-header search of the list).
_ENCODED = tuple((name.encode(), value.encode("latin-1")) for name, value in HEADERS.items())
_NAMES = frozenset(name for name, _ in _ENCODED)
_HSTS = (b"strict-transport-security", HSTS.encode())


async def security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook: adds the headers to the start of every HTTP response.

    Async on purpose: Litestar runs a synchronous hook in a worker thread, twice per response.
    """
    add_security_headers(message, scope)


def add_security_headers(message: Message, scope: Scope) -> None:
    """Add the headers to a response-start message (HSTS only when the request came over https)."""
    if message["type"] != "http.response.start":
        return
    # A response that set one of these itself is overridden: the policy is the platform's, not a page's.
    headers = [h for h in message.get("headers", ()) if bytes(h[0]).lower() not in _NAMES]
    headers.extend(_ENCODED)
    # Browsers ignore HSTS over plain http, and a demo on 127.0.0.1 must not pin itself to https.
    if scope.get("scheme") == "https":
        headers.append(_HSTS)
    message["headers"] = headers


def json_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse (415) a body that is not application/json, before it is read.

    A cross-site HTML form can post text/plain that happens to parse as JSON without a CORS preflight (a
    login CSRF: the victim's browser signed in to the attacker's account); application/json cannot be
    sent cross-site without one.
    """
    media_type = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")


# ---- request bodies ----------------------------------------------------------------------------------

# What a form or JSON body of this platform needs: the largest are a pasted QR text (4,096 characters, up to
# three times that percent-encoded) and a public key in PEM. The station API declares its own 2 MB.
DEFAULT_BODY_LIMIT = 16 * 1024
# Methods whose requests carry no body here: any byte of one is refused.
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


def body_limit(scope: Scope) -> int:
    """The most bytes this request's body may hold: its route's `request_max_body_size`, 0 without a body."""
    http: Any = scope
    if http["method"] in BODYLESS:
        return 0
    handler = http.get("route_handler")
    limit = handler.resolve_request_max_body_size() if handler is not None else None
    return DEFAULT_BODY_LIMIT if limit is None else int(limit)


class BodyLimitMiddleware:
    """Pure ASGI middleware: a body over its route's limit is refused with 413 before anything reads it.

    A declared Content-Length over the limit is answered at once; a body sent without one (chunked) is
    counted as it is read, and reading stops at the limit, whichever part of the app reads it (the CSRF
    check reads a form before the handler does).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http: Any = scope
        if http["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _payload_too_large(send, limit)
            return
        received = 0

        async def bounded() -> Any:
            nonlocal received
            message: Any = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestEntityTooLarge
            return message

        await self.app(scope, bounded, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _payload_too_large(send: Send, limit: int) -> None:
    body = msgspec.json.encode(
        {
            "type": "payload_too_large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"the body of this request may hold at most {limit} bytes",
        }
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"connection", b"close"),
    ]
    start: Any = {"type": "http.response.start", "status": 413, "headers": headers}
    await send(start)
    end: Any = {"type": "http.response.body", "body": body}
    await send(end)


# ---- CSRF before the body ------------------------------------------------------------------------------


class CSRFCookieFirstMiddleware:
    """Refuses an unsafe request to a CSRF-protected route that has no genuine CSRF cookie, before any read.

    Litestar's CSRF check reads a whole form to find its token before comparing it with the cookie; a
    request whose cookie is missing or not signed by this server cannot pass that comparison, so it is
    refused here (403, as the full check would) without reading a byte of its body. Requests with a
    genuine cookie go on to the full check, over a body already bounded by BodyLimitMiddleware.

    A request the CSRF check leaves alone (a route that opts out, or a path the configuration excludes:
    the bearer-token and signed APIs under /api/, health checks, static files) skips both checks and goes
    straight to the route, by the same rules the full check applies: which routes those are is decided by
    the route and its path only, never by a header the client sends, so no request can opt itself out.
    """

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        self.app = app
        self.config = config
        self.exclude = re.compile("|".join(config.exclude)) if config.exclude else None
        self.cookie = config.cookie_name.encode()
        # The app's own CSRF check (csrf_config) sits right below this middleware; what it would let through
        # unchecked goes to what is below it.
        self.unchecked: ASGIApp = app.app if isinstance(app, CSRFMiddleware) else app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http: Any = scope
        if http["type"] != "http":
            await self.app(scope, receive, send)
            return
        guarded = self._guarded(http)
        if guarded and http["method"] not in self.config.safe_methods:
            self._check_cookie(http)
        handler = http.get("route_handler")
        # Litestar's check reads a mount's raw path: a mount always goes through it, which decides.
        mount = handler is not None and getattr(handler, "is_mount", False)
        await (self.app if guarded or mount else self.unchecked)(scope, receive, send)

    def _check_cookie(self, scope: Any) -> None:
        cookie = _cookie(scope["headers"], self.cookie)
        if cookie is None or not genuine_csrf_token(cookie, self.config.secret):
            raise PermissionDeniedException("CSRF token verification failed")

    def _guarded(self, scope: Any) -> bool:
        handler = scope.get("route_handler")
        if handler is not None and handler.opt.get(self.config.exclude_from_csrf_key):
            return False
        return not (self.exclude is not None and self.exclude.search(scope["path"]))


def genuine_csrf_token(token: str, secret: str) -> bool:
    """True when the token (random part + its HMAC, as Litestar makes them) was signed with the secret."""
    random_part, mac = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    return len(random_part) == CSRF_SECRET_LENGTH and hmac.compare_digest(
        mac, generate_csrf_hash(random_part, secret)
    )


def _cookie(headers: Any, name: bytes) -> str | None:
    for header, value in headers:
        if header == b"cookie":
            for part in value.split(b";"):
                key, sep, val = part.strip().partition(b"=")
                if sep and key == name:
                    return str(val.decode("latin-1"))
    return None
