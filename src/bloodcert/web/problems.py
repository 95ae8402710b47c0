"""RFC 9457 problem responses: the single mapping from errors to HTTP."""

from __future__ import annotations

import logging
import math
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from bloodcert.errors import AppError, NotEligible, ValidationFailed

log = logging.getLogger("bloodcert.web")

PROBLEM_JSON = "application/problem+json"

_HTTP_SLUGS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> Response[bytes]:
    """A problem+json response; the body never carries stack traces, SQL or paths."""
    body = {"type": slug, "title": title, "status": status, "detail": detail, **extra}
    headers = {"Cache-Control": "no-store"}
    return Response(msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def app_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Turn a domain error into its problem response; access-control failures are counted and audited."""
    assert isinstance(exc, AppError)
    if exc.status in (401, 403):
        wait = record_refusal(request, ANONYMOUS, "denied", request.url.path[:128], exc.slug[:16])
        if wait is not None:
            return too_many(wait)
    extra: dict[str, Any] = {}
    if exc.errors:
        extra["errors"] = [{"field": e.field, "code": e.code, "message": e.message} for e in exc.errors]
    if isinstance(exc, NotEligible) and exc.eligible_from is not None:
        extra["eligible_from"] = exc.eligible_from
    return problem(exc.status, exc.slug, exc.title, exc.detail, **extra)


ANONYMOUS = "anonymous"


def record_refusal(
    request: Request[Any, Any, Any], actor: str, action: str, obj: str, outcome: str
) -> int | None:
    """Count a 401/403 against the client and, within the client's limit, audit it.

    Over the limit, nothing is written and the seconds the client must wait are returned: the answer
    becomes a 429, so that refusals cannot be used to fill the audit log.
    """
    # Imported here: the state module imports services that import this module's neighbours.
    from bloodcert.services.audit import AuditEvent
    from bloodcert.web.clients import client_of
    from bloodcert.web.state import AppState

    state = request.app.state.get("bloodcert")
    if not isinstance(state, AppState):
        return None
    client = client_of(request)
    if state.refusals is not None and (wait := state.refusals.hit(client)) is not None:
        return max(1, math.ceil(wait))
    if state.audit is not None:
        event = AuditEvent(actor, action, obj, client, outcome)
        # A known account refused is kept path by path (an insider probing is worth every line); anonymous
        # refusals, which anyone can make, are counted per client and window.
        if actor == ANONYMOUS:
            state.audit.refused(event)
        else:
            state.audit.record(event)
    return None


def too_many(retry_after: int) -> Response[bytes]:
    """The 429 problem response, with Retry-After."""
    response = problem(
        429, "too_many_requests", "Too many requests", f"slow down; try again in {retry_after} s"
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def http_error_handler(_request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Turn the framework's own errors (404 route, 405, 413, bad query values) into problems."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    slug = _HTTP_SLUGS.get(status, "error")
    detail = exc.detail if status < 500 else "the server could not complete the request"
    extra: dict[str, Any] = {}
    if status == 400 and isinstance(exc.extra, list):
        extra["errors"] = [
            {"field": str(e.get("key", "")), "code": "invalid_value", "message": str(e.get("message", ""))}
            for e in exc.extra
            if isinstance(e, dict)
        ]
    response = problem(status, slug, slug.replace("_", " ").capitalize(), str(detail), **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Log the failure server-side (path only, never the query or body) and answer a bare 500."""
    log.error(
        "unhandled error on %s %s: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc
    )
    return problem(
        500, "internal_error", "Internal server error", "the server could not complete the request"
    )


def undecodable_handler(_request: Request[Any, Any, Any], _exc: Exception) -> Response[bytes]:
    """A body that is not UTF-8 is the client's error, not the server's."""
    return problem(400, "bad_request", "Bad request", "the body is not valid UTF-8 JSON")


class BoundedRequest(Request[Any, Any, Any]):
    """The app's request: a JSON body nested too deeply to decode is the client's error (400), not a 500."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError as exc:
            raise ValidationFailed(TOO_DEEP) from exc


TOO_DEEP = "the JSON body is nested too deeply"


EXCEPTION_HANDLERS = {
    AppError: app_error_handler,
    UnicodeDecodeError: undecodable_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "TOO_DEEP", "BoundedRequest", "MediaType", "problem"]
