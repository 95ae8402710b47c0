"""Where a donor's reads go when a read replica is configured (storage/replica.py explains the fences).

A donor's request first finds the session on the standby, in the same query as the standby's replay
position (and, for the history, the donations too), and looks up the fences of the persons and the session
it reaches. When the standby shows everything fenced, what it read stands, the principal is marked
`on_standby` and the request's further reads (`read`) go there too; otherwise the request is read again on
the primary. Without a read replica everything reads from the database, in the same one query.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

from bloodcert import metrics
from bloodcert.errors import Unauthorized
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.storage.changes import fence_keys
from bloodcert.storage.uow import Database, DonorReads

T = TypeVar("T")
# A read made with the donor's session: the donor, whether the session's idle deadline should move, and
# what was read; Unauthorized without a live session.
SessionRead = Callable[[DonorReads], tuple[DonorPrincipal, bool, T]]


def session_read(db: Database, token: str | None, read: SessionRead[T]) -> tuple[DonorPrincipal, bool, T]:
    """`read` on the standby when it shows everything the donor must see, else on the primary."""
    if db.replica is not None and token:
        outcome = _on_standby(db, read)
        if isinstance(outcome, str):
            metrics.donor_read("primary", outcome)
        else:
            metrics.donor_read("replica", "replayed")
            return outcome
    with db.donor_reads() as reads:
        return read(reads)


def _on_standby(db: Database, read: SessionRead[T]) -> tuple[DonorPrincipal, bool, T] | str:
    """What the standby read, when it shows everything fenced for the donor; else why not."""
    assert db.replica is not None

    def on_standby(reads: DonorReads) -> tuple[tuple[DonorPrincipal, bool, T], int | None] | None:
        try:
            done = read(reads)
        except Unauthorized:
            return None  # perhaps a login the standby has not replayed yet: the primary decides
        return done, reads.history.replayed

    answered, found = db.replica.attempt(on_standby)
    if not answered:
        return "replica_down"
    if found is None:
        return "missing_session"
    (principal, touch, value), replayed = found
    if not db.replica.shows(fence_keys(principal.person_ids, principal.session_id), replayed):
        return "fence"
    return dataclasses.replace(principal, on_standby=True), touch, value


def read(db: Database, principal: DonorPrincipal, query: Callable[[DonorReads], T]) -> T:
    """`query` on the standby when the request's session was found up to date there, else on the primary."""
    return db.donor_read(query, standby=principal.on_standby)
