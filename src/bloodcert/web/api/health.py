"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get

from bloodcert.web.state import AppState


@get("/healthz", media_type=MediaType.TEXT, include_in_schema=True, sync_to_thread=False)
def healthz() -> str:
    """Alive: answers without touching the database."""
    return "ok"


@get("/readyz", sync_to_thread=False)
def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready: the database answers."""
    state = AppState.of(request)
    checks = {"database": state.db.ping()}
    ok = all(checks.values())
    return Response({"ready": ok, "checks": checks}, status_code=200 if ok else 503)
