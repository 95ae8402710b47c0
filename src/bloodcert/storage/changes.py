"""What a transaction changed that donors see: the keys read-your-writes fences are kept under
(storage/replica.py): `p:<person id>` for a person's records, `s:<session id>` for an ended session."""

from __future__ import annotations

from collections.abc import Iterable


def person_key(person_id: int) -> str:
    return f"p:{person_id}"


def session_key(session_id: int) -> str:
    return f"s:{session_id}"


def fence_keys(person_ids: Iterable[int], session_id: int) -> list[str]:
    """The fences a donor's read must respect: the persons it shows and the session it is made in."""
    return [*(person_key(p) for p in person_ids), session_key(session_id)]


class ChangedKeys(set[str]):
    """The persons and sessions a unit of work changed in a way their donor sees."""

    def persons(self, person_ids: Iterable[int]) -> None:
        self.update(person_key(p) for p in person_ids)

    def session(self, session_id: int) -> None:
        self.add(session_key(session_id))
