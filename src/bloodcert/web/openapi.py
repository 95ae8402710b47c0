"""The OpenAPI 3.1 document, with every error each operation can answer described as RFC 9457 problems,
and its browsable form: an HTML reference rendered on the server from the same document (no script, no CDN).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, MediaType, Request, get
from litestar.response import Template

from bloodcert.config import Settings
from bloodcert.domain.donation_rules import Kind
from bloodcert.domain.identity import IdType
from bloodcert.domain.records import (
    ABO_TYPES,
    MAX_TEXT,
    MAX_VOLUME_ML,
    RHD_TYPES,
    SITE_TYPES,
    TEST_RESULTS,
    Status,
)
from bloodcert.web.api import claims

# Statuses beyond the success ones that operations under a path prefix answer (most specific first).
ERRORS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("/api/v1/station/claims", (400, 401, 404, 409, 413, 429, 503)),
    ("/api/v1/me/claims", (400, 401, 404, 409, 413, 415, 422, 429)),
    ("/api/v1/me/relatives", (400, 401, 404, 409, 413, 415, 422, 429)),
    ("/api/v1/station/sites", (400, 401, 404, 409, 413, 429, 503)),
    ("/api/v1/station/", (400, 401, 413, 429, 503)),
    ("/api/v1/hospital/", (400, 401, 404, 409, 413, 422, 429, 503)),
    ("/api/v1/me/appointments", (400, 401, 404, 409, 422)),
    ("/api/v1/me/health-check", (400, 401, 404, 409, 422, 503)),
    ("/api/v1/me", (400, 401, 404)),
    ("/api/v1/sites", (400, 404)),
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
    409: "Conflict with an earlier request or the current state (`invoice_conflict`, `slot_full`, …)",
    413: "Body or batch too large",
    415: "A body or file of a type not taken here (files are recognised by their content)",
    422: "Well formed but not allowed (`not_eligible`, with reasons in `errors` or `eligible_from`)",
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
        "eligible_from": {
            "type": "string",
            "format": "date",
            "description": "With `not_eligible`: the first day a booking is possible",
        },
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
    _describe_station_batch(doc)
    claims.describe_bodies(doc)
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


# ---- the station batch: its body is read raw (the signature covers the exact bytes), so it is described here


def _one_of(values: Iterable[str], *, nullable: bool = False) -> dict[str, Any]:
    choices: list[str | None] = [*sorted(values)]
    if nullable:
        return {"type": ["string", "null"], "enum": [*choices, None]}
    return {"type": "string", "enum": choices}


def _text(max_length: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


DONATION_RECORD: dict[str, Any] = {
    "type": "object",
    "description": "One donation as the station records it; see docs/station-integration.md for every rule.",
    "required": ["donation_no", "version", "status", "donor", "donated_at", "kind", "site", "test_result"],
    "properties": {
        "donation_no": {**_text(64), "description": "The station's own donation number (献血编号)"},
        "version": {"type": "integer", "minimum": 1, "description": "Raise it to correct or void a record"},
        "status": _one_of(s.value for s in Status),
        "donor": {
            "type": "object",
            "required": ["id_type", "id_number", "name", "abo"],
            "properties": {
                "id_type": _one_of(t.value for t in IdType),
                "id_number": _text(64),
                "name": _text(),
                "sex": _one_of({"F", "M"}, nullable=True),
                "birth_date": {"type": ["string", "null"], "format": "date"},
                "abo": _one_of(ABO_TYPES),
                "rhd": _one_of(RHD_TYPES, nullable=True),
            },
        },
        "donated_at": {"type": "string", "format": "date-time", "description": "With its UTC offset"},
        "kind": _one_of(k.value for k in Kind),
        "volume_ml": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_VOLUME_ML,
            "description": "Whole blood and plasma only",
        },
        "units": {"type": ["integer", "null"], "minimum": 1, "maximum": 2, "description": "Platelets only"},
        "site": {
            "type": "object",
            "required": ["name", "type", "region"],
            "properties": {
                "name": _text(),
                "type": _one_of(SITE_TYPES),
                "region": {"type": "string", "pattern": "^[0-9]{6}$", "description": "GB/T 2260 code"},
            },
        },
        "test_result": _one_of(TEST_RESULTS),
    },
}
STATION_BATCH: dict[str, Any] = {
    "type": "object",
    "required": ["records"],
    "properties": {
        "records": {
            "type": "array",
            "maxItems": Settings().max_batch_records,
            "items": {"$ref": "#/components/schemas/DonationRecord"},
        }
    },
}


def _describe_station_batch(doc: dict[str, Any]) -> None:
    operation = doc.get("paths", {}).get("/api/v1/station/donations", {}).get("post")
    if operation is None:
        return
    doc["components"]["schemas"].update({"DonationRecord": DONATION_RECORD, "StationBatch": STATION_BATCH})
    operation["requestBody"] = {
        "required": True,
        "description": "The exact bytes the Content-Digest and the signature cover",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StationBatch"}}},
    }


# ---- the served document and its HTML reference ---------------------------------------------------------


def served_document(app: Litestar) -> dict[str, Any]:
    """The document the app serves, built once per worker from the app's routes."""
    if "openapi_document" not in app.state:
        app.state["openapi_document"] = document(app.openapi_schema.to_schema())
    return dict(app.state["openapi_document"])


METHODS = ("get", "post", "put", "patch", "delete")
GROUPS = (
    ("station", "Station reporting"),
    ("donor", "Donors"),
    ("verify", "Verification"),
    ("", "Service"),
)
AUTH = {
    "donorSession": "Donor session: `Authorization: Bearer <access_token>` or the session cookie",
    "stationSignature": (
        "Station signature: RFC 9421 `Signature` and `Signature-Input`, RFC 9530 `Content-Digest`"
    ),
}
_CODE = re.compile(r"`([^`]+)`")
_REF = "#/components/schemas/"


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of rendered text: plain, `code`, or a link to a schema (`anchor`)."""

    text: str
    code: bool = False
    anchor: str | None = None


@dataclass(frozen=True, slots=True)
class Field:
    """A parameter or a schema property."""

    name: str
    where: str
    type: list[Token]
    required: bool
    description: list[Token]


@dataclass(frozen=True, slots=True)
class Body:
    """A request or response body: status (for responses), meaning, media type and schema."""

    status: str
    description: list[Token]
    media_type: str | None
    type: list[Token]


@dataclass(frozen=True, slots=True)
class Operation:
    """One method of one path."""

    method: str
    path: str
    anchor: str
    description: list[Token]
    auth: list[list[Token]]
    parameters: list[Field]
    request: Body | None
    responses: list[Body]


@dataclass(frozen=True, slots=True)
class Group:
    """The operations of one tag."""

    title: str
    operations: list[Operation]


@dataclass(frozen=True, slots=True)
class Schema:
    """A named schema of the document, with its properties."""

    name: str
    anchor: str
    description: list[Token]
    fields: list[Field] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reference:
    """Everything the reference page shows."""

    title: str
    version: str
    description: list[Token]
    groups: list[Group]
    schemas: list[Schema]


def prose(text: str | None) -> list[Token]:
    """Text with its `code` spans marked (the page escapes everything; no markup comes through)."""
    parts = _CODE.split(text or "")
    return [Token(part, code=i % 2 == 1) for i, part in enumerate(parts) if part]


def schema_anchor(name: str) -> str:
    """The page anchor of a named schema."""
    return "schema-" + name


def operation_anchor(method: str, path: str) -> str:
    """The page anchor of an operation, e.g. `get-api-v1-me-donations`."""
    return method + "-" + "-".join(re.findall(r"[A-Za-z0-9_]+", path))


def type_of(schema: Mapping[str, Any]) -> list[Token]:
    """A schema's type in a few words: `string | null`, `array of DonationOut`, links for named schemas."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(_REF)
        return [Token(name, anchor=schema_anchor(name))]
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            tokens: list[Token] = []
            for i, option in enumerate(schema[combinator]):
                tokens += ([Token(" | ")] if i else []) + type_of(option)
            return tokens
    kinds = schema.get("type", "object" if "properties" in schema else "any")
    if isinstance(kinds, list):
        return [Token(" | ".join(str(k) for k in kinds))]
    if kinds == "array":
        return [Token("array of "), *type_of(schema.get("items", {}))]
    return [Token(str(kinds) + (f" ({schema['format']})" if "format" in schema else ""))]


_BOUNDS = (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤"), ("maxItems", "items ≤"))


def _number(value: Any) -> str:
    # The generator writes integer bounds as floats (1.0); a reader expects 1.
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _constraints(schema: Mapping[str, Any]) -> str:
    notes = []
    if "enum" in schema:
        notes.append("one of " + ", ".join("null" if v is None else str(v) for v in schema["enum"]))
    for key, label in _BOUNDS:
        if key in schema:
            notes.append(f"{label} {_number(schema[key])}")
    if "pattern" in schema:
        notes.append(f"`{schema['pattern']}`")
    return "; ".join(notes)


def _field(name: str, where: str, schema: Mapping[str, Any], required: bool, text: str | None) -> Field:
    description = "; ".join(p for p in (text or schema.get("description"), _constraints(schema)) if p)
    return Field(name, where, type_of(schema), required, prose(description))


def _properties(schema: Mapping[str, Any], prefix: str = "") -> list[Field]:
    """Properties, with those of inline objects (a record's `donor`) flattened into dotted names."""
    required = set(schema.get("required", ()))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        fields.append(_field(prefix + name, "", prop, name in required, None))
        if "properties" in prop:
            fields += _properties(prop, prefix + name + ".")
    return fields


def _body(status: str, spec: Mapping[str, Any]) -> Body:
    content = spec.get("content", {})
    media_type = next(iter(content), None)
    schema = content[media_type].get("schema", {}) if media_type else {}
    return Body(status, prose(spec.get("description")), media_type, type_of(schema) if schema else [])


def _operation(method: str, path: str, spec: Mapping[str, Any]) -> Operation:
    auth = [prose(AUTH.get(name, name)) for rule in spec.get("security", ()) for name in rule]
    parameters = [
        _field(p["name"], p["in"], p.get("schema", {}), bool(p.get("required")), p.get("description"))
        for p in spec.get("parameters", ())
    ]
    request = _body("", spec["requestBody"]) if "requestBody" in spec else None
    responses = [_body(status, r) for status, r in sorted(spec.get("responses", {}).items())]
    description = spec.get("description") or spec.get("summary")
    return Operation(
        method.upper(),
        path,
        operation_anchor(method, path),
        prose(description),
        auth,
        parameters,
        request,
        responses,
    )


def reference(doc: Mapping[str, Any]) -> Reference:
    """The reference page's content, read from an OpenAPI document: operations by tag, then schemas."""
    groups: dict[str, list[Operation]] = {tag: [] for tag, _ in GROUPS}
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                tags = item[method].get("tags") or [""]
                groups.setdefault(tags[0], []).append(_operation(method, path, item[method]))
    titles = dict(GROUPS)
    schemas = [
        Schema(name, schema_anchor(name), prose(spec.get("description")), _properties(spec))
        for name, spec in sorted(doc.get("components", {}).get("schemas", {}).items())
    ]
    info = doc.get("info", {})
    return Reference(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        description=prose(info.get("description")),
        groups=[Group(titles.get(tag, tag), ops) for tag, ops in groups.items() if ops],
        schemas=schemas,
    )


REFERENCE_PATH = "/api/v1/docs"


@get(REFERENCE_PATH, include_in_schema=False, sync_to_thread=False, media_type=MediaType.HTML)
def reference_page(request: Request[Any, Any, Any]) -> Template:
    """The API reference as one HTML page, rendered from the OpenAPI document; public, like the document."""
    page = reference(served_document(request.app))
    return Template(
        "api_reference.html",
        context={"ref": page, "document_url": "/api/v1/openapi.json"},
        headers={"Cache-Control": "public, max-age=300"},
    )
