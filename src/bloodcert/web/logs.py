"""Structured logs: one JSON object a line, carrying the request id of the request being served.

The request id comes from the `X-Request-ID` header a load balancer sets (when it is a plain token of at
most 128 characters), or is made here; it is echoed in the answer's `X-Request-ID`, so a station or a
support desk can quote it, and every log line written while the request is served carries it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

HEADER = b"x-request-id"
_VALID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")
current_request_id: ContextVar[str | None] = ContextVar("bloodcert_request_id", default=None)


def request_id_of(headers: Any) -> str:
    """The request's own id when it gives a usable one, else a new one."""
    for name, value in headers:
        if name == HEADER:
            if _VALID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return os.urandom(16).hex()  # as random as a uuid4, without building one


def with_request_id(headers: Any, encoded: bytes) -> list[tuple[bytes, bytes]]:
    """An answer's headers with its X-Request-ID (replacing any the app set)."""
    return [*((k, v) for k, v in headers if k.lower() != HEADER), (HEADER, encoded)]


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, request id, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's `log_config`: every logger (the server's own, ours) as JSON lines on standard error."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper(), "propagate": True},
            "uvicorn.error": {"level": level.upper(), "propagate": True},
        },
    }
