"""Rendered certificates (SVG ~30 ms, PDF ~0.5 s of CPU): cached by content, drawn off the event loop.

The cache key is a hash of everything the drawing shows (the certificate view) and the format, so a
certificate is drawn once for as long as it stays in the cache, and a change of status (a revoked
watermark) is a new key. The cache is bounded in bytes, least recently used first out. Drawing holds the
interpreter, so each worker draws at most `concurrency` certificates at a time, in a worker thread; the
requests beyond wait their turn without holding the event loop, and the per-session and per-client
limits in web/ratelimit.py (`render`, `render_session`) bound how many can queue.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import anyio
import anyio.to_thread
import msgspec

from bloodcert.certs.render import CertificateView, render_pdf, render_svg

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
RENDERERS: dict[str, Callable[[CertificateView], bytes]] = {
    "svg": lambda view: render_svg(view).encode("utf-8"),
    "pdf": render_pdf,
}


def content_key(view: CertificateView, fmt: str) -> bytes:
    """SHA-256 over the format and every field the drawing shows."""
    return hashlib.sha256(fmt.encode() + b"\x00" + msgspec.json.encode(view)).digest()


class RenderCache:
    """Rendered documents by content key, at most `max_bytes` of them, drawn `concurrency` at a time."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, concurrency: int = 1) -> None:
        self.max_bytes = max_bytes
        self.concurrency = concurrency
        self.size = 0
        self.renders = 0  # documents drawn (cache misses), for tests and diagnostics
        self._items: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None

    def get(self, key: bytes) -> bytes | None:
        """The cached document, now the most recently used; None when absent."""
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: bytes, data: bytes) -> None:
        """Keep a document, dropping the least recently used ones beyond the byte bound."""
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.size -= len(old) if old is not None else 0
            self._items[key] = data
            self.size += len(data)
            while self.size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped)

    async def render(self, view: CertificateView, fmt: str) -> bytes:
        """The document, from the cache or drawn in a worker thread (at most `concurrency` at once)."""
        key = content_key(view, fmt)
        cached = self.get(key)
        if cached is not None:
            return cached
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.concurrency)
        return await anyio.to_thread.run_sync(self._draw, key, view, fmt, limiter=self._limiter)

    def _draw(self, key: bytes, view: CertificateView, fmt: str) -> bytes:
        # Another request may have drawn it while this one waited for the limiter.
        cached = self.get(key)
        if cached is not None:
            return cached
        data = RENDERERS[fmt](view)
        with self._lock:
            self.renders += 1
        self.put(key, data)
        return data
