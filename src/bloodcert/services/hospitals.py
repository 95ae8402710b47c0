"""Hospital registry: hospitals that waive blood fees at the counter, and their request-signing keys.

Hospitals sign requests exactly as stations do (RFC 9421, the same three algorithms), but their keys live in
a table of their own with ids prefixed `hsk_`: a station key is unknown on hospital routes, and a hospital key
unknown on station routes, without any route having to remember to check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bloodcert.domain.regions import full_name, is_current_region
from bloodcert.domain.staff import Role, StaffPrincipal, require_role
from bloodcert.errors import Conflict, NotFound, ValidationFailed
from bloodcert.services.console import Caller
from bloodcert.services.station_auth import (
    SignedRequest,
    Verified,
    check_public_key,
    key_id_for,
    verify_signed,
)
from bloodcert.storage.repositories.waivers import HospitalKeyRow, HospitalRow
from bloodcert.storage.uow import UnitOfWork

KEY_PREFIX = "hsk_"


def register_hospital(uow: UnitOfWork, *, code: str, name: str, region: str, now: datetime) -> HospitalRow:
    """Register a hospital after checking its code, name and GB/T 2260 region."""
    code = code.strip()
    if not code or len(code) > 16 or not code.isascii() or not code.replace("-", "").isalnum():
        raise ValidationFailed("a hospital code is 1–16 ASCII letters, digits or hyphens")
    if not name.strip() or len(name) > 100:
        raise ValidationFailed("a hospital name is 1–100 characters")
    if not is_current_region(region):
        raise ValidationFailed(f"{region!r} is not a current GB/T 2260 region code", slug="unknown_region")
    if uow.hospitals.get_by_code(code) is not None:
        raise Conflict(f"hospital {code} is already registered")
    uow.hospitals.add(code=code, name=name.strip(), region=region, now=now)
    hospital = uow.hospitals.get_by_code(code)
    assert hospital is not None
    return hospital


def add_hospital_key(uow: UnitOfWork, *, code: str, public_key_pem: bytes, alg: str, now: datetime) -> str:
    """Register a public key for a hospital; returns its key id."""
    hospital = uow.hospitals.get_by_code(code)
    if hospital is None:
        raise NotFound(f"no hospital with code {code}")
    check_public_key(public_key_pem, alg)
    key_id = key_id_for(public_key_pem, alg, prefix=KEY_PREFIX)
    if uow.hospitals.get_key(key_id) is not None:
        raise Conflict("this public key is already registered")
    uow.hospitals.add_key(
        hospital_id=hospital.id, key_id=key_id, alg=alg, public_key_pem=public_key_pem.decode(), now=now
    )
    return key_id


def revoke_hospital_key(uow: UnitOfWork, *, key_id: str, now: datetime) -> None:
    """Revoke a hospital key at once: requests signed with it are refused from the next request on."""
    if not uow.hospitals.revoke_key(key_id, now):
        raise NotFound(f"no active key {key_id}")


def verify_hospital(
    keys: Callable[[str], HospitalKeyRow | None], request: SignedRequest, *, now: datetime, window_s: int
) -> Verified[HospitalKeyRow]:
    """Verify a hospital's signed request but leave its nonce to the caller's write (`remember_nonce`).

    `keys` looks a key id up: `uow.hospitals.get_key`, or `reads.hospital_keys.get` outside a transaction.
    """
    return verify_signed(request, keys=keys, now=now, window_s=window_s)


# ---- the console -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HospitalItem:
    """A hospital as the console lists it, with every key it has had."""

    hospital: HospitalRow
    region_name: str
    keys: list[HospitalKeyRow]


def console_hospitals(uow: UnitOfWork, principal: StaffPrincipal) -> list[HospitalItem]:
    """Every registered hospital and its keys (national administrators only)."""
    require_role(principal, (Role.NATIONAL_ADMIN,))
    return [
        HospitalItem(h, full_name(h.region) or h.region, uow.hospitals.keys_of_hospital(h.id))
        for h in uow.hospitals.all()
    ]


def console_add_hospital(
    uow: UnitOfWork, caller: Caller, *, code: str, name: str, region: str
) -> HospitalRow:
    """Register a hospital from the console; audited with the change."""
    require_role(caller.principal, (Role.NATIONAL_ADMIN,))
    hospital = register_hospital(uow, code=code, name=name, region=region, now=caller.now)
    caller.record(uow, "hospital.add", hospital.code)
    return hospital


def console_add_hospital_key(
    uow: UnitOfWork, caller: Caller, code: str, *, public_key_pem: bytes, alg: str
) -> str:
    """Register a hospital's public key from the console; returns its key id."""
    require_role(caller.principal, (Role.NATIONAL_ADMIN,))
    key_id = add_hospital_key(
        uow, code=code.strip()[:16], public_key_pem=public_key_pem, alg=alg, now=caller.now
    )
    caller.record(uow, "hospital.add_key", f"{code[:16]} {key_id}")
    return key_id


def console_revoke_hospital_key(uow: UnitOfWork, caller: Caller, code: str, key_id: str) -> None:
    """Revoke one of a hospital's keys; a key of another hospital is not found here."""
    require_role(caller.principal, (Role.NATIONAL_ADMIN,))
    key = uow.hospitals.get_key(key_id[:64])
    if key is None or key.hospital_code != code:
        raise NotFound("this hospital has no such key")
    revoke_hospital_key(uow, key_id=key.key_id, now=caller.now)
    caller.record(uow, "hospital.revoke_key", f"{code[:16]} {key.key_id}")
