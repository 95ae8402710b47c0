"""The certificate's claims inside the CWT (SPEC §4): what a verifier may see, never the full ID number."""

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
    try:
        assert isinstance(body, dict)
        assert body.get("v") == PAYLOAD_VERSION
        assert isinstance(iss, str)
        assert isinstance(iat, int)
        assert not isinstance(iat, bool)
        status = body["sl"]
        assert isinstance(status, list)
        assert len(status) == 2
        assert isinstance(status[0], str)
        assert isinstance(status[1], int)
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
            rhd=body.get("rh") if isinstance(body.get("rh"), str) else None,
            status_list=(status[0], status[1]),
        )
        return content, iss, datetime.fromtimestamp(iat, UTC)
    except (AssertionError, KeyError, ValueError, OverflowError, OSError) as exc:
        raise MalformedQR("the certificate claims are incomplete") from exc


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    assert isinstance(value, str)
    return value


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    assert value is None or (isinstance(value, int) and not isinstance(value, bool))
    return value
