"""Supply levels (docs/notifications.md): stations publish their stock by type, signed like the donation
batch, and see their call-ups; anyone reads every province's levels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, Router, get, put

from bloodcert.services import supply as svc
from bloodcert.services import surveys
from bloodcert.services.station_auth import SignedRequest
from bloodcert.storage.repositories.supply import CallupRow, LevelRow
from bloodcert.storage.rows import StationRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.web.signed import signed_request, signing_station
from bloodcert.web.state import AppState


class LevelOut(msgspec.Struct):
    abo: str
    rhd: str
    level: str
    reported_at: str


class CallupOut(msgspec.Struct):
    id: int
    abo: str
    rhd: str
    level: str
    area: str
    reached: int
    booked: int
    created_at: str


class PublishedOut(msgspec.Struct):
    levels: list[LevelOut]
    callups: list[CallupOut]


class CallupsOut(msgspec.Struct):
    callups: list[CallupOut]


class StationLevelsOut(msgspec.Struct):
    code: str
    name: str
    levels: dict[str, str]


class ProvinceOut(msgspec.Struct):
    code: str
    name: str
    stations: list[StationLevelsOut]


class SupplyOut(msgspec.Struct):
    provinces: list[ProvinceOut]


def _iso(when: datetime) -> str:
    return when.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _level(r: LevelRow) -> LevelOut:
    return LevelOut(r.abo, r.rhd, r.level, _iso(r.reported_at))


def callup_out(r: CallupRow) -> CallupOut:
    """A call-up as the API shows it."""
    return CallupOut(r.id, r.abo, r.rhd, r.level, r.area, r.reached, r.booked, _iso(r.created_at))


def _station(uow: UnitOfWork, request: Request[Any, Any, Any], signed: SignedRequest) -> StationRow:
    key = signing_station(uow, request, signed)
    station = uow.stations.get_by_id(key.station_id)
    assert station is not None
    return station


@put("/supply")
async def put_supply(request: Request[Any, Any, Any]) -> PublishedOut:
    """Publish the calling station's stock by type: `{"levels": [{"abo", "rhd", "level"}]}`. A type that
    turns low or critical calls up nearby donors of that type who asked for it."""
    signed = signed_request(request, await request.body())
    state = AppState.of(request)

    def work() -> svc.Published:
        with state.db.transaction() as uow:
            station = _station(uow, request, signed)
            levels = svc.parse_levels(signed.body)
            return svc.publish(
                uow,
                station,
                levels,
                actor=f"station:{station.code}",
                now=datetime.now(UTC),
                monthly_cap=state.settings.notify.callups_per_month,
                index_key=state.settings.index_key,
            )

    done = await anyio.to_thread.run_sync(work)
    return PublishedOut([_level(r) for r in done.levels], [callup_out(c) for c in done.callups])


@get("/callups", sync_to_thread=True)
def get_callups(request: Request[Any, Any, Any]) -> Response[CallupsOut]:
    """The calling station's call-ups, newest first: how many donors each reached, how many booked since."""
    with AppState.of(request).db.transaction() as uow:
        station = _station(uow, request, signed_request(request, b""))
        rows = svc.station_callups(uow, station.id)
    return Response(CallupsOut([callup_out(r) for r in rows]), headers={"Cache-Control": "no-store"})


@get("/api/v1/supply", sync_to_thread=True)
def get_supply(request: Request[Any, Any, Any]) -> Response[SupplyOut]:
    """Every province's published stock by station and type (`O+`, `O-`, …): adequate, low or critical."""
    with AppState.of(request).db.reading() as uow:
        provinces = svc.national_levels(uow)
    out = SupplyOut(
        [
            ProvinceOut(p.code, p.name, [StationLevelsOut(c, n, lv) for c, n, lv in p.stations])
            for p in provinces
        ]
    )
    return Response(out, headers={"Cache-Control": "public, max-age=60"})


class ScoreOut(msgspec.Struct):
    code: str
    name: str
    answers: int
    mean: float


class ScoresOut(msgspec.Struct):
    stations: list[ScoreOut]


@get("/api/v1/satisfaction", sync_to_thread=True)
def get_satisfaction(request: Request[Any, Any, Any]) -> Response[ScoresOut]:
    """Donors' satisfaction per station (1–5), for stations with enough answers to keep each private."""
    with AppState.of(request).db.reading() as uow:
        scores = surveys.published_scores(uow)
    out = ScoresOut([ScoreOut(s.station_code, s.station_name, s.answers, round(s.mean, 2)) for s in scores])
    return Response(out, headers={"Cache-Control": "public, max-age=300"})


station_router = Router(
    path="/api/v1/station",
    route_handlers=[put_supply, get_callups],
    tags=["station"],
    security=[{"stationSignature": []}],
)
