"""Donation sites and booking (docs/sites-and-booking.md): the public finder, the stations' signed
maintenance of sites, slots and attendance, and the donor's own appointments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import anyio.to_thread
import msgspec
from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter

from bloodcert.domain.clock import BEIJING
from bloodcert.domain.donation_rules import Kind
from bloodcert.services import booking
from bloodcert.services import sites as svc
from bloodcert.services.audit import AuditEvent
from bloodcert.storage.repositories.sites import AppointmentRow, SiteRow, SlotRow
from bloodcert.web.auth import audit_read, donor_guard, guarded_donor
from bloodcert.web.clients import client_of
from bloodcert.web.signed import signed_request, signing_station
from bloodcert.web.state import AppState

# Ids are positive and fit every database's integer (a larger one is simply not found, never a 500).
RowId = Annotated[int, Parameter(ge=1, le=2**53)]
REGION = r"^[0-9]{2}([0-9]{2}){0,2}$"
# Latitude -90..90 and longitude -180..180 in decimal degrees, "LAT,LON".
NEAR = (
    r"^-?(90(\.0{1,8})?|[1-8]?[0-9](\.[0-9]{1,8})?),"
    r"-?(180(\.0{1,8})?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]{1,8})?)$"
)
MAX_BODY = 256 * 1024
NO_STORE = CacheControlHeader(no_store=True)


class HoursOut(msgspec.Struct):
    weekday: int
    opens: str
    closes: str


class StopOut(msgspec.Struct):
    date: str
    place: str
    lat: float
    lon: float
    opens: str
    closes: str


class SiteOut(msgspec.Struct, omit_defaults=True):
    id: int
    station_code: str
    code: str
    name: str
    type: str
    region: str
    lat: float
    lon: float
    address: str
    hours: list[HoursOut]
    schedule: list[StopOut] = []
    distance_km: float | None = None


class SitesOut(msgspec.Struct):
    sites: list[SiteOut]


class SlotOut(msgspec.Struct):
    id: int
    starts_at: str
    capacity: int
    booked: int


class SlotsOut(msgspec.Struct):
    date: str
    slots: list[SlotOut]


class BookingOut(msgspec.Struct):
    id: int
    starts_at: str
    kind: str
    status: str
    name: str
    id_number_masked: str


class BookingsOut(msgspec.Struct):
    date: str
    bookings: list[BookingOut]


class AttendanceOut(msgspec.Struct):
    id: int
    status: str


class AppointmentIn(msgspec.Struct, forbid_unknown_fields=True):
    slot_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    kind: Literal["whole_blood", "platelets", "plasma"]


class MoveIn(msgspec.Struct, forbid_unknown_fields=True):
    slot_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)]


class AppointmentOut(msgspec.Struct):
    id: int
    slot_id: int
    status: str


class MyAppointmentOut(msgspec.Struct):
    id: int
    slot_id: int
    status: str
    kind: str
    site_id: int
    site_name: str
    date: str
    starts_at: str


class MyAppointmentsOut(msgspec.Struct):
    appointments: list[MyAppointmentOut]
    no_shows: int


def _site_out(
    site: SiteRow, lat: float | None = None, lon: float | None = None, km: float | None = None
) -> SiteOut:
    s = site.site
    return SiteOut(
        id=site.id,
        station_code=site.station_code,
        code=s.code,
        name=s.name,
        type=s.type.value,
        region=s.region,
        lat=s.lat if lat is None else lat,
        lon=s.lon if lon is None else lon,
        address=s.address,
        hours=[HoursOut(h.weekday, h.opens.strftime("%H:%M"), h.closes.strftime("%H:%M")) for h in s.hours],
        schedule=[
            StopOut(
                t.day.isoformat(),
                t.place,
                t.lat,
                t.lon,
                t.opens.strftime("%H:%M"),
                t.closes.strftime("%H:%M"),
            )
            for t in s.schedule
        ],
        distance_km=km,
    )


def _slots_out(day: date, rows: list[SlotRow]) -> SlotsOut:
    return SlotsOut(day.isoformat(), [SlotOut(r.id, r.starts_at, r.capacity, r.booked) for r in rows])


def _near(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    lat, lon = text.split(",")
    return float(lat), float(lon)


# ---- public


@get("/api/v1/sites", sync_to_thread=True, tags=["sites"])
def find_sites(
    request: Request[Any, Any, Any],
    region: Annotated[str | None, QueryParameter(pattern=REGION, description="GB/T 2260 prefix")] = None,
    near: Annotated[str | None, QueryParameter(pattern=NEAR, description="LAT,LON (WGS-84)")] = None,
    open_on: Annotated[date | None, QueryParameter(description="Beijing calendar day")] = None,
) -> SitesOut:
    """Donation sites under a region prefix, open on a day if asked, nearest first when `near` is given."""
    with AppState.of(request).db.reading() as uow:
        found = svc.find_sites(
            uow, region=region, near=_near(near), open_on=open_on, today=datetime.now(BEIJING).date()
        )
    return SitesOut([_site_out(f.row, f.lat, f.lon, f.distance_km) for f in found])


@get("/api/v1/sites/{site_id:int}/slots", sync_to_thread=True, tags=["sites"])
def site_slots(
    request: Request[Any, Any, Any],
    site_id: RowId,
    day: Annotated[
        date | None, QueryParameter(name="date", description="Beijing day; today if absent")
    ] = None,
) -> SlotsOut:
    """A site's slots on a day (Beijing time), with how many places are taken."""
    with AppState.of(request).db.reading() as uow:
        day = day or datetime.now(BEIJING).date()
        _site, rows = svc.site_slots(uow, site_id, day)
    return _slots_out(day, rows)


# ---- stations (signed like the donation batch)


@put("/{site_code:str}", request_max_body_size=MAX_BODY)
async def put_site(request: Request[Any, Any, Any], site_code: FromPath[str]) -> SiteOut:
    """Create or replace one of the calling station's sites, with its hours (and a mobile site's schedule)."""
    signed = signed_request(request, await request.body())

    def work() -> SiteRow:
        with AppState.of(request).db.transaction() as uow:
            return svc.save_site(
                uow,
                signing_station(uow, request, signed).station_id,
                site_code,
                signed.body,
                datetime.now(UTC),
            )

    return _site_out(await anyio.to_thread.run_sync(work))


@put("/{site_code:str}/slots")
async def put_slots(request: Request[Any, Any, Any], site_code: FromPath[str]) -> SlotsOut:
    """Set a day's slots at one of the calling station's sites (Beijing time)."""
    signed = signed_request(request, await request.body())

    def work() -> tuple[date, list[SlotRow]]:
        with AppState.of(request).db.transaction() as uow:
            return svc.set_day_slots(
                uow, signing_station(uow, request, signed).station_id, site_code, signed.body
            )

    return _slots_out(*await anyio.to_thread.run_sync(work))


@get("/{site_code:str}/bookings", sync_to_thread=True)
def get_bookings(
    request: Request[Any, Any, Any],
    site_code: FromPath[str],
    day: Annotated[
        date | None, QueryParameter(name="date", description="Beijing day; today if absent")
    ] = None,
) -> Response[BookingsOut]:
    """The day's bookings at one of the calling station's sites, by time (ID numbers masked)."""
    with AppState.of(request).db.transaction() as uow:
        key = signing_station(uow, request, signed_request(request, b""))
        day = day or datetime.now(BEIJING).date()
        rows = svc.day_bookings(uow, key.station_id, site_code, day)
    audit_read(request, f"station:{key.station_code}", "read:bookings", site_code[:32])
    out = BookingsOut(
        day.isoformat(), [BookingOut(r.id, r.starts_at, r.kind, r.status, r.name, r.id_number) for r in rows]
    )
    return Response(out, headers={"Cache-Control": "no-store"})


@put("/{site_code:str}/bookings/{appointment_id:int}")
async def put_attendance(
    request: Request[Any, Any, Any], site_code: FromPath[str], appointment_id: RowId
) -> AttendanceOut:
    """Record whether a booked donor came: `{"status": "attended" | "no_show"}`."""
    signed = signed_request(request, await request.body())

    def work() -> str:
        with AppState.of(request).db.transaction() as uow:
            station_id = signing_station(uow, request, signed).station_id
            return svc.mark_attendance(
                uow, station_id, site_code, appointment_id, body=signed.body, now=datetime.now(UTC)
            )

    return AttendanceOut(appointment_id, await anyio.to_thread.run_sync(work))


# ---- the donor's appointments


def _audit(request: Request[Any, Any, Any], action: str, obj: str | None = None) -> None:
    state = AppState.of(request)
    assert state.audit is not None
    state.audit.record(AuditEvent(guarded_donor(request).actor, action, obj, client_of(request)))


@post("", status_code=201, sync_to_thread=True)
def book(request: Request[Any, Any, Any], data: JSONBody[AppointmentIn]) -> AppointmentOut:
    """Book a place in a slot; refused when the slot is full or the donation intervals do not allow it."""
    with AppState.of(request).db.transaction() as uow:
        appointment_id = booking.book(
            uow, guarded_donor(request).person_ids, data.slot_id, Kind(data.kind), datetime.now(UTC)
        )
    _audit(request, "book", str(appointment_id))
    return AppointmentOut(appointment_id, data.slot_id, "booked")


@get("", sync_to_thread=True)
def my_appointments(request: Request[Any, Any, Any]) -> MyAppointmentsOut:
    """My bookings, latest day first, and how many I did not come to."""
    with AppState.of(request).db.reading() as uow:
        mine = booking.my_appointments(uow, guarded_donor(request).person_ids)
    audit_read(request, guarded_donor(request).actor, "read:appointments")
    return MyAppointmentsOut([_mine_out(a) for a in mine.appointments], mine.no_shows)


def _mine_out(a: AppointmentRow) -> MyAppointmentOut:
    return MyAppointmentOut(
        a.id, a.slot_id, a.status, a.kind, a.site_id, a.site_name, a.day.isoformat(), a.starts_at
    )


@patch("/{appointment_id:int}", sync_to_thread=True)
def move(request: Request[Any, Any, Any], appointment_id: RowId, data: JSONBody[MoveIn]) -> AppointmentOut:
    """Move my booking to another slot (the intervals are checked again for the new day)."""
    with AppState.of(request).db.transaction() as uow:
        moved = booking.reschedule(
            uow, guarded_donor(request).person_ids, appointment_id, data.slot_id, datetime.now(UTC)
        )
    _audit(request, "reschedule", str(appointment_id))
    return AppointmentOut(moved.id, moved.slot_id, moved.status)


@delete("/{appointment_id:int}", status_code=204, sync_to_thread=True)
def cancel(request: Request[Any, Any, Any], appointment_id: RowId) -> None:
    """Cancel my booking; its place is free again."""
    with AppState.of(request).db.transaction() as uow:
        booking.cancel(uow, guarded_donor(request).person_ids, appointment_id, datetime.now(UTC))
    _audit(request, "cancel", str(appointment_id))


appointments_router = Router(
    path="/api/v1/me/appointments",
    route_handlers=[book, my_appointments, move, cancel],
    guards=[donor_guard],
    cache_control=NO_STORE,
    tags=["donor"],
    security=[{"donorSession": []}],
)
public_handlers = [find_sites, site_slots]
station_router = Router(
    path="/api/v1/station/sites",
    route_handlers=[put_site, put_slots, get_bookings, put_attendance],
    tags=["station"],
    security=[{"stationSignature": []}],
)
