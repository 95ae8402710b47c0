"""Supply levels and call-ups: a station publishes its stock by type; a type turning short calls up the
donors of that type nearby who asked for it (domain/supply.py says whom), at most twice a month each.

Every report is kept (append-only); the latest per station and type is in force. A call-up names the
donors it reached, so that the monthly cap counts what was really sent, and the station later sees how
many of them booked. Each call-up message carries a one-click way out: a token that names the donor
without a login, and that only stops call-ups.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec

from bloodcert.domain.clock import BEIJING, beijing_midnight_utc, naive_utc
from bloodcert.domain.donation_rules import Kind
from bloodcert.domain.notifications import LEVEL_WORDS, Channel, Event, Topic
from bloodcert.domain.regions import province_name
from bloodcert.domain.staff import StaffPrincipal
from bloodcert.domain.supply import Candidate, Level, area_of, calls_up, reached
from bloodcert.errors import NotFound, ProblemField, ValidationFailed
from bloodcert.services.console import Caller, station_of
from bloodcert.services.notifications import preferences_of, raise_events, save_preferences
from bloodcert.services.sites import decode
from bloodcert.storage.repositories.supply import CallupRow, LevelRow
from bloodcert.storage.rows import StationRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewCallup, NewSupplyLevel

TYPE_NAMES = {"positive": "", "negative": " RhD-"}


class LevelIn(msgspec.Struct, forbid_unknown_fields=True):
    abo: Literal["O", "A", "B", "AB"]
    rhd: Literal["positive", "negative"]
    level: Literal["adequate", "low", "critical"]


class LevelsIn(msgspec.Struct, forbid_unknown_fields=True):
    levels: list[LevelIn]


@dataclass(frozen=True, slots=True)
class Published:
    """What a report did: the levels in force now and the call-ups it set off."""

    levels: list[LevelRow]
    callups: list[CallupRow]


def parse_levels(body: bytes) -> list[tuple[str, str, Level]]:
    """A station's report `{"levels": [{"abo", "rhd", "level"}]}`, each type at most once."""
    data = decode(body, LevelsIn)
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(data.levels):
        if (item.abo, item.rhd) in seen:
            raise ValidationFailed(
                "a type is given twice", errors=[ProblemField(f"levels[{i}]", "duplicate", "given twice")]
            )
        seen.add((item.abo, item.rhd))
    if not data.levels:
        raise ValidationFailed(
            "no levels", errors=[ProblemField("levels", "missing_field", "give at least one")]
        )
    return [(i.abo, i.rhd, Level(i.level)) for i in data.levels]


def publish(
    uow: UnitOfWork,
    station: StationRow,
    levels: Sequence[tuple[str, str, Level]],
    *,
    actor: str,
    now: datetime,
    monthly_cap: int,
    index_key: bytes,
) -> Published:
    """Record a station's levels and call up donors for each type that turned short or got worse."""
    stamp = naive_utc(now)
    before = {(r.abo, r.rhd): Level(r.level) for r in uow.supply.current(station.id)}
    uow.supply.add_levels(
        [NewSupplyLevel(station.id, a, r, lv.value, stamp, actor[:64]) for a, r, lv in levels]
    )
    made = [
        _call_up(uow, station, (abo, rhd, level), now, limits=(monthly_cap, index_key))
        for abo, rhd, level in levels
        if calls_up(before.get((abo, rhd)), level)
    ]
    rows = {c.id: c for c in uow.supply.callups_of_station(station.id)}
    return Published(uow.supply.current(station.id), [rows[i] for i in made if i in rows])


def candidates(uow: UnitOfWork, abo: str, rhd: str, now: datetime) -> list[Candidate]:
    """Donors of a type who opted in to call-ups, with their regions, history and this month's call-ups."""
    opted = [o for o in uow.supply.opted_in_of_type(abo, rhd) if o.choices.get(Topic.CALLUP.value)]
    ids = [o.person_id for o in opted]
    month_start = beijing_midnight_utc(now.astimezone(BEIJING).date().replace(day=1))
    counts = uow.supply.callups_since(ids, month_start)
    last = uow.supply.last_regions(ids)
    past = uow.donations.valid_of_persons(ids)
    kinds = {k.value for k in Kind}
    return [
        Candidate(
            o.person_id,
            o.home_region,
            last.get(o.person_id),
            [(Kind(d.kind), d.donated_on) for d in past.get(o.person_id, []) if d.kind in kinds],
            counts.get(o.person_id, 0),
        )
        for o in opted
    ]


def _call_up(
    uow: UnitOfWork,
    station: StationRow,
    short: tuple[str, str, Level],
    now: datetime,
    *,
    limits: tuple[int, bytes],
) -> int:
    abo, rhd, level = short
    cap, key = limits
    area = area_of(station.region)
    day = now.astimezone(BEIJING).date()
    person_ids = reached(candidates(uow, abo, rhd, now), area, day, cap)
    callup_id = uow.supply.add_callup(
        NewCallup(station.id, abo, rhd, level.value, area, len(person_ids), naive_utc(now)), person_ids
    )
    zh, en = LEVEL_WORDS[level.value]
    params = {"station": station.name, "type": abo + TYPE_NAMES[rhd], "level_zh": zh, "level_en": en}
    events = [
        (pid, Event(Topic.CALLUP, "callup.low", f"callup:{callup_id}", params, _link(key, pid, area)))
        for pid in person_ids
    ]
    raise_events(uow, events, now)
    return callup_id


def _link(key: bytes, person_id: int, area: str) -> str:
    # The page behind it offers the site finder and the one-click way out, without a login.
    return f"/callups/{optout_token(key, person_id)}?region={area[:2]}"


def station_callups(uow: UnitOfWork, station_id: int) -> list[CallupRow]:
    """A station's call-ups with how many donors each reached and how many booked since."""
    return uow.supply.callups_of_station(station_id)


@dataclass(frozen=True, slots=True)
class ProvinceLevels:
    """One province's stations and their levels by type."""

    code: str
    name: str
    stations: list[tuple[str, str, dict[str, str]]]  # code, name, {"O+": level, …}


def national_levels(uow: UnitOfWork) -> list[ProvinceLevels]:
    """Every province's published levels, by station; provinces without reports are left out."""
    provinces: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}
    for row in uow.supply.current():
        stations = provinces.setdefault(row.region[:2], {})
        _name, levels = stations.setdefault(row.station_code, (row.station_name, {}))
        levels[row.abo + ("-" if row.rhd == "negative" else "+")] = row.level
    return [
        ProvinceLevels(
            code, province_name(code + "0000") or code, [(c, n, lv) for c, (n, lv) in sorted(st.items())]
        )
        for code, st in sorted(provinces.items())
    ]


# ---- one-click opt-out


def optout_token(index_key: bytes, person_id: int) -> str:
    """A token that stops one donor's call-ups, for links in messages (no login needed)."""
    body = person_id.to_bytes(8, "big")
    mac = hmac.new(index_key, b"callup-optout" + body, "sha256").digest()[:16]
    return base64.urlsafe_b64encode(body + mac).decode("ascii").rstrip("=")


def _person_of(index_key: bytes, token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise NotFound("no such link") from None
    if len(raw) != 24:
        raise NotFound("no such link")
    person_id = int.from_bytes(raw[:8], "big")
    if not hmac.compare_digest(optout_token(index_key, person_id), token.rstrip("=")):
        raise NotFound("no such link")
    return person_id


def stop_callups(uow: UnitOfWork, index_key: bytes, token: str, now: datetime) -> None:
    """Stop the call-ups of the donor the token names (other choices stay as they were)."""
    person_id = _person_of(index_key, token)
    stop_callups_of(uow, person_id, now)


def stop_callups_of(uow: UnitOfWork, person_id: int, now: datetime) -> None:
    """Stop one donor's call-ups, on every channel."""
    prefs = preferences_of(uow, person_id)
    choices = {**prefs.choices, Topic.CALLUP: frozenset[Channel]()}
    save_preferences(uow, person_id, type(prefs)(choices, prefs.phone, prefs.home_region), now)


# ---- the console


@dataclass(frozen=True, slots=True)
class StationSupply:
    """A station's levels in force and its call-ups, for its console screen."""

    station: StationRow
    levels: dict[str, str]  # "O+" → level
    callups: list[CallupRow]


def console_view(uow: UnitOfWork, principal: StaffPrincipal, code: str) -> StationSupply:
    """What the station's supply screen shows, for a caller who may reach the station."""
    station = station_of(uow, principal, code)
    levels = {r.abo + ("-" if r.rhd == "negative" else "+"): r.level for r in uow.supply.current(station.id)}
    return StationSupply(station, levels, uow.supply.callups_of_station(station.id))


def publish_from_console(
    uow: UnitOfWork,
    caller: Caller,
    code: str,
    levels: Sequence[tuple[str, str, Level]],
    *,
    monthly_cap: int,
    index_key: bytes,
) -> Published | None:
    """Publish levels for a station from its console screen (audited); None when none were chosen."""
    station = station_of(uow, caller.principal, code)
    if not levels:
        return None
    done = publish(
        uow,
        station,
        levels,
        actor=caller.principal.actor,
        now=caller.now,
        monthly_cap=monthly_cap,
        index_key=index_key,
    )
    caller.record(uow, "supply:publish", station.code)
    return done


def seed_demo_levels(uow: UnitOfWork, now: datetime, index_key: bytes) -> int:
    """Levels for each province's blood centre, for the demo's public supply page; returns how many."""
    centres = [s for s in uow.stations.all() if s.region.endswith("0000")]
    shapes = [Level.ADEQUATE, Level.ADEQUATE, Level.LOW, Level.ADEQUATE, Level.CRITICAL]
    for i, station in enumerate(centres):
        levels = [
            (abo, rhd, shapes[(i + j) % len(shapes)] if rhd == "positive" else Level.LOW)
            for j, (abo, rhd) in enumerate(
                (a, r) for r in ("positive", "negative") for a in ("O", "A", "B", "AB")
            )
        ]
        publish(uow, station, levels, actor="demo", now=now, monthly_cap=0, index_key=index_key)
    return len(centres)
