"""Certificate numbers (电子献血证编号): donation year, 11-digit serial, ISO 7064 MOD 11-2 check character.

The year is the year of the donation the certificate attests, so that a 2025 donation never carries a
number starting 2026; the serial is national and never reused, so the number stays unique whatever the
year (a correction re-issued later keeps the donation's year and takes a new serial).
"""

from __future__ import annotations

from stdnum.iso7064 import mod_11_2

LENGTH = 16
MAX_SERIAL = 10**11 - 1


def make_certificate_no(year: int, serial: int) -> str:
    """Build the number for the `serial`-th certificate issued nationally, for a donation made in `year`."""
    if not 1 <= serial <= MAX_SERIAL:
        raise ValueError("certificate serial out of range")
    body = f"{year:04d}{serial:011d}"
    return body + str(mod_11_2.calc_check_digit(body))


def is_valid_certificate_no(text: str) -> bool:
    """True when `text` has the right shape and its check character matches (catches one mistyped digit)."""
    if len(text) != LENGTH or not text[:-1].isdigit() or text[-1] not in "0123456789X":
        return False
    return bool(mod_11_2.is_valid(text))
