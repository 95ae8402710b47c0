"""Errors that carry their meaning and HTTP status; one handler in web/ turns them into RFC 9457 problems."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProblemField:
    """One field-level problem inside a validation error."""

    field: str
    code: str
    message: str


class AppError(Exception):
    """Base of every error a client may see. `slug` is the stable problem `type`."""

    status = 400
    slug = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, slug: str | None = None, errors: list[ProblemField] | None = None):
        super().__init__(detail)
        self.detail = detail
        if slug is not None:
            self.slug = slug
        self.errors = errors or []


class Unauthorized(AppError):
    """The caller did not prove who it is."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(AppError):
    """The caller is known but may not do this."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    """Nothing here for this caller (also used for other people's data, so as not to confirm it exists)."""

    status = 404
    slug = "not_found"
    title = "Not found"


class Conflict(AppError):
    """The request conflicts with the current state."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(AppError):
    """A body or batch over its limit."""

    status = 413
    slug = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    """A body of a media type the endpoint does not take (a JSON API takes application/json only)."""

    status = 415
    slug = "unsupported_media_type"
    title = "Unsupported media type"


class ValidationFailed(AppError):
    """The request is malformed; `errors` says where."""

    status = 400
    slug = "validation_failed"
    title = "Validation failed"


class NotConfigured(AppError):
    """A required key or setting is missing on the server."""

    status = 503
    slug = "not_configured"
    title = "Service not configured"


class NotEligible(AppError):
    """The donor may not give this kind of donation yet; `eligible_from` says from which day they may.

    `eligible_from` is None when no day will come (a donor past the age limit); `errors` then says why.
    """

    status = 422
    slug = "not_eligible"
    title = "Not eligible"

    def __init__(
        self, detail: str, *, eligible_from: str | None, errors: list[ProblemField] | None = None
    ) -> None:
        super().__init__(detail, errors=errors)
        self.eligible_from = eligible_from
