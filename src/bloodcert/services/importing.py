"""Bulk back-fill from JSON Lines or CSV (`bloodcert import`): same rules as the API, resumable, reported."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bloodcert.domain.identity import IdType
from bloodcert.domain.keyed import identity_hash_of
from bloodcert.errors import Conflict, NotFound
from bloodcert.private_files import open_private, write_private
from bloodcert.services.certificates import CertificateIssuer, Signing
from bloodcert.services.ingest_metrics import observe_results
from bloodcert.services.record_files import Line, fingerprint, read_lines
from bloodcert.services.reporting import RecordResult, Submission, ingest, retrying
from bloodcert.services.workers import IngestWorkers, run_writers
from bloodcert.storage.rows import StationRow
from bloodcert.storage.uow import Database, UnitOfWork, identity_stripe
from bloodcert.storage.writes import NewImportRun

CHUNK = 2000
# A full collection every this many chunks (tune_collector).
COLLECT_EVERY_CHUNKS = 10


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
    defer_signing: bool = False,
) -> ImportSummary:
    """Import every line of `path`; each chunk commits with the run's progress, so a rerun resumes.

    With `workers`, each chunk's certificates are signed in those processes while this one writes the
    chunk's other rows; the outcome is the same as without. With `defer_signing`, certificates are stored
    pending (services/pending_certificates.py signs them).
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
        # A parallel import starts its writers' runs with its own, so only an unfinished run can have them.
        writers = _started_partitions(uow, fp) if run is not None and run.finished_at is None else None
        if writers is not None:
            raise Conflict(
                f"this file's import was started with {writers} writers: go on with --jobs {writers}"
            )
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
    keys = _Keys(index_key, signing, defer_signing)
    with open_private(report_path, "append") as report:
        for lines in _chunks(read_lines(path, station_code, skip=done), chunk):
            ok, bad = _commit_chunk(db, run_id, lines, stations, keys, workers, report, (accepted, rejected))
            accepted, rejected, done = accepted + ok, rejected + bad, lines[-1].number
            if progress is not None:
                progress(lines[-1].number)
    with db.transaction() as uow:
        uow.imports.finish(run_id, _now())
    return ImportSummary(done, accepted, rejected, resumed_from, report_path)


@dataclass(frozen=True, slots=True)
class _Keys:
    index_key: bytes
    signing: Signing
    defer_signing: bool


def _commit_chunk(  # noqa: PLR0917 - the chunk and everything it is written with
    db: Database,
    run_id: int,
    lines: list[Line],
    stations: dict[str, StationRow],
    keys: _Keys,
    workers: IngestWorkers | None,
    report: IO[str],
    totals: tuple[int, int],
) -> tuple[int, int]:
    """Ingest one chunk and advance its run in one transaction (run again if it lost a race with another
    writer); returns how many lines were accepted and rejected."""
    start = report.tell()

    def attempt() -> tuple[int, int, _Chunk]:
        report.seek(start)
        report.truncate()
        with db.transaction() as uow:
            ok, entries, done_chunk = _import_chunk(uow, lines, stations, keys, workers)
            # The chunk's rejections reach the disk before its commit; a crash in between is undone
            # by _trim_report on the next run, so each rejected line is reported exactly once.
            _write_rejections(report, entries)
            accepted, rejected = totals[0] + ok, totals[1] + len(entries)
            uow.imports.advance(run_id, lines_done=lines[-1].number, accepted=accepted, rejected=rejected)
        return ok, len(entries), done_chunk

    ok, bad, done_chunk = retrying(attempt)
    observe_results("import", done_chunk.results, done_chunk.refused_codes)
    return ok, bad


def tune_collector() -> None:
    """Set up the garbage collector of an importing process.

    Each chunk makes and drops tens of thousands of small objects; the default collector thresholds walk
    the heap every few hundred of them (measured: about 12% of an import's time). Instead, what is loaded
    by now stays out of every collection, young objects are collected rarely, and the importer collects
    fully every COLLECT_EVERY_CHUNKS chunks, which frees the reference cycles of finished chunks' plans
    before they pile up (peak RSS 243 MiB on 269 k records, 560 MiB on 2.7 M).
    """
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


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
    keys: _Keys,
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
    results = ingest(
        uow,
        submissions,
        index_key=keys.index_key,
        signing=keys.signing,
        now=_now(),
        source="import",
        sign=workers.sign if workers is not None else None,
        defer_signing=keys.defer_signing,
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


# Partition counts a parallel import may have been started with (to find an interrupted one's writers).
MAX_WRITERS = 64


@dataclass(frozen=True, slots=True)
class WriterJob:
    """What one writer process of a parallel import needs (picklable: it starts in a fresh process)."""

    database_url: str
    data_key: bytes | None
    path: Path
    station_code: str | None
    keys: _Keys
    fingerprint: str
    partition: int
    partitions: int
    after_line: int  # lines up to here were imported before the run went parallel
    report_part: Path
    chunk: int


def partition_of(line: Line, index_key: bytes, partitions: int) -> int:
    """Which of `partitions` writers imports a line: by the lock stripe of its donor's identity, so that
    writers never hold the same identities (storage.uow.identity_stripe); lines without one by number."""
    record = line.record
    donor = record.get("donor") if isinstance(record, dict) else None
    if isinstance(donor, dict):
        return _partition(donor.get("id_type"), donor.get("id_number"), line.number, index_key, partitions)
    return line.number % partitions


def raw_partition_of(number: int, raw: bytes, index_key: bytes, partitions: int) -> int:
    """partition_of for a line of JSON Lines not parsed yet: each writer reads every line of the file, and
    finding the donor's ID type and number in the text costs a fraction of parsing the whole record."""
    id_type, id_number = _ID_TYPE_RE.search(raw), _ID_NUMBER_RE.search(raw)
    if id_type is None or id_number is None:
        return partition_of(_parse_one(number, raw), index_key, partitions)
    try:
        text = id_number.group(1).decode()
    except UnicodeDecodeError:
        return number % partitions
    return _partition(id_type.group(1).decode("ascii"), text, number, index_key, partitions)


def _partition(id_type: object, id_number: object, number: int, index_key: bytes, partitions: int) -> int:
    if isinstance(id_type, str) and id_type in _ID_TYPES and isinstance(id_number, str):
        return identity_stripe(identity_hash_of(index_key, IdType(id_type), id_number)) % partitions
    return number % partitions


def _parse_one(number: int, raw: bytes) -> Line:
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        record = None
    return Line(number, record, None, None)


_ID_TYPES = frozenset(t.value for t in IdType)
# A donor's ID type and number in a record's JSON text (no escapes: a number with any is parsed instead).
_ID_TYPE_RE = re.compile(rb'"id_type"\s*:\s*"([a-z_]+)"')
_ID_NUMBER_RE = re.compile(rb'"id_number"\s*:\s*"([^"\\]*)"')


def import_file_parallel(
    db: Database,
    path: Path,
    *,
    station_code: str | None,
    keys: tuple[bytes, Signing, bool],
    data_key: bytes | None,
    writers: int,
    report_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
) -> ImportSummary:
    """Import a file with `writers` processes writing at once (PostgreSQL): the same outcome as
    import_file, resumable the same way.

    Each writer takes the lines whose donor identity falls in its share of the lock stripes, so writers
    never wait for each other's identities; each commits its own progress (a run of its own, named after
    the file's), and its rejected lines go to a part report, merged into the report at the end. A rerun
    after a crash resumes every writer where it stopped, with the number of writers it started with.
    `progress` is called with how many lines are done so far.
    """
    index_key, signing, defer_signing = keys  # and the data key: each writer opens the database itself
    if not path.is_file():
        raise NotFound(f"no file at {path}")
    report_path = report_path or path.with_name(path.name + ".rejected.jsonl")
    fp = fingerprint(path, station_code)
    with db.transaction() as uow:
        stations = {s.code for s in uow.stations.all()}
        if station_code is not None and station_code not in stations:
            raise NotFound(f"no station with code {station_code}")
        CertificateIssuer.open(uow, signing)
        run = uow.imports.get_by_fingerprint(fp)
        if run is not None and run.finished_at is not None:
            # Finished: at most the writers' part reports are left (merged already, before the commit).
            for leftover in report_path.parent.glob(f"{report_path.name}.part*of*"):
                leftover.unlink()
            return ImportSummary(run.lines_done, run.accepted, run.rejected, run.lines_done, report_path)
        started = _started_partitions(uow, fp) if run is not None else None
        writers = started or writers
        run_id = (
            run.id
            if run
            else uow.imports.start(
                NewImportRun(fingerprint=fp, path=str(path), station_code=station_code, started_at=_now())
            )
        )
        jobs = [
            WriterJob(
                db.url,
                data_key,
                path,
                station_code,
                _Keys(index_key, signing, defer_signing),
                _part_fingerprint(fp, p, writers),
                p,
                writers,
                run.lines_done if run else 0,
                report_path.with_name(f"{report_path.name}.part{p + 1}of{writers}"),
                chunk,
            )
            for p in range(writers)
        ]
        parts = [uow.imports.get_by_fingerprint(job.fingerprint) for job in jobs]
        for job, part in zip(jobs, parts, strict=True):
            if part is None:
                uow.imports.start(
                    NewImportRun(
                        fingerprint=job.fingerprint,
                        path=f"{path} (writer {job.partition + 1} of {writers})",
                        station_code=station_code,
                        started_at=_now(),
                    )
                )
        # Every line up to the lowest writer's progress is done: what "resumed after line N" can say (a
        # writer's run started just now has done none).
        resumed_from = max(run.lines_done if run else 0, min(p.lines_done if p else 0 for p in parts))
    base = (run.lines_done, run.accepted, run.rejected) if run else (0, 0, 0)
    _trim_report(report_path, base[0])
    run_writers(_write_partition, jobs, progress)
    lines, accepted, rejected = base
    with db.transaction() as uow:
        for job in jobs:
            part = uow.imports.get_by_fingerprint(job.fingerprint)
            assert part is not None
            lines = max(lines, part.lines_done)
            accepted, rejected = accepted + part.accepted, rejected + part.rejected
        uow.imports.advance(run_id, lines_done=lines, accepted=accepted, rejected=rejected)
        # On disk before the commit: a crash in between is undone by the rerun's _trim_report, which then
        # merges the part reports again.
        _merge_reports(report_path, [job.report_part for job in jobs])
        uow.imports.finish(run_id, _now())
    for job in jobs:
        job.report_part.unlink(missing_ok=True)
    return ImportSummary(lines, accepted, rejected, resumed_from, report_path)


def _part_fingerprint(fp: str, partition: int, partitions: int) -> str:
    return hashlib.sha256(f"{fp}|writer {partition + 1} of {partitions}".encode()).hexdigest()


def _started_partitions(uow: UnitOfWork, fp: str) -> int | None:
    """How many writers an interrupted parallel import of this file started with (None: none did)."""
    for n in range(2, MAX_WRITERS + 1):
        if uow.imports.get_by_fingerprint(_part_fingerprint(fp, 0, n)) is not None:
            return n
    return None


def started_writers(db: Database, path: Path, station_code: str | None) -> int | None:
    """How many writers an unfinished parallel import of this file started with; None when none did (a
    rerun must go on with as many, since each resumes its own share of the lines)."""
    fp = fingerprint(path, station_code)
    with db.reading() as uow:
        run = uow.imports.get_by_fingerprint(fp)
        return None if run is None or run.finished_at is not None else _started_partitions(uow, fp)


def _merge_reports(report_path: Path, parts: list[Path]) -> None:
    """Append the writers' rejected lines to the report, in line order."""
    entries: list[tuple[int, str]] = []
    for part in parts:
        if part.is_file():
            for entry in part.read_text(encoding="utf-8").splitlines():
                entries.append((int(json.loads(entry)["line"]), entry + "\n"))
    entries.sort(key=lambda e: e[0])
    with open_private(report_path, "append") as report:
        report.writelines(entry for _, entry in entries)
        report.flush()
        os.fsync(report.fileno())


def _write_partition(job: WriterJob, progress: Callable[[int], None]) -> None:
    """One writer of a parallel import (in its own process): its lines, in chunks, each committed with
    its own run's progress."""
    tune_collector()
    db = Database(job.database_url, data_key=job.data_key)
    try:
        with db.transaction() as uow:
            stations = {s.code: s for s in uow.stations.all()}
            run = uow.imports.get_by_fingerprint(job.fingerprint)
            assert run is not None
        done, accepted, rejected = run.lines_done, run.accepted, run.rejected
        _trim_report(job.report_part, done)
        index_key = job.keys.index_key
        skipped = 0

        def raw_mine(number: int, raw: bytes) -> bool:
            return raw_partition_of(number, raw, index_key, job.partitions) == job.partition

        csv = job.path.suffix.lower() == ".csv"

        def mine() -> Iterator[Line]:
            nonlocal skipped
            for line in read_lines(job.path, job.station_code, skip=job.after_line, only=raw_mine):
                if csv and partition_of(line, index_key, job.partitions) != job.partition:
                    continue
                if line.number <= done:
                    skipped += 1
                    continue
                yield line

        with open_private(job.report_part, "append") as report:
            for n, lines in enumerate(_chunks(mine(), job.chunk), start=1):
                if n % COLLECT_EVERY_CHUNKS == 0:
                    gc.collect()
                totals = (accepted, rejected)
                ok, bad = _commit_chunk(db, run.id, lines, stations, job.keys, None, report, totals)
                accepted, rejected = accepted + ok, rejected + bad
                progress(len(lines) + skipped)
                skipped = 0
        progress(skipped)
    finally:
        db.dispose()
