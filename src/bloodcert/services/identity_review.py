"""Identity conflicts resolved by a person: an administrator sees both sides (ID numbers masked) and
decides. The same person (a changed name, a mistyped ABO type, with the evidence noted) merges one into the
other; different people keeps them apart and clears the flag. Either decision is reversible and audited;
a merge moves the donations, re-issues their certificates in the kept name and recomputes both totals.

A provincial administrator decides the conflicts of persons reported by a station of their province.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bloodcert.certs.payload import CertificateContent
from bloodcert.domain.certno import make_certificate_no
from bloodcert.domain.clock import naive_utc
from bloodcert.domain.identity import mask_id_number
from bloodcert.domain.staff import Role, StaffPrincipal, reaches_province, require_role
from bloodcert.errors import Conflict, Forbidden, NotFound, ValidationFailed
from bloodcert.services.certificates import CertificateIssuer, Signing
from bloodcert.services.console import Caller
from bloodcert.services.reporting import CERTIFICATE_COUNTER
from bloodcert.storage.repositories.identity_review import DecisionRow, ReviewPerson
from bloodcert.storage.rows import PersonRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewCertificate, NewIdentityDecision

ADMINS = (Role.NATIONAL_ADMIN, Role.PROVINCIAL_ADMIN)
LISTED = 100
MAX_EVIDENCE = 500
MERGE, SEPARATE = "merge", "separate"


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a conflict as the console shows it: never the full ID number."""

    person_id: int
    name: str
    id_type: str
    id_number_masked: str
    sex: str | None
    abo: str
    rhd: str | None
    donations: int
    first_at: datetime | None
    last_at: datetime | None
    stations: tuple[str, ...]
    settled: bool


@dataclass(frozen=True, slots=True)
class ConflictGroup:
    """Persons sharing one ID number."""

    sides: list[Side]


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision as the console lists it."""

    row: DecisionRow
    kept: str
    other: str


def _side(p: ReviewPerson) -> Side:
    person = p.person
    return Side(
        person.id,
        person.name,
        person.id_type,
        mask_id_number(person.id_number),
        person.sex,
        person.abo,
        person.rhd,
        person.donation_count,
        person.first_at,
        person.last_at,
        p.station_codes,
        p.settled_at is not None,
    )


def _reaches(principal: StaffPrincipal, sides: Sequence[ReviewPerson]) -> bool:
    if principal.role is Role.NATIONAL_ADMIN:
        return True
    return any(reaches_province(principal, region[:2]) for p in sides for region in p.regions)


def conflicts(uow: UnitOfWork, principal: StaffPrincipal) -> list[ConflictGroup]:
    """The open conflicts the caller may decide, oldest first."""
    require_role(principal, ADMINS)
    found = []
    for identity in uow.identity_review.conflicted_hashes(LISTED * 5):
        sides = uow.identity_review.persons_of_identity(identity)
        if len(sides) > 1 and _reaches(principal, sides):
            found.append(ConflictGroup([_side(s) for s in sides]))
        if len(found) >= LISTED:
            break
    return found


def decisions(uow: UnitOfWork, principal: StaffPrincipal) -> list[Decision]:
    """The latest decisions the caller may see, newest first."""
    require_role(principal, ADMINS)
    out = []
    for row in uow.identity_review.recent_decisions(LISTED * 5):
        kept, other = (
            uow.identity_review.person(row.person_id),
            uow.identity_review.person(row.other_person_id),
        )
        if kept is None or other is None or not _reaches(principal, [kept, other]):
            continue
        out.append(Decision(row, kept.person.name, other.person.name))
        if len(out) >= LISTED:
            break
    return out


def _pair(
    uow: UnitOfWork, principal: StaffPrincipal, keep_id: int, other_id: int
) -> tuple[ReviewPerson, ReviewPerson]:
    require_role(principal, ADMINS)
    keep, other = uow.identity_review.person(keep_id), uow.identity_review.person(other_id)
    if keep is None or other is None or keep_id == other_id or keep.identity_hash != other.identity_hash:
        raise NotFound("no such conflict")
    if not _reaches(principal, [keep, other]):
        raise Forbidden("this conflict is outside your province")
    if keep.merged_into is not None or other.merged_into is not None:
        raise Conflict("one of these persons is already merged into another")
    return keep, other


def _evidence(text: str) -> str:
    note = " ".join(text.split())
    if not note:
        raise ValidationFailed("note the evidence the decision rests on")
    if len(note) > MAX_EVIDENCE:
        raise ValidationFailed(f"the evidence note is at most {MAX_EVIDENCE} characters")
    return note


def merge(
    uow: UnitOfWork, caller: Caller, signing: Signing, *, keep_id: int, other_id: int, evidence: str
) -> int:
    """The same person: move the other's donations to the kept person, re-issue their certificates in the
    kept name and ABO type, recompute both totals; returns the decision's id."""
    keep, other = _pair(uow, caller.principal, keep_id, other_id)
    note = _evidence(evidence)
    stamp = naive_utc(caller.now)
    moved = uow.identity_review.move(other.person.id, keep.person.id)
    uow.identity_review.set_merged_into(other.person.id, keep.person.id, stamp)
    reissue(uow, signing, moved, keep.person, caller.now)
    uow.persons.recompute_totals([keep.person.id, other.person.id], stamp)
    return _decide(uow, caller, keep, other, decision=MERGE, note=note)


def separate(uow: UnitOfWork, caller: Caller, *, keep_id: int, other_id: int, evidence: str) -> int:
    """Different people: keep them apart and clear the flag; returns the decision's id."""
    keep, other = _pair(uow, caller.principal, keep_id, other_id)
    note = _evidence(evidence)
    uow.identity_review.settle([keep.person.id, other.person.id], naive_utc(caller.now))
    return _decide(uow, caller, keep, other, decision=SEPARATE, note=note)


def _decide(
    uow: UnitOfWork, caller: Caller, keep: ReviewPerson, other: ReviewPerson, *, decision: str, note: str
) -> int:
    stamp = naive_utc(caller.now)
    decision_id = uow.identity_review.add_decision(
        NewIdentityDecision(
            keep.identity_hash, keep.person.id, other.person.id, decision, note, caller.principal.actor, stamp
        )
    )
    uow.identity_review.close_conflict_issues(
        [keep.person.id, other.person.id], _issue_note(decision_id), caller.principal.actor, stamp
    )
    caller.record(
        uow, f"identity.{decision}", f"persons {keep.person.id} {other.person.id} decision {decision_id}"
    )
    return decision_id


def _issue_note(decision_id: int) -> str:
    return f"identity decision #{decision_id}"


def undo(uow: UnitOfWork, caller: Caller, signing: Signing, decision_id: int) -> DecisionRow:
    """Undo a decision: a merge gives the other person back what stations reported under its own key (and
    re-issues those certificates in its name); a separation puts the conflict back under review."""
    require_role(caller.principal, ADMINS)
    row = uow.identity_review.decision(decision_id)
    if row is None:
        raise NotFound("no such decision")
    keep, other = uow.identity_review.person(row.person_id), uow.identity_review.person(row.other_person_id)
    assert keep is not None
    assert other is not None
    if not _reaches(caller.principal, [keep, other]):
        raise Forbidden("this decision is outside your province")
    stamp = naive_utc(caller.now)
    if not uow.identity_review.mark_undone(row.id, caller.principal.actor, stamp):
        raise Conflict("this decision is already undone")
    if row.decision == MERGE:
        if other.merged_into != keep.person.id:
            raise Conflict("the persons have changed since; this merge cannot be undone")
        uow.identity_review.set_merged_into(other.person.id, None, stamp)
        moved = uow.identity_review.move_back(other.merge_hash, keep.person.id, other.person.id)
        reissue(uow, signing, moved, other.person, caller.now)
        uow.persons.recompute_totals([keep.person.id, other.person.id], stamp)
    else:
        uow.identity_review.settle([keep.person.id, other.person.id], None)
    uow.identity_review.reopen_conflict_issues(_issue_note(row.id))
    caller.record(uow, f"identity.undo_{row.decision}", f"decision {row.id}")
    undone = uow.identity_review.decision(row.id)
    assert undone is not None
    return undone


def reissue(
    uow: UnitOfWork, signing: Signing, donation_ids: Sequence[int], holder: PersonRow, now: datetime
) -> None:
    """Supersede the active certificates of the valid donations among these and issue new ones naming the
    holder; the old ones stop verifying (their status bits are set)."""
    valid = uow.identity_review.valid_donations(donation_ids)
    if not valid:
        return
    stamp = naive_utc(now)
    issuer = CertificateIssuer.open(uow, signing)
    ended = uow.certificates.end_active([d.donation_id for d in valid], "superseded", stamp)
    first = uow.donations.allocate_serials(CERTIFICATE_COUNTER, len(valid))
    contents = [
        CertificateContent(
            certificate_no=make_certificate_no(d.donated_on.year, first + i),
            donation_no=d.donation_no,
            station_code=d.station_code,
            station_name=d.station_name,
            donated_on=d.donated_on,
            kind=d.kind,
            volume_ml=d.volume_ml,
            units=d.units,
            holder_name=holder.name,
            id_number_masked=mask_id_number(holder.id_number),
            abo=holder.abo,
            rhd=holder.rhd,
            status_list=("", 0),
        )
        for i, d in enumerate(valid)
    ]
    issued = issuer.start_issue(contents, now)()
    rows = []
    for d, (content, qr) in zip(valid, issued, strict=True):
        rows.append(
            NewCertificate(
                certificate_no=content.certificate_no,
                donation_id=d.donation_id,
                donation_version=d.version,
                person_id=holder.id,
                status="active",
                issued_at=stamp,
                status_changed_at=None,
                kid=issuer.key.kid,
                status_list_id=content.status_list[0],
                status_index=content.status_list[1],
                qr=qr,
            )
        )
        uow.identity_review.set_certificate_no(d.donation_id, content.certificate_no)
    uow.certificates.issue_many(rows)
    issuer.revoke(ended)
    issuer.flush(now)
