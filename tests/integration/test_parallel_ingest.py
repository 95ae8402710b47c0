"""Ingest by several writers at once on PostgreSQL: the same people from every writer merge into one person
each, no record is lost or doubled, and certificate numbers and status entries stay unique."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from bloodcert.services.certificates import Signing, rotate_keys
from bloodcert.services.importing import (
    CHUNK,
    import_file,
    import_file_parallel,
    partition_of,
    raw_partition_of,
)
from bloodcert.services.record_files import read_lines
from bloodcert.services.reporting import Submission, ingest, retrying
from bloodcert.services.stations import seed_builtin_stations
from bloodcert.services.synthetic import Generator
from bloodcert.services.verification import OnlineVerifier
from bloodcert.storage.tables import certificates, donation_versions, donations, persons, stations
from bloodcert.storage.uow import Database
from tests.cli_process import cli
from tests.conftest import DATA_KEY, INDEX_KEY, empty_postgres, signing_for
from tests.factories import make_record

pytestmark = pytest.mark.postgres

PERSONS = 150
BATCH = 60
TODAY = date(2026, 11, 30)


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path) -> Iterator[Database]:
    """The session's private PostgreSQL database, emptied, with certificate keys and the built-in stations."""
    database = Database(postgres_url, data_key=DATA_KEY)
    empty_postgres(database)
    with database.transaction() as uow:
        rotate_keys(uow, signing_for(tmp_path), datetime.now(UTC))
        seed_builtin_stations(uow, datetime.now(UTC))
    yield database
    database.dispose()


def generated(persons: int, seed: int = 7) -> list[dict[str, Any]]:
    return list(Generator(seed=seed, today=TODAY).records(persons))


def person_key(record: dict[str, Any]) -> tuple[str, str, str, str]:
    d = record["donor"]
    return (d["id_type"], d["id_number"].upper(), d["name"], d["abo"])


def scalar(db: Database, query: Any) -> int:
    with db.reading() as uow:
        return int(uow.conn.execute(query).scalar_one())


def ingest_all(
    db: Database, signing: Signing, records: list[dict[str, Any]], start: threading.Barrier
) -> int:
    """One writer: the records in batches, each its own transaction; returns how many were accepted."""
    with db.reading() as uow:
        by_code = {s.code: s for s in uow.stations.all()}
    start.wait()
    accepted = 0
    for i in range(0, len(records), BATCH):
        batch = [Submission(by_code[r["station"]], r) for r in records[i : i + BATCH]]

        def attempt(batch: list[Submission] = batch) -> int:
            with db.transaction() as uow:
                results = ingest(
                    uow, batch, index_key=INDEX_KEY, signing=signing, now=datetime.now(UTC), source="import"
                )
            return sum(r.outcome != "rejected" for r in results)

        accepted += retrying(attempt)
    return accepted


def test_writers_on_the_same_people_merge_them_and_lose_nothing(pg: Database, tmp_path: Path) -> None:
    """Three writers at once: two send different donations of the same people (each in its own order),
    the third sends the first one's donations again. Every count matches one made from the records."""
    signing = signing_for(tmp_path)
    records = generated(PERSONS)
    ours = [{**r, "donation_no": r["donation_no"] + "-A"} for r in records]
    theirs = [{**r, "donation_no": r["donation_no"] + "-B"} for r in reversed(records)]
    again = list(ours)
    start = threading.Barrier(3)
    with ThreadPoolExecutor(3) as pool:
        accepted = list(pool.map(lambda rs: ingest_all(pg, signing, rs, start), [ours, theirs, again]))

    people = Counter(person_key(r) for r in records)
    assert accepted == [len(records)] * 3
    assert scalar(pg, select(func.count()).select_from(persons)) == len(people)
    assert scalar(pg, select(func.count()).select_from(donations)) == 2 * len(records)
    assert scalar(pg, select(func.count()).select_from(donation_versions)) == 2 * len(records)
    assert scalar(pg, select(func.count()).select_from(certificates)) == 2 * len(records)
    assert scalar(pg, select(func.count(func.distinct(certificates.c.certificate_no)))) == 2 * len(records)
    entries = select(func.count()).select_from(
        select(certificates.c.status_list_id, certificates.c.status_index).distinct().subquery()
    )
    assert scalar(pg, entries) == 2 * len(records)
    # Each person's totals count both writers' donations, whoever committed last.
    with pg.reading() as uow:
        counts = sorted(uow.conn.execute(select(persons.c.donation_count)).scalars())
        totals = int(uow.conn.execute(select(func.sum(persons.c.donation_count))).scalar_one())
    assert counts == sorted(2 * n for n in people.values())
    assert totals == 2 * len(records)
    verifier = OnlineVerifier(pg, "CN-NHC")
    with pg.reading() as uow:
        sample = uow.conn.execute(select(certificates.c.qr).order_by(certificates.c.id).limit(10)).scalars()
        assert all(verifier.verify(qr).valid for qr in sample)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def outcome(db: Database) -> dict[str, Any]:
    """What an import left: the donations with their person's merge key and version count, per station."""
    with db.reading() as uow:
        rows = uow.conn.execute(
            select(stations.c.code, donations.c.donation_no, persons.c.merge_hash, donations.c.certificate_no)
            .join(stations, stations.c.id == donations.c.station_id)
            .join(persons, persons.c.id == donations.c.person_id)
        ).all()
    return {
        "donations": sorted((code, no) for code, no, _, _ in rows),
        "people": len({bytes(h) for _, _, h, _ in rows}),
        "certified": sum(c is not None for *_, c in rows),
    }


def test_a_parallel_import_has_the_outcome_of_a_single_writer(pg: Database, tmp_path: Path) -> None:
    signing = signing_for(tmp_path)
    records = generated(120, seed=3)
    records.insert(17, {**records[0], "volume_ml": -1, "donation_no": "BAD-1"})  # one rejected line
    path = write_jsonl(tmp_path / "national.jsonl", records)
    summary = import_file_parallel(
        pg, path, station_code=None, keys=(INDEX_KEY, signing, False), data_key=DATA_KEY, writers=2, chunk=25
    )
    assert (summary.lines, summary.accepted, summary.rejected) == (len(records), len(records) - 1, 1)
    report = [json.loads(line) for line in summary.report_path.read_text().splitlines()]
    assert [e["line"] for e in report] == [18]
    assert not list(tmp_path.glob("*.part*"))
    parallel = outcome(pg)
    assert parallel["people"] == len({person_key(r) for r in records})
    assert parallel["certified"] == len(records) - 1
    # The same file again changes nothing.
    again = import_file_parallel(
        pg, path, station_code=None, keys=(INDEX_KEY, signing, False), data_key=DATA_KEY, writers=2
    )
    assert (again.accepted, again.rejected) == (summary.accepted, summary.rejected)
    assert outcome(pg) == parallel
    # A single writer on a fresh database makes the same donations and people.
    with pg.engine.begin() as conn:
        conn.execute(text("TRUNCATE import_runs, quality_issues, certificates, donation_versions CASCADE"))
        conn.execute(text("TRUNCATE donations, donors, persons CASCADE"))
    import_file(pg, path, station_code=None, index_key=INDEX_KEY, signing=signing, report_path=tmp_path / "r")
    assert outcome(pg) == parallel


def test_writers_split_a_file_by_identity(tmp_path: Path) -> None:
    records = generated(60, seed=5)
    path = write_jsonl(tmp_path / "a.jsonl", records)
    parts: dict[tuple[str, str], set[int]] = {}
    raw = path.read_bytes().splitlines()
    for line in read_lines(path, None):
        assert isinstance(line.record, dict)
        donor = line.record["donor"]
        writer = partition_of(line, INDEX_KEY, 3)
        # Found in the line's text without parsing it, the same writer.
        assert raw_partition_of(line.number, raw[line.number - 1], INDEX_KEY, 3) == writer
        parts.setdefault((donor["id_type"], donor["id_number"]), set()).add(writer)
    assert all(len(p) == 1 for p in parts.values())  # one person's lines go to one writer
    assert set().union(*parts.values()) == {0, 1, 2}
    # A number written with an escape is read by parsing; a line that is no record goes by its number.
    number = records[0]["donor"]["id_number"]
    spelled = '"' + "".join(f"\\u{ord(c):04x}" for c in number) + '"'
    escaped = json.dumps(records[0], ensure_ascii=False).replace(f'"{number}"', spelled).encode()
    assert b"\\u00" in escaped
    first = next(read_lines(path, None))
    assert raw_partition_of(1, escaped, INDEX_KEY, 3) == partition_of(first, INDEX_KEY, 3)
    assert raw_partition_of(5, b"not json", INDEX_KEY, 3) == 5 % 3


def test_a_parallel_import_killed_mid_run_resumes_and_imports_every_line_once(
    pg: Database, tmp_path: Path
) -> None:
    # Each writer commits its lines a chunk (importing.CHUNK, 2,000 lines) at a time; the records of 8,000
    # persons give each writer several chunks, so that the kill lands between its first commit and its last.
    records = generated(4 * CHUNK, seed=9)
    path = write_jsonl(tmp_path / "national.jsonl", records)
    args = ("import", str(path), "--jobs", "2", "--defer-signing")
    first = cli(tmp_path, pg, *args)
    try:
        deadline = time.monotonic() + 180
        while scalar(pg, select(func.count()).select_from(donations)) < CHUNK and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    time.sleep(1.5)  # the writers notice their parent is gone and end
    assert CHUNK <= scalar(pg, select(func.count()).select_from(donations)) < len(records)
    out, err = cli(tmp_path, pg, *args).communicate(timeout=300)
    assert f"{len(records)} lines: {len(records)} accepted, 0 rejected" in out.decode(), err.decode()
    assert scalar(pg, select(func.count()).select_from(donations)) == len(records)
    assert scalar(pg, select(func.count()).select_from(donation_versions)) == len(records)
    assert scalar(pg, select(func.count()).select_from(persons)) == len({person_key(r) for r in records})
    assert scalar(
        pg, select(func.count()).select_from(certificates).where(certificates.c.pending.is_not(None))
    ) == len(records)
    # The writers' own runs and part reports are gone into the file's run and report.
    assert not list(tmp_path.glob("*.part*"))


def test_batches_holding_every_pooled_connection_still_take_their_numbers(
    postgres_url: str, tmp_path: Path
) -> None:
    """A batch takes its block of certificate numbers in a short transaction of its own. With as many
    batches at once as the pool has connections, that transaction must not wait for one of them."""
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0, pool_timeout=3)
    db = Database(postgres_url, engine=engine, data_key=DATA_KEY)
    empty_postgres(db)
    with db.transaction() as uow:
        rotate_keys(uow, signing_for(tmp_path), datetime.now(UTC))
        seed_builtin_stations(uow, datetime.now(UTC))
    try:
        with db.transaction() as uow:  # holds the pool's only connection
            station = uow.stations.get_by_code("33000001")
            assert station is not None
            results = ingest(
                uow,
                [Submission(station, make_record(donation_no="POOL1"))],
                index_key=INDEX_KEY,
                signing=signing_for(tmp_path),
                now=datetime.now(UTC),
                source="api",
            )
        assert [r.outcome for r in results] == ["created"]
        assert results[0].certificate_no
    finally:
        db.dispose()
