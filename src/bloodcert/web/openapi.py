"""The OpenAPI 3.1 document, with every error each operation can answer described as RFC 9457 problems."""

from __future__ import annotations

import copy
from typing import Any

# Statuses beyond the success ones that operations under a path prefix answer (most specific first).
ERRORS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("/api/v1/station/", (400, 401, 413, 429, 503)),
    ("/api/v1/hospital/", (400, 401, 404, 409, 413, 422, 429, 503)),
    ("/api/v1/me", (400, 401, 404)),
    ("/api/v1/auth/login", (400, 401, 428, 429)),
    ("/api/v1/auth/captcha", (429,)),
    ("/api/v1/auth/logout", ()),
    ("/api/v1/auth/providers", (302, 303, 400, 401, 404, 429)),
    ("/api/v1/verify", (400, 413, 429)),
    ("/.well-known/bloodcert/status/", (404, 503)),
    ("/.well-known/bloodcert/trust-list.json", (503,)),
    ("/readyz", (503,)),
)
TITLES = {
    302: "Redirect to the identity platform",
    303: "Redirect back to the site",
    400: "Malformed request (problem+json with an `errors` list)",
    401: "Not authenticated",
    404: "Not found (also for another donor's data)",
    409: "Conflict with an earlier request (e.g. `invoice_conflict`, `already_reversed`)",
    413: "Body or batch too large",
    422: "Well formed but not allowed (e.g. `not_eligible`, with reasons in `errors`)",
    428: "Captcha required",
    429: "Too many requests (see Retry-After)",
    503: "Keys or database not available",
}
PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A stable slug, e.g. `signature_invalid`"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the problem responses to every operation of a generated OpenAPI document."""
    doc = copy.deepcopy(schema)
    doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    for path, item in doc.get("paths", {}).items():
        statuses = next((codes for prefix, codes in ERRORS if path.startswith(prefix)), ())
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            if "204" in responses:
                responses["204"].pop("content", None)  # a 204 has no body, whatever the handler's type says
            for status in statuses:
                responses.setdefault(str(status), _response(status))
            if "400" in responses:
                responses["400"] = _response(400)  # every 400 is a problem document, whoever raised it
    return doc


def _response(status: int) -> dict[str, Any]:
    if status in (302, 303):
        return {"description": TITLES[status], "headers": {"Location": {"schema": {"type": "string"}}}}
    return {
        "description": TITLES[status],
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
