"""Staff passwords: the policy (12–128 characters, not a common or breached password) and argon2id hashes.

The list of common and breached passwords ships in `bloodcert/data/common-passwords.txt.gz` (see
data/README.md for where it comes from). Both the list and a candidate are compared after `normalise`,
so that `PassWord 123` is caught by `password123`.
"""

from __future__ import annotations

import gzip
import unicodedata
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from bloodcert.errors import ProblemField, ValidationFailed

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_PASSWORDS = "common-passwords.txt.gz"
# Digits and symbols people add around a common password to pass a length rule; a core shorter than
# this is too short to judge (it would refuse `xy2024-06-01!!`-style passwords for their two letters).
_PADDING = "0123456789!@#$%^&*()-_=+.,;:?~'\"`[]{}<>/\\|"
_MIN_CORE = 4

# RFC 9106 §4's second recommended option (argon2id, t=3, 64 MiB, p=4): about 0.1 s on one core, and
# within what a console login, which happens a few times a day per person, can afford. Hashes made with
# other parameters still verify, and are replaced at the next successful login (`needs_rehash`).
DEFAULT_HASHER = PasswordHasher(
    time_cost=3, memory_cost=64 * 1024, parallelism=4, hash_len=32, salt_len=16, type=Type.ID
)
# The hasher in use; tests swap in cheaper parameters (which also exercises the rehash path).
HASHER = DEFAULT_HASHER


class WeakPassword(ValidationFailed):
    """The password does not meet the policy; `errors` says how."""

    slug = "weak_password"
    title = "Weak password"


def normalise(password: str) -> str:
    """How passwords are compared with the list: NFKC (full-width → ASCII), case-folded, no whitespace."""
    folded = unicodedata.normalize("NFKC", password).casefold()
    return "".join(folded.split())


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords, already normalised."""
    data = files("bloodcert.data").joinpath(COMMON_PASSWORDS).read_bytes()
    return frozenset(line for line in gzip.decompress(data).decode("utf-8").splitlines() if line)


def _is_listed(key: str) -> bool:
    """The normalised password is on the list, alone or padded with digits and symbols (`password2024!`)."""
    listed = common_passwords()
    core = key.strip(_PADDING)
    return key in listed or (len(core) >= _MIN_CORE and core in listed)


def _is_repetition(key: str) -> bool:
    """`aaaaaaaaaaaa`, `abcabcabcabc`: one short unit over and over."""
    return any(len(key) % n == 0 and key[:n] * (len(key) // n) == key for n in range(1, len(key) // 2 + 1))


def problems(password: str, *, username: str = "") -> list[ProblemField]:
    """Everything wrong with a candidate password (empty when it is acceptable)."""
    found = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        found.append(
            ProblemField("password", "length", f"a password has {MIN_LENGTH}–{MAX_LENGTH} characters")
        )
    key = normalise(password)
    if _is_listed(key) or _is_repetition(key):
        found.append(
            ProblemField("password", "common", "this password is on a list of common or breached ones")
        )
    if username and normalise(username) in key:
        found.append(ProblemField("password", "username", "a password must not contain the username"))
    return found


def check(password: str, *, username: str = "") -> None:
    """Refuse a password that breaks the policy, with every reason."""
    found = problems(password, username=username)
    if found:
        raise WeakPassword("; ".join(p.message for p in found), errors=found)


def hash_password(password: str) -> str:
    """An argon2id PHC string (salt and parameters included)."""
    return HASHER.hash(password)


def verify(stored: str, password: str) -> bool:
    """True when `password` matches the stored hash; False for a mismatch or an unreadable hash."""
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the stored hash was made with other parameters than the hasher in use."""
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("bloodcert: no such account")


def spend_like_verify(password: str) -> None:
    """Verify against a throwaway hash, so that an unknown username costs as long as a wrong password."""
    verify(_dummy_hash(HASHER), password)
