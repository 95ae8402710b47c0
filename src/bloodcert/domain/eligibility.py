"""Whether a donor may give a kind of donation on a day, from their national history (GB 18467-2011)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bloodcert.domain.donation_rules import Kind, next_eligible


def eligible_from(history: Iterable[tuple[Kind, date]], kind: Kind, day: date) -> date | None:
    """The first day a donation of `kind` is allowed, when that is after `day`; None when `day` is fine.

    Every past donation counts, wherever it was given: the intervals hold nationally, not per station.
    """
    first = next_eligible(history, day)[kind]
    return first if first > day else None
