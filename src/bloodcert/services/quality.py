"""Closing data-quality issues: an operator marks an issue fixed (naming the corrected donation, which must
be the station's own) or accepted with a note. A closed issue leaves the open list and stays in the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from bloodcert.domain.clock import naive_utc
from bloodcert.domain.quality import Closing, IssueCode, issue_codes, parse_closing
from bloodcert.errors import Conflict, NotFound
from bloodcert.services.console import Caller, station_of
from bloodcert.storage.rows import ClosedIssueRow, QualityIssueRow
from bloodcert.storage.uow import UnitOfWork

HISTORY_SHOWN = 50


@dataclass(frozen=True, slots=True)
class LabelledIssue:
    """An open issue with what its code means and what to do."""

    issue: QualityIssueRow
    meaning: IssueCode


def labelled(issues: list[QualityIssueRow]) -> list[LabelledIssue]:
    """Issues with their labels and actions (data/quality/issue_codes.toml)."""
    codes = issue_codes()
    return [LabelledIssue(i, codes.get(i.code)) for i in issues]


def close_issue(
    uow: UnitOfWork, caller: Caller, code: str, issue_id: int, *, action: str, donation_no: str, note: str
) -> QualityIssueRow:
    """Close one open issue of a station the caller may reach; audited in the same transaction."""
    station = station_of(uow, caller.principal, code)
    closing, donation_no, note = parse_closing(action, donation_no=donation_no, note=note)
    issue = uow.quality.get_of_station(station.id, issue_id)
    if issue is None:
        raise NotFound("this station has no such issue")
    fixed_id = None
    if closing is Closing.FIXED:
        found = uow.donations.current_by_keys([(station.id, donation_no)]).get((station.id, donation_no))
        if found is None:
            raise NotFound(f"this station has reported no donation {donation_no}")
        fixed_id = found.id
    closed = uow.quality.close(
        issue.id,
        status=closing.value,
        fixed_donation_id=fixed_id,
        note=note or None,
        by=caller.principal.actor,
        at=naive_utc(caller.now),
    )
    if not closed:
        raise Conflict("this issue is already closed")
    caller.record(uow, f"quality.{closing.value}", f"{station.code} issue {issue.id}")
    return issue


def closed_history(uow: UnitOfWork, station_id: int) -> list[ClosedIssueRow]:
    """The station's most recently closed issues."""
    return uow.quality.closed_of_station(station_id, limit=HISTORY_SHOWN)
