"""Liveness and readiness."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from litestar import MediaType, Request, Response, get

from bloodcert.errors import NotConfigured
from bloodcert.services.certificates import CertificateIssuer
from bloodcert.web.state import AppState


@get("/healthz", media_type=MediaType.TEXT, include_in_schema=True, sync_to_thread=False)
def healthz() -> str:
    """Alive: answers without touching the database."""
    return "ok"


def _can_sign(state: AppState) -> bool:
    try:
        with state.db.reading() as uow:
            CertificateIssuer.open(uow, state.signing)
    except NotConfigured:
        return False
    return True


@get("/readyz", sync_to_thread=False)
def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready: the database answers."""
    state = AppState.of(request)
    checks = {"database": state.db.ping(), "signing_keys": state.db.ping() and _can_sign(state)}
    ok = all(checks.values())
    return Response({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


_FAVICON = files("bloodcert.web").joinpath("static/favicon.svg").read_bytes()


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon() -> Response[bytes]:
    """The site icon (a blood drop), so browsers do not log a 404."""
    return Response(_FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
