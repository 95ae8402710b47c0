"""The station reporting API (docs/station-integration.md): signed batches in, one outcome per record out."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter

from bloodcert.domain.quality import issue_codes
from bloodcert.errors import PayloadTooLarge, ValidationFailed
from bloodcert.services.ingest_metrics import observe_results
from bloodcert.services.reporting import RecordResult, report_donations, retrying
from bloodcert.services.stations import quality_of_caller
from bloodcert.web.problems import TOO_DEEP
from bloodcert.web.signed import signed_request, signing_station
from bloodcert.web.state import AppState

MAX_BODY = 2 * 1024 * 1024


class ProblemOut(msgspec.Struct):
    field: str
    code: str
    message: str


class WarningOut(msgspec.Struct):
    code: str
    message: str
    field: str | None = None


class RecordOut(msgspec.Struct):
    donation_no: str | None
    outcome: str
    certificate_no: str | None
    errors: list[ProblemOut]
    warnings: list[WarningOut]


class BatchOut(msgspec.Struct):
    results: list[RecordOut]


class QualityIssueOut(msgspec.Struct):
    id: int
    donation_no: str | None
    severity: str
    code: str
    field: str | None
    message: str
    created_at: datetime
    source: str
    # What the code means and what to do about it (data/quality/issue_codes.toml).
    label_zh: str = ""
    label_en: str = ""
    action_zh: str = ""
    action_en: str = ""


class QualityOut(msgspec.Struct):
    station: str
    open: int
    counts: dict[str, int]
    issues: list[QualityIssueOut]


def _records(body: bytes, limit: int) -> list[object]:
    try:
        payload = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed("the body is not valid JSON") from exc
    except RecursionError as exc:
        raise ValidationFailed(TOO_DEEP) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise ValidationFailed('the body must be {"records": [...]}')
    records: list[object] = payload["records"]
    if len(records) > limit:
        raise PayloadTooLarge(f"a batch holds at most {limit} records")
    return records


def _to_out(result: RecordResult) -> RecordOut:
    return RecordOut(
        donation_no=result.donation_no,
        outcome=result.outcome,
        certificate_no=result.certificate_no,
        errors=[ProblemOut(e.field, e.code, e.message) for e in result.errors],
        warnings=[WarningOut(w.code, w.message, w.field) for w in result.warnings],
    )


@post(
    "/api/v1/station/donations",
    request_max_body_size=MAX_BODY,
    status_code=200,
    tags=["station"],
    security=[{"stationSignature": []}],
)
async def report_batch(request: Request[Any, Any, Any]) -> BatchOut:
    """Report up to 1000 donation records, signed with RFC 9421; accepted records commit atomically."""
    state = AppState.of(request)
    signed = signed_request(request, await request.body())

    def work() -> list[RecordResult]:
        with state.db.transaction() as uow:
            key = signing_station(uow, request, signed)
            records = _records(signed.body, state.settings.max_batch_records)
            station = uow.stations.get_by_id(key.station_id)
            assert station is not None
            return report_donations(
                uow,
                station=station,
                records=records,
                index_key=state.settings.index_key,
                signing=state.signing,
                now=datetime.now(UTC),
            )

    results = await anyio.to_thread.run_sync(retrying, work)
    observe_results("api", results)
    return BatchOut([_to_out(r) for r in results])


@get("/api/v1/station/quality", tags=["station"], sync_to_thread=True, security=[{"stationSignature": []}])
def station_quality(
    request: Request[Any, Any, Any],
    limit: int = Parameter(default=100, ge=1, le=500),
    offset: int = Parameter(default=0, ge=0, le=1_000_000),
) -> Response[QualityOut]:
    """The calling station's open data-quality issues, newest first."""
    state = AppState.of(request)
    with state.db.transaction() as uow:
        report = quality_of_caller(
            uow,
            signed_request(request, b""),
            now=datetime.now(UTC),
            window_s=state.settings.signature_window_s,
            limit=limit,
            offset=offset,
        )
    codes = issue_codes()
    issues = [
        QualityIssueOut(
            **dataclasses.asdict(i),
            label_zh=codes.get(i.code).label_zh,
            label_en=codes.get(i.code).label_en,
            action_zh=codes.get(i.code).action_zh,
            action_en=codes.get(i.code).action_en,
        )
        for i in report.issues
    ]
    out = QualityOut(station=report.station_code, open=report.open, counts=report.counts, issues=issues)
    return Response(out, headers={"Cache-Control": "no-store"})
