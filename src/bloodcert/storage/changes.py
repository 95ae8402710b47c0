"""What a transaction changed that donors see: the keys read-your-writes fences are kept under
(storage/replica.py): `p:<person id>` for a person's records, `s:<session id>` for an ended session, and
`i:<identity>` for a new person under an ID number, whom a real-name login of that ID reaches (and whose
arrival may put the ID under review) though no session knew of them before."""

from __future__ import annotations

from collections.abc import Iterable


def person_key(person_id: int) -> str:
    return f"p:{person_id}"


def session_key(session_id: int) -> str:
    return f"s:{session_id}"


def identity_key(identity_hash: bytes) -> str:
    # The first 15 bytes of the keyed hash: a clash only sends a read to the primary.
    return f"i:{identity_hash[:15].hex()}"


def fence_keys(person_ids: Iterable[int], session_id: int, identity_hash: bytes) -> list[str]:
    """The fences a donor's read must respect: the persons it shows, the session it is made in, and the
    persons that may have arrived under its ID number."""
    return [*(person_key(p) for p in person_ids), session_key(session_id), identity_key(identity_hash)]


class ChangedKeys(set[str]):
    """The persons and sessions a unit of work changed in a way their donor sees."""

    def persons(self, person_ids: Iterable[int]) -> None:
        self.update(person_key(p) for p in person_ids)

    def session(self, session_id: int) -> None:
        self.add(session_key(session_id))

    def identities(self, identity_hashes: Iterable[bytes]) -> None:
        self.update(identity_key(h) for h in identity_hashes)
