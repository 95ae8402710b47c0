"""Where a donor's reads go when a read replica is configured (storage/replica.py explains the fences).

`resolve` finds the donor's session on the standby, in one query that also says how far the standby has
replayed, and looks up the fences of the persons and the session it reaches. When the standby shows
everything fenced, the principal is marked `on_standby` and the request's reads (`read`) go there;
otherwise the session is resolved again on the primary and the request reads from the primary. Without a
read replica both are the plain donor reads of the database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from bloodcert import metrics
from bloodcert.errors import Unauthorized
from bloodcert.services import sessions
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.storage.changes import fence_keys
from bloodcert.storage.uow import Database, DonorReads

T = TypeVar("T")


def resolve(db: Database, token: str | None, now: datetime) -> tuple[DonorPrincipal, bool]:
    """The donor of a live session and whether its idle deadline should move; Unauthorized otherwise."""
    if db.replica is not None and token:
        reason = _try_standby(db, token, now)
        if isinstance(reason, tuple):
            metrics.donor_read("replica", "replayed")
            return reason
        metrics.donor_read("primary", reason)
    with db.donor_reads() as reads:
        return sessions.resolve_donor(reads, token, now)


def _try_standby(db: Database, token: str, now: datetime) -> tuple[DonorPrincipal, bool] | str:
    """The donor as the standby knows them, when it shows everything they must see; else why not."""
    assert db.replica is not None

    def on_standby(reads: DonorReads) -> tuple[DonorPrincipal, bool, int | None] | None:
        try:
            principal, touch = sessions.resolve_donor(reads, token, now)
        except Unauthorized:
            return None  # perhaps a login the standby has not replayed yet: the primary decides
        return principal, touch, reads.history.replayed

    answered, found = db.replica.attempt(on_standby)
    if not answered:
        return "replica_down"
    if found is None:
        return "missing_session"
    principal, touch, replayed = found
    if not db.replica.shows(fence_keys(principal.person_ids, principal.session_id), replayed):
        return "fence"
    return dataclasses.replace(principal, on_standby=True), touch


def read(db: Database, principal: DonorPrincipal, query: Callable[[DonorReads], T]) -> T:
    """`query` on the standby when `resolve` found it up to date for this donor, else on the primary."""
    return db.donor_read(query, standby=principal.on_standby)
