"""Whether a donor may give a kind of donation on a day, from their national history (GB 18467-2011)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bloodcert.domain.donation_rules import MAX_AGE, MAX_AGE_FIRST_TIME, MIN_AGE, Kind, age_on, next_eligible


def eligible_from(history: Iterable[tuple[Kind, date]], kind: Kind, day: date) -> date | None:
    """The first day a donation of `kind` is allowed, when that is after `day`; None when `day` is fine.

    Every past donation counts, wherever it was given: the intervals hold nationally, not per station.
    """
    first = next_eligible(history, day)[kind]
    return first if first > day else None


@dataclass(frozen=True, slots=True)
class AgeRefusal:
    """Why the donor's age does not allow a donation on a day, and from when it will (if ever)."""

    code: str  # too_young | too_old
    age: int
    limit: int  # the bound that was crossed: 18, 55 or 60
    eligible_from: date | None  # the 18th birthday for a donor too young; None for one too old


def birthday(birth: date, years: int) -> date:
    """The day a person born on `birth` turns `years` old (29 February counts from 1 March)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def age_refusal(
    birth: date | None, day: date, *, repeat_donor: bool, adverse_history: bool = False
) -> AgeRefusal | None:
    """GB 18467-2011: donors are 18 to 55; a repeat donor with no adverse reaction may go on to 60.

    None when the age allows the donation, or when the birth date is not known (a document that does not
    encode it): the staff at the site check the age on the document then.
    """
    if birth is None:
        return None
    age = age_on(birth, day)
    if age < MIN_AGE:
        return AgeRefusal("too_young", age, MIN_AGE, birthday(birth, MIN_AGE))
    limit = MAX_AGE if repeat_donor and not adverse_history else MAX_AGE_FIRST_TIME
    if age > limit:
        return AgeRefusal("too_old", age, limit, None)
    return None
