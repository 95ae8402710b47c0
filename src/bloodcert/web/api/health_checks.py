"""The health check before donating (docs/sites-and-booking.md): the donor's questions, answers and pass,
and the station's read of the answers given at its sites."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody, QueryParameter

from bloodcert.domain.clock import BEIJING
from bloodcert.errors import NotFound
from bloodcert.services import health_checks as svc
from bloodcert.storage.rows import HealthCheckRow, StationHealthCheckRow
from bloodcert.web.auth import audit_read, donor_guard, guarded_donor
from bloodcert.web.signed import signed_request, signing_station
from bloodcert.web.state import AppState

NO_STORE = CacheControlHeader(no_store=True)


class QuestionOut(msgspec.Struct):
    id: str
    zh: str
    en: str


class BookingRef(msgspec.Struct):
    id: int
    site_id: int
    site_name: str
    starts_at: str
    kind: str


class OutcomeOut(msgspec.Struct):
    outcome: str  # pass | deferred | permanent
    come_back_on: str | None
    answered_at: str


class QuestionsOut(msgspec.Struct):
    date: str
    source: str
    effective_from: str
    questions: list[QuestionOut]
    appointment: BookingRef | None
    latest: OutcomeOut | None


class DeferralOut(msgspec.Struct):
    question: str
    come_back_on: str | None
    why_zh: str
    why_en: str


class PassOut(msgspec.Struct):
    qr: str
    expires_at: str


class CheckOut(msgspec.Struct):
    id: int
    outcome: str
    come_back_on: str | None
    deferrals: list[DeferralOut]
    donor_pass: PassOut | None = msgspec.field(name="pass")


class AnswerOut(msgspec.Struct):
    id: str
    question: str
    answer: bool
    defers: bool


class StationCheckOut(msgspec.Struct):
    id: int
    appointment_id: int | None
    appointment_status: str | None
    starts_at: str | None
    name: str
    id_number_masked: str
    kind: str
    outcome: str
    come_back_on: str | None
    answered_at: str
    questionnaire: str
    answers: list[AnswerOut]


class StationChecksOut(msgspec.Struct):
    date: str
    checks: list[StationCheckOut]


def _outcome(check: HealthCheckRow | None) -> OutcomeOut | None:
    if check is None:
        return None
    back = check.come_back_on.isoformat() if check.come_back_on else None
    return OutcomeOut(check.outcome, back, check.answered_at.replace(tzinfo=UTC).isoformat())


@get("", sync_to_thread=True)
def my_questions(request: Request[Any, Any, Any]) -> QuestionsOut:
    """The questions I am asked today (both languages), my booking of today, and my latest answer today."""
    principal = guarded_donor(request)
    now = datetime.now(UTC)
    with AppState.of(request).db.reading() as uow:
        mine = svc.my_questions(uow, principal.person_ids, now)
        latest = svc.todays_check(uow, principal.person_ids, now)
    audit_read(request, principal.actor, "read:health-check")
    a = mine.appointment
    return QuestionsOut(
        mine.today.isoformat(),
        mine.questionnaire.source,
        mine.questionnaire.version,
        [QuestionOut(q.id, q.zh, q.en) for q in mine.questions],
        BookingRef(a.id, a.site_id, a.site_name, a.starts_at, a.kind) if a else None,
        _outcome(latest),
    )


@post("", status_code=201, sync_to_thread=True)
def answer(request: Request[Any, Any, Any], data: JSONBody[svc.CheckIn]) -> CheckOut:
    """Answer the questions for my booking of today (`appointment_id`) or walking in (`site_id`, `kind`)."""
    principal = guarded_donor(request)
    state = AppState.of(request)
    with state.db.transaction() as uow:
        result = svc.submit(uow, principal.person_ids, state.signing, data, datetime.now(UTC))
    audit_read(request, principal.actor, "answer:health-check", str(result.check_id))
    a, issued = result.assessment, result.issued
    return CheckOut(
        result.check_id,
        a.outcome.value,
        a.come_back_on.isoformat() if a.come_back_on else None,
        [
            DeferralOut(
                d.question.id,
                d.come_back_on.isoformat() if d.come_back_on else None,
                d.question.why_zh,
                d.question.why_en,
            )
            for d in a.deferrals
        ],
        PassOut(issued.qr, issued.content.expires_at.isoformat()) if issued else None,
    )


@get("/pass", sync_to_thread=True)
def my_pass(request: Request[Any, Any, Any]) -> PassOut:
    """Today's pass again, while it is in force (404 when there is none)."""
    principal = guarded_donor(request)
    state = AppState.of(request)
    with state.db.reading() as uow:
        issued = svc.todays_pass(uow, principal.person_ids, state.signing, datetime.now(UTC))
    if issued is None:
        raise NotFound("no pass in force today: answer the health questions first")
    audit_read(request, principal.actor, "issue:pass")
    return PassOut(issued.qr, issued.content.expires_at.isoformat())


def _station_check(r: StationHealthCheckRow, lang: str) -> StationCheckOut:
    c = r.check
    defers = svc.deferring_answers(c)
    return StationCheckOut(
        c.id,
        c.appointment_id,
        r.appointment_status,
        r.starts_at,
        r.name,
        r.id_number,
        c.kind,
        c.outcome,
        c.come_back_on.isoformat() if c.come_back_on else None,
        c.answered_at.replace(tzinfo=UTC).isoformat(),
        c.questionnaire,
        [
            AnswerOut(qid, svc.question_text(c.questionnaire, qid, lang), given, qid in defers)
            for qid, given in c.answers.items()
        ],
    )


@get("/{site_code:str}/health-checks", sync_to_thread=True)
def station_checks(
    request: Request[Any, Any, Any],
    site_code: FromPath[str],
    day: Annotated[
        date | None, QueryParameter(name="date", description="Beijing day; today if absent")
    ] = None,
) -> Response[StationChecksOut]:
    """The health checks answered for one of the calling station's sites on a day, with the answers."""
    with AppState.of(request).db.transaction() as uow:
        key = signing_station(uow, request, signed_request(request, b""))
        day = day or datetime.now(BEIJING).date()
        rows = svc.site_checks(uow, key.station_id, site_code, day)
    audit_read(request, f"station:{key.station_code}", "read:health-checks", site_code[:32])
    out = StationChecksOut(day.isoformat(), [_station_check(r, "zh") for r in rows])
    return Response(out, headers={"Cache-Control": "no-store"})


donor_router = Router(
    path="/api/v1/me/health-check",
    route_handlers=[my_questions, answer, my_pass],
    guards=[donor_guard],
    cache_control=NO_STORE,
    tags=["donor"],
    security=[{"donorSession": []}],
)
station_router = Router(
    path="/api/v1/station/sites",
    route_handlers=[station_checks],
    tags=["station"],
    security=[{"stationSignature": []}],
)
