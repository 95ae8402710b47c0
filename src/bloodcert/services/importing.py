"""Bulk back-fill from JSON Lines or CSV (`bloodcert import`): same rules as the API, resumable, reported."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bloodcert.errors import NotFound
from bloodcert.private_files import open_private, write_private
from bloodcert.services.certificates import CertificateIssuer, Signing
from bloodcert.services.ingest_metrics import observe_results
from bloodcert.services.record_files import Line, fingerprint, read_lines
from bloodcert.services.reporting import RecordResult, Submission, ingest
from bloodcert.services.workers import IngestWorkers
from bloodcert.storage.rows import StationRow
from bloodcert.storage.uow import Database, UnitOfWork
from bloodcert.storage.writes import NewImportRun

CHUNK = 2000


@dataclass(slots=True)
class ImportSummary:
    """Totals of one import run (including what earlier, interrupted runs of the same file did)."""

    lines: int
    accepted: int
    rejected: int
    resumed_from: int
    report_path: Path


def import_file(
    db: Database,
    path: Path,
    *,
    station_code: str | None,
    index_key: bytes,
    signing: Signing,
    report_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
    workers: IngestWorkers | None = None,
) -> ImportSummary:
    """Import every line of `path`; each chunk commits with the run's progress, so a rerun resumes.

    With `workers`, each chunk's certificates are signed in those processes while this one writes the
    chunk's other rows; the outcome is the same as without.
    """
    if not path.is_file():
        raise NotFound(f"no file at {path}")
    report_path = report_path or path.with_name(path.name + ".rejected.jsonl")
    fp = fingerprint(path, station_code)
    with db.transaction() as uow:
        stations = {s.code: s for s in uow.stations.all()}
        if station_code is not None and station_code not in stations:
            raise NotFound(f"no station with code {station_code}")
        # Fail before the first line, not after it, when the signing keys are missing.
        CertificateIssuer.open(uow, signing)
        run = uow.imports.get_by_fingerprint(fp)
        run_id = (
            run.id
            if run
            else uow.imports.start(
                NewImportRun(fingerprint=fp, path=str(path), station_code=station_code, started_at=_now())
            )
        )
    done, accepted, rejected = (run.lines_done, run.accepted, run.rejected) if run else (0, 0, 0)
    resumed_from = done
    _trim_report(report_path, done)
    with open_private(report_path, "append") as report:
        for lines in _chunks(read_lines(path, station_code, skip=done), chunk):
            with db.transaction() as uow:
                ok, entries, done_chunk = _import_chunk(uow, lines, stations, (index_key, signing), workers)
                # The chunk's rejections reach the disk before its commit; a crash in between is undone
                # by _trim_report on the next run, so each rejected line is reported exactly once.
                _write_rejections(report, entries)
                accepted, rejected = accepted + ok, rejected + len(entries)
                done = lines[-1].number
                uow.imports.advance(run_id, lines_done=done, accepted=accepted, rejected=rejected)
            observe_results("import", done_chunk.results, done_chunk.refused_codes)
            if progress is not None:
                progress(lines[-1].number)
    with db.transaction() as uow:
        uow.imports.finish(run_id, _now())
    return ImportSummary(done, accepted, rejected, resumed_from, report_path)


def _trim_report(report_path: Path, lines_done: int) -> None:
    """Keep only the report entries of committed lines (all of them on a fresh run: none)."""
    kept: list[str] = []
    if lines_done and report_path.is_file():
        for entry in report_path.read_text(encoding="utf-8").splitlines():
            try:
                if int(json.loads(entry)["line"]) <= lines_done:
                    kept.append(entry + "\n")
            except (ValueError, KeyError, TypeError):
                continue
    # The report quotes rejected records, personal data included: owner-only like the input.
    write_private(report_path, "".join(kept).encode("utf-8"))


def _import_chunk(
    uow: UnitOfWork,
    lines: list[Line],
    stations: dict[str, StationRow],
    keys: tuple[bytes, Signing],
    workers: IngestWorkers | None,
) -> tuple[int, list[dict[str, Any]], _Chunk]:
    """Ingest one chunk; returns how many lines were accepted, the report entries of the rest, and the
    chunk's results (for the metrics, once committed)."""
    entries: list[dict[str, Any]] = []
    kept: list[Line] = []
    for line in lines:
        reason = line.parse_error or _station_problem(line.station_code, stations)
        if reason is None:
            kept.append(line)
            continue
        code = "invalid_format" if line.parse_error else "unknown_station"
        error = {"field": "" if line.parse_error else "station", "code": code, "message": reason}
        entries.append(_entry(line.number, _donation_no(line.record), [error]))
    refused = [entry["errors"][0]["code"] for entry in entries]
    submissions = [Submission(stations[line.station_code or ""], line.record) for line in kept]
    index_key, signing = keys
    results = ingest(
        uow,
        submissions,
        index_key=index_key,
        signing=signing,
        now=_now(),
        source="import",
        sign=workers.sign if workers is not None else None,
    )
    for line, result in zip(kept, results, strict=True):
        if result.outcome == "rejected":
            entries.append(_entry(line.number, result.donation_no, _errors(result)))
    entries.sort(key=lambda e: int(e["line"]))
    return len(kept) - sum(1 for r in results if r.outcome == "rejected"), entries, _Chunk(results, refused)


@dataclass(frozen=True, slots=True)
class _Chunk:
    results: list[RecordResult]  # of the lines that reached ingest
    refused_codes: list[str]  # of the lines refused before it (unreadable, unknown station)


def _donation_no(record: object) -> str | None:
    value = record.get("donation_no") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _station_problem(code: str | None, stations: dict[str, StationRow]) -> str | None:
    if not code:
        return "no station: give --station or a 'station' field on each record"
    if code not in stations:
        return f"station {code} is not registered"
    return None


def _errors(result: RecordResult) -> list[dict[str, str]]:
    return [{"field": e.field, "code": e.code, "message": e.message} for e in result.errors]


def _entry(line: int, donation_no: str | None, errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"line": line, "donation_no": donation_no, "errors": errors}


def _write_rejections(report: IO[str], entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        report.write(json.dumps(entry, ensure_ascii=False) + "\n")
    report.flush()
    os.fsync(report.fileno())


def _chunks(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    batch: list[Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _now() -> datetime:
    return datetime.now(UTC)


def count_lines(path: Path) -> int:
    """Lines in a file, counted in blocks (for the progress bar's total)."""
    total = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            total += block.count(b"\n")
    return total
