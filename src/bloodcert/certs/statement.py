"""The volunteer-hours statement (公益时证明) inside a CWT: a signed snapshot of a donor's hours.

Signed with the same keys and trust list as certificates, under the same private claim, with `"t": "hours"`
so that a verifier tells it from a donation certificate and an honour card. It carries the masked ID
number only, never the full one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bloodcert.certs.payload import CLAIM_EXP, PAYLOAD_VERSION
from bloodcert.certs.qr import CLAIM_CERTIFICATE, CLAIM_IAT, CLAIM_ISS, MalformedQR

HOURS_TYPE = "hours"


@dataclass(frozen=True, slots=True)
class HoursByTable:
    """The donations one conversion table counted, and the hours it gave them."""

    table: str  # the table's region name, e.g. 渭南市, or 全国 for the national default
    donations: int
    hours: int


@dataclass(frozen=True, slots=True)
class HoursStatementContent:
    """What a statement vouches for: who, how many hours from how many donations, by which tables."""

    serial: str
    holder_name: str
    id_number_masked: str
    hours: int
    donations: int
    first_on: date | None
    last_on: date | None
    tables: tuple[HoursByTable, ...]
    expires_at: datetime


def is_hours_statement(claims: dict[Any, Any]) -> bool:
    """Whether the claims are a volunteer-hours statement's (`"t": "hours"`)."""
    body = claims.get(CLAIM_CERTIFICATE)
    return isinstance(body, dict) and body.get("t") == HOURS_TYPE


def statement_to_claims(
    statement: HoursStatementContent, *, issuer: str, issued_at: datetime
) -> dict[Any, Any]:
    """CWT claims of a statement: iss, iat, exp and the private claim with `"t": "hours"`."""
    return {
        CLAIM_ISS: issuer,
        CLAIM_IAT: int(issued_at.timestamp()),
        CLAIM_EXP: int(statement.expires_at.timestamp()),
        CLAIM_CERTIFICATE: {
            "v": PAYLOAD_VERSION,
            "t": HOURS_TYPE,
            "ss": statement.serial,
            "n": statement.holder_name,
            "id": statement.id_number_masked,
            "h": statement.hours,
            "c": statement.donations,
            "f": statement.first_on.isoformat() if statement.first_on else None,
            "l": statement.last_on.isoformat() if statement.last_on else None,
            "r": [[t.table, t.donations, t.hours] for t in statement.tables],
        },
    }


def statement_from_claims(claims: dict[Any, Any]) -> tuple[HoursStatementContent, str, datetime]:
    """Read (statement, issuer, issued_at) back; MalformedQR when a field is missing or mistyped."""
    body = claims.get(CLAIM_CERTIFICATE)
    iss, iat, exp = claims.get(CLAIM_ISS), claims.get(CLAIM_IAT), claims.get(CLAIM_EXP)
    if not isinstance(body, dict) or body.get("v") != PAYLOAD_VERSION or not isinstance(iss, str):
        raise MalformedQR("the statement claims are incomplete")
    if not isinstance(iat, int) or not isinstance(exp, int) or isinstance(iat, bool) or isinstance(exp, bool):
        raise MalformedQR("the statement claims are incomplete")
    if not (_is_int(body.get("h")) and _is_int(body.get("c"))):
        raise MalformedQR("the statement claims are incomplete")
    tables = body.get("r")
    if not isinstance(tables, list) or not all(_is_table(t) for t in tables):
        raise MalformedQR("the statement claims are incomplete")
    try:
        statement = HoursStatementContent(
            _text(body, "ss"),
            _text(body, "n"),
            _text(body, "id"),
            body["h"],
            body["c"],
            _day(body.get("f")),
            _day(body.get("l")),
            tuple(HoursByTable(t[0], t[1], t[2]) for t in tables),
            datetime.fromtimestamp(exp, UTC),
        )
        return statement, iss, datetime.fromtimestamp(iat, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedQR("the statement claims are incomplete") from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_table(entry: Any) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 3
        and isinstance(entry[0], str)
        and _is_int(entry[1])
        and _is_int(entry[2])
    )


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise MalformedQR(f"claim {key} must be text")
    return value


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedQR("a date claim must be text")
    return date.fromisoformat(value)
