"""Honours: the donations the commendation counts, stations' decisions on candidates, honour cards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, delete, insert, select, update

from bloodcert.storage.rows import HonourCardRow, HonourDecisionRow, HonourDonationRow
from bloodcert.storage.tables import donations, honour_cards, honour_decisions, stations

_DONATION_COLUMNS = (
    donations.c.person_id,
    donations.c.donated_on,
    donations.c.kind,
    donations.c.volume_ml,
    donations.c.units,
    donations.c.site_region,
    stations.c.code,
    stations.c.name,
)
_DECISION_COLUMNS = (
    honour_decisions.c.person_id,
    honour_decisions.c.cycle,
    honour_decisions.c.award,
    honour_decisions.c.status,
    honour_decisions.c.reason,
    honour_decisions.c.decided_by,
    honour_decisions.c.decided_at,
)
_CARD_COLUMNS = (
    honour_cards.c.person_id,
    honour_cards.c.serial,
    honour_cards.c.issued_at,
    honour_cards.c.expires_at,
)


class HonourRepository:
    """Queries over `honour_decisions` and `honour_cards`, and donations as the commendation counts them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def counted_donations(
        self, *, until: date, province: str | None = None, station_code: str | None = None
    ) -> list[HonourDonationRow]:
        """Valid donations made by `until` of every person who gave at least once in the province (2 digits)
        or at the station, in person and date order; the whole national history of each such person."""
        joined = donations.join(stations, stations.c.id == donations.c.station_id)
        query = (
            select(*_DONATION_COLUMNS)
            .select_from(joined)
            .where(donations.c.status == "valid", donations.c.donated_on <= until)
        )
        if province is not None or station_code is not None:
            local = select(donations.c.person_id).select_from(joined).where(donations.c.status == "valid")
            if province is not None:
                local = local.where(stations.c.region.startswith(province, autoescape=True))
            if station_code is not None:
                local = local.where(stations.c.code == station_code)
            query = query.where(donations.c.person_id.in_(local))
        query = query.order_by(donations.c.person_id, donations.c.donated_on, donations.c.id)
        return [HonourDonationRow(*row) for row in self.conn.execute(query)]

    def decisions_of_persons(self, person_ids: Sequence[int]) -> list[HonourDecisionRow]:
        """Every decision about these persons, oldest cycle first."""
        if not person_ids:
            return []
        query = (
            select(*_DECISION_COLUMNS)
            .where(honour_decisions.c.person_id.in_(person_ids))
            .order_by(honour_decisions.c.cycle, honour_decisions.c.id)
        )
        return [HonourDecisionRow(*row) for row in self.conn.execute(query)]

    def decisions_in_cycle(self, cycle: str) -> list[HonourDecisionRow]:
        """Every decision taken on a cycle's candidates."""
        query = select(*_DECISION_COLUMNS).where(honour_decisions.c.cycle == cycle)
        return [HonourDecisionRow(*row) for row in self.conn.execute(query)]

    def record_decision(self, decision: HonourDecisionRow) -> None:
        """Keep a decision; a later decision on the same person, cycle and award replaces the earlier one."""
        key = (
            (honour_decisions.c.person_id == decision.person_id)
            & (honour_decisions.c.cycle == decision.cycle)
            & (honour_decisions.c.award == decision.award)
        )
        values = {
            "status": decision.status,
            "reason": decision.reason,
            "decided_by": decision.decided_by,
            "decided_at": decision.decided_at,
        }
        if self.conn.execute(update(honour_decisions).where(key).values(**values)).rowcount == 0:
            self.conn.execute(
                insert(honour_decisions).values(
                    person_id=decision.person_id, cycle=decision.cycle, award=decision.award, **values
                )
            )

    def card_by_serial(self, serial: str) -> HonourCardRow | None:
        """The card in force with this serial, or None (never issued, or superseded by a re-issue)."""
        row = self.conn.execute(select(*_CARD_COLUMNS).where(honour_cards.c.serial == serial)).first()
        return HonourCardRow(*row) if row else None

    def replace_card(self, card: HonourCardRow) -> None:
        """Make `card` the person's card in force; any earlier serial stops existing."""
        self.conn.execute(delete(honour_cards).where(honour_cards.c.person_id == card.person_id))
        self.conn.execute(
            insert(honour_cards).values(
                person_id=card.person_id,
                serial=card.serial,
                issued_at=card.issued_at,
                expires_at=card.expires_at,
            )
        )
