"""Stations and their request-signing keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from bloodcert.storage.rows import StationKeyRow, StationRow
from bloodcert.storage.tables import station_keys, stations
from bloodcert.storage.writes import NewStation, NewStationKey, column_values


class StationRepository:
    """Queries over `stations` and `station_keys`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, station: NewStation) -> int:
        """Register a station; returns its id."""
        result = self.conn.execute(insert(stations).values(**column_values(station)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def add_many(self, rows: Sequence[NewStation]) -> None:
        """Register many stations in one statement."""
        if rows:
            self.conn.execute(insert(stations), [column_values(row) for row in rows])

    def get_by_code(self, code: str) -> StationRow | None:
        """The station with this code, or None."""
        row = self.conn.execute(
            select(stations.c.id, stations.c.code, stations.c.name, stations.c.tier, stations.c.region).where(
                stations.c.code == code
            )
        ).first()
        return StationRow(*row) if row else None

    def get_by_id(self, station_id: int) -> StationRow | None:
        """The station with this id, or None."""
        row = self.conn.execute(
            select(stations.c.id, stations.c.code, stations.c.name, stations.c.tier, stations.c.region).where(
                stations.c.id == station_id
            )
        ).first()
        return StationRow(*row) if row else None

    def all(self) -> list[StationRow]:
        """Every registered station, by code."""
        rows = self.conn.execute(
            select(
                stations.c.id, stations.c.code, stations.c.name, stations.c.tier, stations.c.region
            ).order_by(stations.c.code)
        )
        return [StationRow(*r) for r in rows]

    def existing_codes(self) -> set[str]:
        """The codes already registered."""
        return set(self.conn.execute(select(stations.c.code)).scalars())

    def count(self) -> int:
        """How many stations are registered."""
        return int(self.conn.execute(select(func.count()).select_from(stations)).scalar_one())

    def add_key(self, key: NewStationKey) -> None:
        """Register a public key for a station."""
        self.conn.execute(insert(station_keys).values(**column_values(key)))

    def get_key(self, key_id: str) -> StationKeyRow | None:
        """A station key by its key id, with the owning station's code."""
        row = self.conn.execute(
            select(
                station_keys.c.key_id,
                station_keys.c.station_id,
                stations.c.code,
                station_keys.c.alg,
                station_keys.c.public_key_pem,
                station_keys.c.created_at,
                station_keys.c.revoked_at,
            )
            .join(stations, stations.c.id == station_keys.c.station_id)
            .where(station_keys.c.key_id == key_id)
        ).first()
        return StationKeyRow(*row) if row else None

    def keys_of_station(self, station_id: int) -> list[StationKeyRow]:
        """All keys a station has ever had, newest first."""
        rows = self.conn.execute(
            select(
                station_keys.c.key_id,
                station_keys.c.station_id,
                stations.c.code,
                station_keys.c.alg,
                station_keys.c.public_key_pem,
                station_keys.c.created_at,
                station_keys.c.revoked_at,
            )
            .join(stations, stations.c.id == station_keys.c.station_id)
            .where(station_keys.c.station_id == station_id)
            .order_by(station_keys.c.created_at.desc(), station_keys.c.id.desc())
        )
        return [StationKeyRow(*r) for r in rows]

    def revoke_key(self, key_id: str, now: datetime) -> bool:
        """Revoke a key; False when it does not exist or was already revoked."""
        result = self.conn.execute(
            update(station_keys)
            .where(station_keys.c.key_id == key_id, station_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1
