"""Requests signed with RFC 9421 (stations, hospitals) as the web layer hands them to the services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request

from bloodcert.services.station_auth import SignedRequest, authenticate_station
from bloodcert.storage.rows import StationKeyRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.web.state import AppState


def signed_request(request: Request[Any, Any, Any], body: bytes) -> SignedRequest:
    """The parts of the request a signature covers, every header line kept as it came."""
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
    return SignedRequest(request.method, str(request.url), headers, body)


def signing_station(uow: UnitOfWork, request: Request[Any, Any, Any], signed: SignedRequest) -> StationKeyRow:
    """The station key that signed this request (and so the station), or 401; its nonce is remembered."""
    state = AppState.of(request)
    return authenticate_station(
        uow, signed, now=datetime.now(UTC), window_s=state.settings.signature_window_s
    )
