"""Security headers on every response: a strict CSP (no inline script or style), framing and sniffing off."""

from __future__ import annotations

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
