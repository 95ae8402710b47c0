"""The satisfaction survey after each donation (满意度评价): one question, a comment, a single-use link.

A link is made when a station reports a donation, for donors who want surveys, and travels in the
survey message. Only its hash is stored. It works once and for SURVEY_DAYS; the answer is taken by one
conditional update, so a double submission counts once. Scores are published per station only from
MIN_ANSWERS answers on, so that no single donor's answer can be read off the public page.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bloodcert.domain.clock import naive_utc
from bloodcert.domain.keyed import token_hash
from bloodcert.errors import Conflict, NotFound, ProblemField, ValidationFailed
from bloodcert.storage.repositories.surveys import InvitationRow, StationScore
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewSurveyInvitation

SURVEY_DAYS = 14
MIN_ANSWERS = 5
MAX_COMMENT = 500
SCORES = range(1, 6)


@dataclass(frozen=True, slots=True)
class Invite:
    """A donation to ask about."""

    person_id: int
    donation_id: int
    station_id: int


def invite(uow: UnitOfWork, invites: Sequence[Invite], now: datetime) -> dict[int, str]:
    """Make a link for each donation not asked about yet; returns {donation id: token}."""
    taken = uow.surveys.invited_donations(i.donation_id for i in invites)
    stamp = naive_utc(now)
    tokens: dict[int, str] = {}
    rows = []
    for item in invites:
        if item.donation_id in taken or item.donation_id in tokens:
            continue
        token = secrets.token_urlsafe(24)
        tokens[item.donation_id] = token
        rows.append(
            NewSurveyInvitation(
                token_hash(token),
                item.donation_id,
                item.person_id,
                item.station_id,
                stamp,
                stamp + timedelta(days=SURVEY_DAYS),
            )
        )
    uow.surveys.add(rows)
    return tokens


def open_link(uow: UnitOfWork, token: str, now: datetime) -> InvitationRow:
    """The survey a link opens; NotFound for an unknown link, Conflict once used or expired."""
    found = uow.surveys.by_token_hash(token_hash(token))
    if found is None:
        raise NotFound("no such survey")
    if found.answered_at is not None:
        raise Conflict("this survey was already answered", slug="survey_used")
    if found.expires_at <= naive_utc(now):
        raise Conflict("this survey link has expired", slug="survey_expired")
    return found


def answer(uow: UnitOfWork, token: str, score: int, comment: str, now: datetime) -> None:
    """Record the donor's score (1–5) and comment; the link is dead afterwards."""
    if score not in SCORES:
        raise ValidationFailed("score 1 to 5", errors=[ProblemField("score", "invalid_value", "1 to 5")])
    open_link(uow, token, now)
    text = comment.strip()[:MAX_COMMENT] or None
    if not uow.surveys.answer(token_hash(token), score, text, naive_utc(now)):
        raise Conflict("this survey was already answered", slug="survey_used")


def published_scores(uow: UnitOfWork, station_ids: Sequence[int] | None = None) -> list[StationScore]:
    """Stations' scores, each only once it has enough answers to keep any one answer private."""
    return [s for s in uow.surveys.scores(station_ids) if s.answers >= MIN_ANSWERS]
