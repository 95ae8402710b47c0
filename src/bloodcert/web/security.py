"""Security headers on every response: a strict CSP (no inline script or style), framing and sniffing off."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

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
    "permissions-policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


async def security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook: adds the headers to the start of every HTTP response.

    Async on purpose: Litestar runs a synchronous hook in a worker thread, twice per response.
    """
    add_security_headers(message, scope)


def add_security_headers(message: Message, scope: Scope) -> None:
    """Add the headers to a response-start message (HSTS only when the request came over https)."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name] = value
    # Browsers ignore HSTS over plain http, and a demo on 127.0.0.1 must not pin itself to https.
    if scope.get("scheme") == "https":
        headers["strict-transport-security"] = HSTS
