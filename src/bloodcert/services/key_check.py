"""Do the configured data, index and audit keys fit the database?

A restore that brings back the database without its keys must stop at once, not run: with a new data key
the personal data cannot be read, and whatever is written next would be sealed under a key that the rest
of the data does not share; with a new index key nobody is found or merged; with a new audit key every
entry appended would break the chain (which `bloodcert audit verify` then reports). `check_keys` reads one
person and the newest audit entry: cheap enough for every command to ask about the data and index keys
before it starts; `bloodcert db check-keys` asks about all three.
"""

from __future__ import annotations

from dataclasses import dataclass

from bloodcert.domain.identity import IdType
from bloodcert.domain.keyed import identity_hash_of, name_hash_of
from bloodcert.services import audit
from bloodcert.storage.crypto import DataKeyError, WrongDataKey
from bloodcert.storage.uow import UnitOfWork

DATA_KEY_MISMATCH = (
    "BLOODCERT_DATA_KEY is not the key this database's personal data was written with: names and ID "
    "numbers cannot be decrypted (a database restored without its data key?)"
)
INDEX_KEY_MISMATCH = (
    "BLOODCERT_INDEX_KEY is not the key of this database's blind indexes: donors could not be found, "
    "merged or logged in (a database restored without its index key?)"
)
AUDIT_KEY_MISMATCH = (
    "BLOODCERT_AUDIT_KEY is not the key of this database's audit chain: new entries would break it "
    "(a database restored without its audit key?)"
)


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """What was found: a message per key that does not fit, and what could be checked at all."""

    problems: tuple[str, ...]
    checked: tuple[str, ...]  # "data", "index", "audit": keys that had data to be checked against

    @property
    def ok(self) -> bool:
        """Every key that could be checked fits."""
        return not self.problems


def check_keys(uow: UnitOfWork, *, index_key: bytes, audit_key: bytes | None) -> KeyCheck:
    """Check the data key (the connection's), the index key and the audit key (unless None) against the
    stored data."""
    problems: list[str] = []
    checked: list[str] = []
    try:
        sample = uow.persons.newest_identity()
    except WrongDataKey:
        sample = None
        checked.append("data")
        problems.append(DATA_KEY_MISMATCH)
    except DataKeyError:
        sample = None  # a value bloodcert never wrote: a problem of that row, which its readers report
    if sample is not None:
        checked += ["data", "index"]
        identity = identity_hash_of(index_key, IdType(sample.id_type), sample.id_number)
        if identity != sample.identity_hash or name_hash_of(index_key, sample.name) != sample.name_hash:
            problems.append(INDEX_KEY_MISMATCH)
    fits = None if audit_key is None else audit.key_fits(uow, audit_key)
    if fits is not None:
        checked.append("audit")
        if not fits:
            problems.append(AUDIT_KEY_MISMATCH)
    return KeyCheck(tuple(problems), tuple(checked))
