"""Who may do what in the console (管理控制台): roles with separated duties, and the object-level rule.

- A national administrator (`national_admin`) manages every station and its keys, and sees system status.
- A provincial administrator (`provincial_admin`) is bound to one province (its GB/T 2260 code, two digits)
  and sees that province's stations, donors' requests, identity conflicts and scorecards, and nothing else.
- A station operator (`station_operator`) is bound to one station and sees and manages only that one.
- An auditor (`auditor`) is the only role that reads the audit log, and does nothing else.

No role includes another: an administrator cannot read the audit log of their own actions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bloodcert.errors import Forbidden, ValidationFailed

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,31}$")


class Role(StrEnum):
    """A console role."""

    NATIONAL_ADMIN = "national_admin"
    PROVINCIAL_ADMIN = "provincial_admin"
    STATION_OPERATOR = "station_operator"
    AUDITOR = "auditor"


ROLES = tuple(r.value for r in Role)


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """The staff member behind a live console session."""

    user_id: int
    username: str
    role: Role
    station_id: int | None
    station_code: str | None
    session_id: int
    province: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this staff member."""
        return f"staff:{self.username}"


def parse_role(value: str) -> Role:
    """The role named `value`, or ValidationFailed listing the roles there are."""
    try:
        return Role(value.strip())
    except ValueError:
        raise ValidationFailed(
            f"unknown role {value!r}; one of {', '.join(ROLES)}", slug="unknown_role"
        ) from None


def check_username(value: str) -> str:
    """A username: 3–32 lower-case letters, digits, dots, hyphens or underscores, starting with a letter."""
    username = value.strip().lower()
    if not USERNAME.fullmatch(username):
        raise ValidationFailed("a username is 3–32 of a-z 0-9 . _ -, starting with a letter")
    return username


def require_role(principal: StaffPrincipal, roles: Iterable[Role]) -> None:
    """Forbidden unless the principal holds one of `roles`."""
    if principal.role not in tuple(roles):
        raise Forbidden("your role may not do this")


def reaches_station(principal: StaffPrincipal, station_id: int, region: str) -> bool:
    """The object-level rule: a national administrator reaches every station, a provincial one the stations
    of their province, an operator their own station only."""
    if principal.role is Role.NATIONAL_ADMIN:
        return True
    if principal.role is Role.PROVINCIAL_ADMIN:
        return principal.province is not None and region[:2] == principal.province
    return principal.role is Role.STATION_OPERATOR and principal.station_id == station_id


def require_station(principal: StaffPrincipal, station_id: int, region: str = "") -> None:
    """Forbidden unless the principal reaches the station (see `reaches_station`)."""
    if not reaches_station(principal, station_id, region):
        raise Forbidden("this station is not yours")


def reaches_province(principal: StaffPrincipal, province: str) -> bool:
    """A national administrator reaches every province, a provincial one their own."""
    if principal.role is Role.NATIONAL_ADMIN:
        return True
    return principal.role is Role.PROVINCIAL_ADMIN and principal.province == province


def check_province(value: str) -> str:
    """A province: the two-digit GB/T 2260 prefix (e.g. 33 for 浙江)."""
    code = value.strip()[:6]
    if len(code) == 6 and code.endswith("0000"):
        code = code[:2]
    if len(code) != 2 or not code.isdigit():
        raise ValidationFailed("a province is its two-digit GB/T 2260 code, e.g. 33")
    return code
