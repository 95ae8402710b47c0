"""Online claims (线上申请) and registered relatives: statuses, the shares a claim splits into, what an
approved share may draw, and which uploaded files are accepted.

A claim is planned with the same drawing rules as a waiver at the hospital counter (domain/waivers.py
`plan`); the draws are grouped by the station that pays them, one share per station, and each station
reviews its own share. Pure: no IO.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bloodcert.domain.waivers import Draw

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
DEFAULT_DUE_WORKING_DAYS = 10
MAX_MESSAGE = 1000
MAX_PAYOUT_REFERENCE = 64


class Decision(StrEnum):
    """What a reviewing station decides about its share, or about a relative."""

    APPROVE = "approve"
    REJECT = "reject"
    NEED_INFO = "need_info"


class ShareStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEED_INFO = "need_info"


class RelativeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEED_INFO = "need_info"


DECIDED = {Decision.APPROVE: "approved", Decision.REJECT: "rejected", Decision.NEED_INFO: "need_info"}
# Claims in these states no longer hold their invoice: it may be waived or claimed again.
RELEASED = frozenset({"rejected"})
FINAL_SHARES = frozenset({ShareStatus.APPROVED.value, ShareStatus.REJECTED.value})


def claim_status(shares: Iterable[str]) -> str:
    """A claim's status from its shares' (SPEC: approved when all are, partly_approved, rejected, need_info).

    `submitted` while no share is decided, `in_review` while some are and none waits for the donor.
    """
    states = list(shares)
    if not states:
        return "submitted"
    if "need_info" in states:
        return "need_info"
    if all(s == "approved" for s in states):
        return "approved"
    if all(s == "rejected" for s in states):
        return "rejected"
    if all(s in FINAL_SHARES for s in states):
        return "partly_approved"
    return "submitted" if all(s == "submitted" for s in states) else "in_review"


def is_open(status: str) -> bool:
    """Whether a claim still waits for a decision (and so can be overdue)."""
    return status in ("submitted", "in_review", "need_info")


def overdue(status: str, due_at: datetime, now: datetime) -> bool:
    """Whether an open claim is past its due date (both naive UTC)."""
    return is_open(status) and now >= due_at


@dataclass(frozen=True, slots=True)
class PlannedShare:
    """One station's part of a claim: the draws it pays, as planned when the claim was filed."""

    station_id: int
    draws: tuple[Draw, ...]

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.jurisdiction for d in self.draws))

    @property
    def ml(self) -> int:
        return sum(d.ml for d in self.draws)

    @property
    def fen(self) -> int:
        return sum(d.fen for d in self.draws)


def shares_of(draws: Sequence[Draw]) -> list[PlannedShare]:
    """Draws grouped by paying station, in the order the plan drew them."""
    grouped: dict[int, list[Draw]] = {}
    for d in draws:
        grouped.setdefault(d.payer_station_id, []).append(d)
    return [PlannedShare(station, tuple(ds)) for station, ds in grouped.items()]


def capped(draw: Draw, remaining: int | None) -> Draw | None:
    """What a planned draw may take now that its pool holds `remaining` (None: unlimited).

    The pool may have given to other waivers since the claim was filed: the share then pays what is
    left, against a volume pool in proportion to the ml (rounded down to the fen), never more than
    planned. None when nothing is left.
    """
    if draw.unlimited or remaining is None:
        return draw
    money = draw.remaining_before_fen is not None
    available = min(remaining, draw.fen if money else draw.ml)
    if available <= 0:
        return None
    if money:
        fen, ml = available, draw.ml * available // draw.fen if draw.fen else 0
        return Draw(
            draw.jurisdiction, draw.pool, draw.rule_id, draw.payer_station_id, ml, fen, False, None, remaining
        )
    fen = draw.fen * available // draw.ml if draw.ml else 0
    return Draw(
        draw.jurisdiction,
        draw.pool,
        draw.rule_id,
        draw.payer_station_id,
        available,
        fen,
        False,
        remaining,
        None,
    )


def hospital_invoice_key(hospital_id: int, invoice_no: str) -> str:
    """How an invoice of a registered hospital is named, whichever way it is settled."""
    return f"h:{hospital_id}:{invoice_no}"


def named_invoice_key(region: str, hospital_name: str, invoice_no: str) -> str:
    """How an invoice of a hospital the platform does not know is named (its region and written name)."""
    name = " ".join(hospital_name.split()).casefold()
    return f"n:{region}:{name}:{invoice_no}"


# ---- uploaded files ------------------------------------------------------------------------------------


class FileProblem(StrEnum):
    """Why an uploaded file is refused."""

    EMPTY = "empty_file"
    TOO_LARGE = "file_too_large"
    UNSUPPORTED = "unsupported_file_type"
    MALFORMED = "malformed_file"


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"


def sniff(content: bytes) -> str | FileProblem:
    """The media type of a PDF, JPEG or PNG recognised by its content (never by its name), or the problem.

    Besides the opening signature, the end of the file must be where the format puts it (a PDF's `%%EOF`,
    a JPEG's end-of-image marker, a PNG's IEND chunk), so that a truncated or padded upload is refused.
    """
    if not content:
        return FileProblem.EMPTY
    if len(content) > MAX_FILE_BYTES:
        return FileProblem.TOO_LARGE
    tail = content[-1024:].rstrip(b"\r\n\t \x00")
    if content.startswith(b"%PDF-"):
        return "application/pdf" if tail.endswith(b"%%EOF") else FileProblem.MALFORMED
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg" if tail.endswith(b"\xff\xd9") else FileProblem.MALFORMED
    if content.startswith(PNG_SIGNATURE):
        good = content[12:16] == b"IHDR" and content.endswith(PNG_END)
        return "image/png" if good else FileProblem.MALFORMED
    return FileProblem.UNSUPPORTED


EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
