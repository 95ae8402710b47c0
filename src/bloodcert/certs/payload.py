"""The certificate's claims inside the CWT: what a verifier may see, never the full ID number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bloodcert.certs.qr import CLAIM_CERTIFICATE, CLAIM_IAT, CLAIM_ISS, MalformedQR

PAYLOAD_VERSION = 1


@dataclass(frozen=True, slots=True)
class CertificateContent:
    """The fields of one electronic certificate (电子无偿献血证), as printed and as signed."""

    certificate_no: str
    donation_no: str
    station_code: str
    station_name: str
    donated_on: date
    kind: str
    volume_ml: int | None
    units: int | None
    holder_name: str
    id_number_masked: str
    abo: str
    rhd: str | None
    status_list: tuple[str, int]


def to_claims(content: CertificateContent, *, issuer: str, issued_at: datetime) -> dict[Any, Any]:
    """CWT claims: iss, iat and the private claim -70001 with text keys."""
    return {
        CLAIM_ISS: issuer,
        CLAIM_IAT: int(issued_at.timestamp()),
        CLAIM_CERTIFICATE: {
            "v": PAYLOAD_VERSION,
            "no": content.certificate_no,
            "dn": content.donation_no,
            "st": content.station_code,
            "sn": content.station_name,
            "d": content.donated_on.isoformat(),
            "k": content.kind,
            "ml": content.volume_ml,
            "u": content.units,
            "n": content.holder_name,
            "id": content.id_number_masked,
            "abo": content.abo,
            "rh": content.rhd,
            "sl": [content.status_list[0], content.status_list[1]],
        },
    }


def from_claims(claims: dict[Any, Any]) -> tuple[CertificateContent, str, datetime]:
    """Read (content, issuer, issued_at) back; raise MalformedQR when a field is missing or mistyped."""
    body = claims.get(CLAIM_CERTIFICATE)
    iss, iat = claims.get(CLAIM_ISS), claims.get(CLAIM_IAT)
    if not isinstance(body, dict) or body.get("v") != PAYLOAD_VERSION or not isinstance(iss, str):
        raise MalformedQR("the certificate claims are incomplete")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise MalformedQR("the certificate claims are incomplete")
    if not isinstance(body.get("sl"), list) or len(body["sl"]) != 2:
        raise MalformedQR("the certificate claims are incomplete")
    list_id, index = body["sl"]
    rhd = body.get("rh")
    if not isinstance(list_id, str) or not _is_int(index) or not (rhd is None or isinstance(rhd, str)):
        raise MalformedQR("the certificate claims are incomplete")
    try:
        content = CertificateContent(
            certificate_no=_text(body, "no"),
            donation_no=_text(body, "dn"),
            station_code=_text(body, "st"),
            station_name=_text(body, "sn"),
            donated_on=date.fromisoformat(_text(body, "d")),
            kind=_text(body, "k"),
            volume_ml=_optional_int(body, "ml"),
            units=_optional_int(body, "u"),
            holder_name=_text(body, "n"),
            id_number_masked=_text(body, "id"),
            abo=_text(body, "abo"),
            rhd=rhd,
            status_list=(list_id, index),
        )
        return content, iss, datetime.fromtimestamp(iat, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedQR("the certificate claims are incomplete") from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(body: dict[str, Any], key: str) -> str:
    # Explicit checks, not asserts: they must hold under `python -O` too.
    value = body.get(key)
    if not isinstance(value, str):
        raise MalformedQR(f"claim {key} must be text")
    return value


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and not _is_int(value):
        raise MalformedQR(f"claim {key} must be an integer or null")
    return value


# --- the honour card (献血荣誉卡) ---------------------------------------------------------------------------

HONOUR_TYPE = "honour"
CLAIM_EXP = 4  # CWT exp (RFC 8392)


@dataclass(frozen=True, slots=True)
class HonourCardContent:
    """What an honour card shows at a gate: who (masked), the highest award, the perk tiers reached."""

    serial: str
    holder_name: str  # masked
    highest_award: str | None
    perks: tuple[str, ...]  # "武汉市 一级"
    volunteer_hours: int
    expires_at: datetime


def is_honour_card(claims: dict[Any, Any]) -> bool:
    """Whether the claims are an honour card's (`"t": "honour"`) rather than a donation certificate's."""
    body = claims.get(CLAIM_CERTIFICATE)
    return isinstance(body, dict) and body.get("t") == HONOUR_TYPE


def honour_to_claims(card: HonourCardContent, *, issuer: str, issued_at: datetime) -> dict[Any, Any]:
    """CWT claims of an honour card: iss, iat, exp and the private claim with `"t": "honour"`."""
    return {
        CLAIM_ISS: issuer,
        CLAIM_IAT: int(issued_at.timestamp()),
        CLAIM_EXP: int(card.expires_at.timestamp()),
        CLAIM_CERTIFICATE: {
            "v": PAYLOAD_VERSION,
            "t": HONOUR_TYPE,
            "cs": card.serial,
            "n": card.holder_name,
            "a": card.highest_award,
            "p": list(card.perks),
            "h": card.volunteer_hours,
        },
    }


def honour_from_claims(claims: dict[Any, Any]) -> tuple[HonourCardContent, str, datetime]:
    """Read (card, issuer, issued_at) back; MalformedQR when a field is missing or mistyped."""
    body = claims.get(CLAIM_CERTIFICATE)
    iss, iat, exp = claims.get(CLAIM_ISS), claims.get(CLAIM_IAT), claims.get(CLAIM_EXP)
    if not isinstance(body, dict) or body.get("v") != PAYLOAD_VERSION or not isinstance(iss, str):
        raise MalformedQR("the honour card claims are incomplete")
    perks, award = body.get("p"), body.get("a")
    if not isinstance(iat, int) or not isinstance(exp, int) or isinstance(iat, bool) or isinstance(exp, bool):
        raise MalformedQR("the honour card claims are incomplete")
    if not isinstance(perks, list) or not all(isinstance(p, str) for p in perks):
        raise MalformedQR("the honour card claims are incomplete")
    if not (award is None or isinstance(award, str)) or not _is_int(body.get("h")):
        raise MalformedQR("the honour card claims are incomplete")
    try:
        card = HonourCardContent(
            _text(body, "cs"),
            _text(body, "n"),
            award,
            tuple(perks),
            body["h"],
            datetime.fromtimestamp(exp, UTC),
        )
        return card, iss, datetime.fromtimestamp(iat, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedQR("the honour card claims are incomplete") from exc


# --- the donation pass (献血通行码) ----------------------------------------------------------------------

PASS_TYPE = "pass"  # noqa: S105 (a document type, not a password)


@dataclass(frozen=True, slots=True)
class DonorPassContent:
    """What a pass shows at a site's check-in: who (masked), where, which day and kind, until when.

    A pass says that the holder completed the health questions without a deferring answer; the answers
    themselves never travel in it (only the station reads them, through its own API or the console).
    """

    serial: str
    holder_name: str  # masked
    id_number_masked: str
    station_code: str
    site_name: str
    day: date  # Beijing calendar day the check is for
    kind: str
    starts_at: str | None  # the booked slot ("HH:MM"), None for a donor walking in
    expires_at: datetime


def is_donor_pass(claims: dict[Any, Any]) -> bool:
    """Whether the claims are a donation pass's (`"t": "pass"`)."""
    body = claims.get(CLAIM_CERTIFICATE)
    return isinstance(body, dict) and body.get("t") == PASS_TYPE


def pass_to_claims(content: DonorPassContent, *, issuer: str, issued_at: datetime) -> dict[Any, Any]:
    """CWT claims of a pass: iss, iat, exp and the private claim with `"t": "pass"`."""
    return {
        CLAIM_ISS: issuer,
        CLAIM_IAT: int(issued_at.timestamp()),
        CLAIM_EXP: int(content.expires_at.timestamp()),
        CLAIM_CERTIFICATE: {
            "v": PAYLOAD_VERSION,
            "t": PASS_TYPE,
            "ps": content.serial,
            "n": content.holder_name,
            "id": content.id_number_masked,
            "st": content.station_code,
            "si": content.site_name,
            "d": content.day.isoformat(),
            "k": content.kind,
            "at": content.starts_at,
        },
    }


def pass_from_claims(claims: dict[Any, Any]) -> tuple[DonorPassContent, str, datetime]:
    """Read (pass, issuer, issued_at) back; MalformedQR when a field is missing or mistyped."""
    body = claims.get(CLAIM_CERTIFICATE)
    iss, iat, exp = claims.get(CLAIM_ISS), claims.get(CLAIM_IAT), claims.get(CLAIM_EXP)
    if not isinstance(body, dict) or body.get("v") != PAYLOAD_VERSION or not isinstance(iss, str):
        raise MalformedQR("the pass claims are incomplete")
    starts_at = body.get("at")
    if not isinstance(iat, int) or not isinstance(exp, int) or isinstance(iat, bool) or isinstance(exp, bool):
        raise MalformedQR("the pass claims are incomplete")
    if not (starts_at is None or isinstance(starts_at, str)):
        raise MalformedQR("the pass claims are incomplete")
    try:
        content = DonorPassContent(
            serial=_text(body, "ps"),
            holder_name=_text(body, "n"),
            id_number_masked=_text(body, "id"),
            station_code=_text(body, "st"),
            site_name=_text(body, "si"),
            day=date.fromisoformat(_text(body, "d")),
            kind=_text(body, "k"),
            starts_at=starts_at,
            expires_at=datetime.fromtimestamp(exp, UTC),
        )
        return content, iss, datetime.fromtimestamp(iat, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedQR("the pass claims are incomplete") from exc
