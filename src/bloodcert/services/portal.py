"""The donor portal's pages, each answered by one call: what a page shows, gathered from the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bloodcert.services import honours
from bloodcert.services.history import Filters, History, Me, history, me
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """What the history page shows: who, every donation (for the next dates), the filtered ones, honours."""

    me: Me
    everything: History
    shown: History
    honours: honours.MyHonours


def history_page(uow: UnitOfWork, principal: DonorPrincipal, filters: Filters, today: date) -> HistoryPage:
    """The donor, all their donations, the filtered ones and their honours, for the history page."""
    return HistoryPage(
        me(uow, principal),
        history(uow, principal, Filters()),
        history(uow, principal, filters),
        honours.my_honours(uow, principal, today),
    )
