"""Station registry: register stations, add and revoke their request-signing keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from bloodcert.domain.regions import is_current_region
from bloodcert.domain.stations import TIERS, builtin_stations
from bloodcert.errors import Conflict, NotFound, ValidationFailed
from bloodcert.services.station_auth import (
    SignedRequest,
    authenticate_station,
    check_public_key,
    key_id_for,
)
from bloodcert.storage.rows import QualityIssueRow, StationRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewStation, NewStationKey


def register_station(
    uow: UnitOfWork, *, code: str, name: str, region: str, now: datetime, tier: str = "central_station"
) -> StationRow:
    """Register a new station after checking its code, name, tier and GB/T 2260 region."""
    code = code.strip()
    if not code or len(code) > 16 or not code.isascii() or not code.replace("-", "").isalnum():
        raise ValidationFailed("a station code is 1–16 ASCII letters, digits or hyphens")
    if not name.strip() or len(name) > 100:
        raise ValidationFailed("a station name is 1–100 characters")
    if tier not in TIERS:
        raise ValidationFailed(f"tier must be one of {', '.join(sorted(TIERS))}")
    if not is_current_region(region):
        raise ValidationFailed(f"{region!r} is not a current GB/T 2260 region code", slug="unknown_region")
    if uow.stations.get_by_code(code) is not None:
        raise Conflict(f"station {code} is already registered")
    uow.stations.add(NewStation(code=code, name=name.strip(), tier=tier, region=region, created_at=now))
    station = uow.stations.get_by_code(code)
    assert station is not None
    return station


def seed_builtin_stations(uow: UnitOfWork, now: datetime) -> int:
    """Register the built-in (illustrative) national list, skipping known codes; returns how many."""
    existing = uow.stations.existing_codes()
    rows = [
        NewStation(code=s.code, name=s.name, tier=s.tier, region=s.region, created_at=now)
        for s in builtin_stations()
        if s.code not in existing
    ]
    uow.stations.add_many(rows)
    return len(rows)


def add_station_key(uow: UnitOfWork, *, code: str, public_key_pem: bytes, alg: str, now: datetime) -> str:
    """Register a public key for a station; returns its key id."""
    station = uow.stations.get_by_code(code)
    if station is None:
        raise NotFound(f"no station with code {code}")
    check_public_key(public_key_pem, alg)
    key_id = key_id_for(public_key_pem, alg)
    if uow.stations.get_key(key_id) is not None:
        raise Conflict("this public key is already registered")
    uow.stations.add_key(
        NewStationKey(
            key_id=key_id,
            station_id=station.id,
            alg=alg,
            public_key_pem=public_key_pem.decode(),
            created_at=now,
        )
    )
    return key_id


def new_ed25519_key() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair as (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM)."""
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem


def revoke_station_key(uow: UnitOfWork, *, key_id: str, now: datetime) -> None:
    """Revoke a key at once: requests signed with it are refused from the next request on."""
    if not uow.stations.revoke_key(key_id, now):
        raise NotFound(f"no active key {key_id}")


@dataclass(frozen=True, slots=True)
class QualityReport:
    """A station's open data-quality issues: how many, by code, and one page of them, newest first."""

    station_code: str
    open: int
    counts: dict[str, int]
    issues: list[QualityIssueRow]


def quality_of_caller(
    uow: UnitOfWork,
    signed: SignedRequest,
    *,
    now: datetime,
    window_s: int,
    limit: int,
    offset: int,
) -> QualityReport:
    """The open data-quality issues of the station that signed the request."""
    key = authenticate_station(uow, signed, now=now, window_s=window_s)
    return QualityReport(
        key.station_code,
        uow.quality.count_open_of_station(key.station_id),
        uow.quality.counts_by_code(key.station_id),
        uow.quality.open_of_station(key.station_id, limit=limit, offset=offset),
    )
