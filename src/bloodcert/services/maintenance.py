"""Housekeeping that keeps short-lived rows from piling up: `bloodcert db prune`, run from cron."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bloodcert.services import staff
from bloodcert.services.donor_login import FAILURE_WINDOW
from bloodcert.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one run removed (captchas, OAuth states and old login failures are not counted)."""

    nonces: int
    rate_windows: int
    fences: int = 0


def prune(uow: UnitOfWork, *, now: datetime, signature_window_s: int) -> Pruned:
    """Drop station nonces no signature can reuse any more (older than twice the signature window, so
    that clock skew never reopens a replay), expired captchas and OAuth states, login failures too old
    to count (donor and console), rate-limit windows that have ended, and expired read-replica fences."""
    naive = now.replace(tzinfo=None)
    nonces = uow.nonces.forget_before(naive - timedelta(seconds=2 * signature_window_s))
    uow.identity.purge_expired(naive, naive - FAILURE_WINDOW)
    uow.staff.purge_client_failures(naive - staff.FAILURE_WINDOW)
    windows = uow.rate_counters.forget_ended(now.timestamp())
    fences = uow.fences.forget_expired(naive)
    return Pruned(int(nonces), windows, fences)
