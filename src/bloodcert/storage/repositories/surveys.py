"""Satisfaction survey links and their answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from bloodcert.storage.tables import stations, survey_invitations
from bloodcert.storage.writes import NewSurveyInvitation, column_values


@dataclass(frozen=True, slots=True)
class InvitationRow:
    """A survey link's state (never its token: only the hash is kept)."""

    id: int
    station_id: int
    station_name: str
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class StationScore:
    """A station's answers: how many, and their mean score."""

    station_id: int
    station_code: str
    station_name: str
    answers: int
    mean: float


class SurveyRepository:
    """Queries over `survey_invitations`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def invited_donations(self, donation_ids: Iterable[int]) -> set[int]:
        """Which of these donations already have a survey link."""
        ids = list(set(donation_ids))
        if not ids:
            return set()
        c = survey_invitations.c
        return {int(r[0]) for r in self.conn.execute(select(c.donation_id).where(c.donation_id.in_(ids)))}

    def add(self, rows: Sequence[NewSurveyInvitation]) -> None:
        """Store new links."""
        if rows:
            self.conn.execute(insert(survey_invitations), [column_values(r) for r in rows])

    def by_token_hash(self, token_hash: bytes) -> InvitationRow | None:
        """The link a token opens."""
        c, s = survey_invitations.c, stations.c
        row = self.conn.execute(
            select(c.id, c.station_id, s.name, c.created_at, c.expires_at, c.answered_at)
            .join(stations, s.id == c.station_id)
            .where(c.token_hash == token_hash)
        ).first()
        return InvitationRow(*row) if row else None

    def answer(self, token_hash: bytes, score: int, comment: str | None, now: datetime) -> bool:
        """Record the answer, once: False when the link was used already or has expired."""
        c = survey_invitations.c
        # One conditional UPDATE: two submissions racing on one link cannot both be counted.
        done = self.conn.execute(
            update(survey_invitations)
            .where(c.token_hash == token_hash, c.answered_at.is_(None), c.expires_at > now)
            .values(answered_at=now, score=score, comment=comment)
        ).rowcount
        return bool(done)

    def scores(self, station_ids: Sequence[int] | None = None) -> list[StationScore]:
        """Each station's number of answers and mean score."""
        c, s = survey_invitations.c, stations.c
        query = (
            select(c.station_id, s.code, s.name, func.count(c.score), func.avg(c.score))
            .join(stations, s.id == c.station_id)
            .where(c.score.is_not(None))
            .group_by(c.station_id, s.code, s.name)
            .order_by(s.code)
        )
        if station_ids is not None:
            query = query.where(c.station_id.in_(station_ids))
        return [StationScore(int(r[0]), r[1], r[2], int(r[3]), float(r[4])) for r in self.conn.execute(query)]
