"""Request ids and metrics: a plain ASGI wrapper around the whole app, so 404s and refusals are counted too.

It runs outside the framework's middleware: one clock read at the start, the status taken from the answer
as it goes out, and the route's template (never the raw path, which would carry ids) at the end. At log
level info it also writes one access line per request (method, route template, status, milliseconds).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from bloodcert import metrics
from bloodcert.web.logs import current_request_id, request_id_of, with_request_id

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
access_log = logging.getLogger("bloodcert.access")


class RequestMetrics:
    """Gives each HTTP request its id (for its log lines, and in its answer's X-Request-ID), then counts it
    by route template, method and status, and times it: one wrapper around the app, one send wrapper."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw: Any = scope  # lifespan scopes come through here too
        if raw["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(raw["headers"])
        token = current_request_id.set(request_id)
        encoded = request_id.encode("ascii")
        status = 500  # unless an answer starts: the server answers 500 for an app that raised

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_request_id(message.get("headers", ()), encoded)
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            method = raw.get("method", "")
            method = method if method in METHODS else "other"
            route = raw.get("path_template") or UNMATCHED
            elapsed = time.perf_counter() - started
            metrics.observe_request(route, method, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                fields = {"method": method, "route": route, "status": status, "ms": round(elapsed * 1000, 2)}
                access_log.info("request", extra={"fields": fields})
            current_request_id.reset(token)


def instrument(app: ASGIApp) -> ASGIApp:
    """The app with request ids (set first, so that every log line has one) and request metrics."""
    return RequestMetrics(app)
