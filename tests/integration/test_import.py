"""import_file against a real database: JSONL and CSV, the rejection report, resuming after a crash."""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import func, select

from bloodcert.certs.algorithms import algorithm
from bloodcert.errors import NotFound, ValidationFailed
from bloodcert.services import importing
from bloodcert.services.certificates import Signing
from bloodcert.services.importing import ImportSummary, import_file
from bloodcert.services.reporting import ingest as real_ingest
from bloodcert.services.verification import OnlineVerifier
from bloodcert.services.workers import IngestWorkers
from bloodcert.storage.tables import certificates, donation_versions, donations, import_runs, stations
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY
from tests.factories import LI_LEI, create_station, make_record

HANGZHOU = "33000001"
BEIJING = "11000001"
CSV_FIELDS = [
    "donation_no",
    "version",
    "status",
    "donor_id_type",
    "donor_id_number",
    "donor_name",
    "donor_sex",
    "donor_birth_date",
    "donor_abo",
    "donor_rhd",
    "donated_at",
    "kind",
    "volume_ml",
    "units",
    "site_name",
    "site_type",
    "site_region",
    "test_result",
]


class Crash(Exception):
    """Stands for the process dying part-way through an import."""


def count(db: Database, table: Any, *where: Any) -> int:
    with db.reading() as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def donations_of(db: Database, code: str) -> list[str]:
    with db.reading() as uow:
        rows = uow.conn.execute(
            select(donations.c.donation_no)
            .join(stations, stations.c.id == donations.c.station_id)
            .where(stations.c.code == code)
            .order_by(donations.c.donation_no)
        )
        return [r.donation_no for r in rows]


def history(n: int, *, prefix: str = "H", station: str | None = HANGZHOU) -> list[dict[str, Any]]:
    """n valid donations of 王芳, seven months apart so that no interval warning muddles the outcome."""
    records = []
    for i in range(n):
        year, month = divmod(4 + 7 * i, 12)
        record = make_record(
            donation_no=f"{prefix}{i + 1:03d}", donated_at=f"{2010 + year}-{month + 1:02d}-10T09:00:00+08:00"
        )
        if station is not None:
            record["station"] = station
        records.append(record)
    return records


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines
    )
    path.write_text(text, encoding="utf-8")
    return path


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in record.items() if k not in ("donor", "site")}
    row.update({f"donor_{k}": v for k, v in record["donor"].items()})
    row.update({f"site_{k}": v for k, v in record["site"].items()})
    return {k: "" if v is None else v for k, v in row.items()}


def write_csv(path: Path, records: list[dict[str, Any]], fields: list[str] = CSV_FIELDS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow(flatten(record))
    return path


class Runner(Protocol):
    def __call__(
        self, db: Database, path: Path, station_code: str | None = None, **kwargs: Any
    ) -> ImportSummary: ...


@pytest.fixture
def run(signing: Signing) -> Runner:
    """import_file with the test's index key and the certificate keys of the `db` fixture."""

    def run_import(db: Database, path: Path, station_code: str | None = None, **kwargs: Any) -> ImportSummary:
        return import_file(
            db, path, station_code=station_code, index_key=INDEX_KEY, signing=signing, **kwargs
        )

    return run_import


def report_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- formats -----------------------------------------------------------------------------------------


def test_jsonl_records_go_to_the_station_each_names(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    create_station(db, BEIJING, region="110000")
    records = [
        make_record(donation_no="A1", station=HANGZHOU),
        make_record(donation_no="B1", station=BEIJING, donor=LI_LEI, donated_at="2024-06-01T10:00:00+08:00"),
        make_record(donation_no="A2", station=HANGZHOU, donated_at="2025-01-02T09:00:00+08:00"),
    ]
    summary = run(db, write_jsonl(tmp_path / "national.jsonl", records))
    assert (summary.lines, summary.accepted, summary.rejected, summary.resumed_from) == (3, 3, 0, 0)
    assert donations_of(db, HANGZHOU) == ["A1", "A2"]
    assert donations_of(db, BEIJING) == ["B1"]
    assert count(db, certificates, certificates.c.status == "active") == 3
    assert summary.report_path == tmp_path / "national.jsonl.rejected.jsonl"
    assert report_lines(summary.report_path) == []


def test_jsonl_with_a_station_code_puts_every_record_at_that_station(
    db: Database, tmp_path: Path, run: Runner
) -> None:
    create_station(db, HANGZHOU)
    create_station(db, BEIJING, region="110000")
    records = [make_record(donation_no="A1", station=BEIJING), make_record(donation_no="A2")]
    summary = run(db, write_jsonl(tmp_path / "own.jsonl", records), HANGZHOU)
    assert summary.accepted == 2
    assert donations_of(db, HANGZHOU) == ["A1", "A2"]
    assert donations_of(db, BEIJING) == []


def test_csv_with_flattened_field_names_imports_for_the_given_station(
    db: Database, tmp_path: Path, run: Runner
) -> None:
    create_station(db, HANGZHOU)
    records = [
        make_record(donation_no="C1"),
        make_record(
            donation_no="C2",
            kind="platelets",
            volume_ml=None,
            units=2,
            donated_at="2025-03-01T09:00:00+08:00",
        ),
        make_record(donation_no="C3", donor=LI_LEI, kind="plasma", volume_ml=600),
    ]
    summary = run(db, write_csv(tmp_path / "history.csv", records), HANGZHOU)
    assert (summary.lines, summary.accepted, summary.rejected) == (3, 3, 0)
    assert donations_of(db, HANGZHOU) == ["C1", "C2", "C3"]
    with db.reading() as uow:
        rows = {
            r.donation_no: r
            for r in uow.conn.execute(
                select(
                    donations.c.donation_no,
                    donations.c.kind,
                    donations.c.volume_ml,
                    donations.c.units,
                    donations.c.site_region,
                )
            )
        }
    assert (rows["C1"].kind, rows["C1"].volume_ml, rows["C1"].units) == ("whole_blood", 400, None)
    assert (rows["C2"].kind, rows["C2"].volume_ml, rows["C2"].units) == ("platelets", None, 2)
    assert (rows["C3"].kind, rows["C3"].volume_ml) == ("plasma", 600)
    assert rows["C1"].site_region == "330103"


def test_csv_may_name_the_station_in_a_column(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    create_station(db, BEIJING, region="110000")
    records = [
        make_record(donation_no="A1", station=HANGZHOU),
        make_record(donation_no="B1", station=BEIJING),
    ]
    summary = run(db, write_csv(tmp_path / "national.csv", records, ["station", *CSV_FIELDS]))
    assert summary.accepted == 2
    assert donations_of(db, HANGZHOU) == ["A1"]
    assert donations_of(db, BEIJING) == ["B1"]


def test_a_csv_import_of_the_same_content_as_a_jsonl_import_is_unchanged(
    db: Database, tmp_path: Path, run: Runner
) -> None:
    create_station(db, HANGZHOU)
    records = history(3)
    run(db, write_jsonl(tmp_path / "h.jsonl", records))
    summary = run(db, write_csv(tmp_path / "h.csv", records), HANGZHOU)
    assert (summary.accepted, summary.rejected) == (3, 0)
    assert count(db, donation_versions) == 3


def test_a_csv_without_a_header_row_is_refused(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    path = tmp_path / "bare.csv"
    path.write_text("A1,1,valid\n", encoding="utf-8")
    with pytest.raises(ValidationFailed):
        run(db, path, HANGZHOU)


def test_a_missing_file_or_unknown_target_station_is_refused(
    db: Database, tmp_path: Path, run: Runner
) -> None:
    create_station(db, HANGZHOU)
    with pytest.raises(NotFound):
        run(db, tmp_path / "absent.jsonl", HANGZHOU)
    with pytest.raises(NotFound):
        run(db, write_jsonl(tmp_path / "f.jsonl", history(1)), "99999999")
    assert count(db, donations) == 0


# --- the rejection report ----------------------------------------------------------------------------


def test_rejected_lines_go_to_the_report_with_line_numbers_and_reasons(
    db: Database, tmp_path: Path, run: Runner
) -> None:
    create_station(db, HANGZHOU)
    good = history(3)
    lines: list[Any] = [
        good[0],
        "{not json",
        {**make_record(donation_no="X1"), "station": "99999999"},
        "",
        {**make_record(donation_no="X2", donor={"id_number": "330106199001011222"}), "station": HANGZHOU},
        good[1],
        {**make_record(donation_no="X3"), "station": None},
        good[2],
    ]
    summary = run(db, write_jsonl(tmp_path / "mixed.jsonl", lines))
    assert (summary.accepted, summary.rejected) == (3, 4)
    report = sorted(report_lines(summary.report_path), key=lambda r: r["line"])
    assert [(r["line"], [(e["field"], e["code"]) for e in r["errors"]]) for r in report] == [
        (2, [("", "invalid_format")]),
        (3, [("station", "unknown_station")]),
        (5, [("donor.id_number", "invalid_checksum")]),
        (7, [("station", "unknown_station")]),
    ]
    assert report[2]["donation_no"] == "X2"
    assert all(e["message"] for r in report for e in r["errors"])
    assert "330106199001011222" not in summary.report_path.read_text(encoding="utf-8")
    # Nothing valid is lost around the rejected lines.
    assert donations_of(db, HANGZHOU) == ["H001", "H002", "H003"]


def test_a_line_with_an_unknown_station_is_reported_with_its_donation_number(
    sqlite_db: Database, tmp_path: Path, run: Runner
) -> None:
    create_station(sqlite_db, HANGZHOU)
    summary = run(
        sqlite_db, write_jsonl(tmp_path / "f.jsonl", [make_record(donation_no="X1", station="99999999")])
    )
    [line] = report_lines(summary.report_path)
    assert (line["line"], line["donation_no"]) == (1, "X1")


def test_every_error_of_a_rejected_record_is_in_the_report(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    bad = make_record(donation_no="X1", kind="blood", site={"name": "x", "type": "tent", "region": "999999"})
    summary = run(db, write_jsonl(tmp_path / "bad.jsonl", [bad]), HANGZHOU)
    [line] = report_lines(summary.report_path)
    assert sorted(e["code"] for e in line["errors"]) == ["invalid_value", "invalid_value", "unknown_region"]


def test_csv_rejections_are_numbered_by_data_row(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    records = [*history(2), make_record(donation_no="X1", volume_ml=None), *history(1, prefix="J")]
    summary = run(db, write_csv(tmp_path / "h.csv", records), HANGZHOU)
    assert (summary.lines, summary.accepted, summary.rejected) == (4, 3, 1)
    [line] = report_lines(summary.report_path)
    assert (line["line"], line["donation_no"], line["errors"][0]["code"]) == (3, "X1", "missing_field")


def test_the_report_goes_where_it_is_asked_to(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    target = tmp_path / "reports" / "r.jsonl"
    target.parent.mkdir()
    summary = run(db, write_jsonl(tmp_path / "f.jsonl", ["[]"]), report_path=target)
    assert summary.report_path == target
    assert [r["line"] for r in report_lines(target)] == [1]


def test_version_rules_apply_as_over_the_api(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    lines = [
        make_record(donation_no="V1", station=HANGZHOU),
        make_record(donation_no="V1", station=HANGZHOU, volume_ml=300),  # same version, other content
        make_record(donation_no="V1", station=HANGZHOU, version=2, volume_ml=200),  # a correction
        make_record(donation_no="V1", station=HANGZHOU, version=1),  # stale
    ]
    summary = run(db, write_jsonl(tmp_path / "v.jsonl", lines), chunk=2)
    assert (summary.accepted, summary.rejected) == (2, 2)
    assert [(r["line"], r["errors"][0]["code"]) for r in report_lines(summary.report_path)] == [
        (2, "version_conflict"),
        (4, "stale_version"),
    ]
    assert count(db, donation_versions) == 2
    assert count(db, certificates, certificates.c.status == "active") == 1


# --- resuming ----------------------------------------------------------------------------------------


def crash_on_call(n: int) -> Any:
    calls = 0

    def progress(_line: int) -> None:
        nonlocal calls
        calls += 1
        if calls == n:
            raise Crash

    return progress


def test_an_import_that_crashed_resumes_and_imports_every_line_exactly_once(
    db: Database, tmp_path: Path, run: Runner
) -> None:
    create_station(db, HANGZHOU)
    path = write_jsonl(tmp_path / "h.jsonl", history(7))
    with pytest.raises(Crash):
        run(db, path, chunk=2, progress=crash_on_call(2))
    # The chunks that committed before the crash are in; the rest are not.
    assert count(db, donations) == 4
    seen: list[int] = []
    summary = run(db, path, chunk=2, progress=seen.append)
    assert summary.resumed_from == 4
    assert seen == [6, 7]
    assert (summary.lines, summary.accepted, summary.rejected) == (7, 7, 0)
    assert donations_of(db, HANGZHOU) == [f"H{i:03d}" for i in range(1, 8)]
    assert count(db, donation_versions) == 7
    assert count(db, certificates) == 7
    with db.reading() as uow:
        per_donation = uow.conn.execute(
            select(func.count()).select_from(donation_versions).group_by(donation_versions.c.donation_id)
        ).scalars()
        assert set(per_donation) == {1}


def test_a_crash_inside_a_chunk_rolls_that_chunk_back_and_the_rerun_redoes_it(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Runner
) -> None:
    create_station(db, HANGZHOU)
    lines: list[Any] = [*history(3), "{not json", *history(3, prefix="J")]
    path = write_jsonl(tmp_path / "h.jsonl", lines)
    calls = 0

    def dying_ingest(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            real_ingest(*args, **kwargs)  # the writes happen, then the process dies before the commit
            raise Crash
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(importing, "ingest", dying_ingest)
    with pytest.raises(Crash):
        run(db, path, chunk=3)
    assert count(db, donations) == 3
    monkeypatch.setattr(importing, "ingest", real_ingest)
    summary = run(db, path, chunk=3)
    assert summary.resumed_from == 3
    assert (summary.lines, summary.accepted, summary.rejected) == (7, 6, 1)
    assert count(db, donations) == 6
    assert count(db, donation_versions) == 6
    assert count(db, certificates) == 6
    report = report_lines(summary.report_path)
    assert 4 in [r["line"] for r in report]


def test_a_crash_inside_a_chunk_leaves_each_rejected_line_in_the_report_once(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Runner
) -> None:
    create_station(sqlite_db, HANGZHOU)
    path = write_jsonl(tmp_path / "h.jsonl", [*history(2), "{not json", *history(2, prefix="J")])
    calls = 0

    def dying_ingest(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Crash
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(importing, "ingest", dying_ingest)
    with pytest.raises(Crash):
        run(sqlite_db, path, chunk=2)
    monkeypatch.setattr(importing, "ingest", real_ingest)
    summary = run(sqlite_db, path, chunk=2)
    assert summary.rejected == 1
    assert [r["line"] for r in report_lines(summary.report_path)] == [3]


def test_resuming_appends_to_the_report_of_the_earlier_run(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    lines: list[Any] = ["{not json", *history(2), "{not json", *history(2, prefix="J")]
    path = write_jsonl(tmp_path / "h.jsonl", lines)
    with pytest.raises(Crash):
        run(db, path, chunk=3, progress=crash_on_call(1))
    summary = run(db, path, chunk=3)
    assert (summary.resumed_from, summary.accepted, summary.rejected) == (3, 4, 2)
    assert [r["line"] for r in report_lines(summary.report_path)] == [1, 4]


def test_importing_a_finished_file_again_changes_nothing(db: Database, tmp_path: Path, run: Runner) -> None:
    create_station(db, HANGZHOU)
    lines: list[Any] = [*history(4), "{not json"]
    path = write_jsonl(tmp_path / "h.jsonl", lines)
    first = run(db, path, chunk=2)
    report_before = first.report_path.read_bytes()
    tables = (donations, donation_versions, certificates, import_runs)
    before = [count(db, t) for t in tables]
    seen: list[int] = []
    again = run(db, path, chunk=2, progress=seen.append)
    assert [count(db, t) for t in tables] == before
    assert (again.lines, again.accepted, again.rejected) == (first.lines, first.accepted, first.rejected)
    assert again.resumed_from == first.lines
    assert seen == []
    assert again.report_path.read_bytes() == report_before


def test_the_same_lines_in_another_file_are_unchanged_not_duplicated(
    db: Database, tmp_path: Path, run: Runner
) -> None:
    create_station(db, HANGZHOU)
    records = history(3)
    run(db, write_jsonl(tmp_path / "a.jsonl", records))
    # Another file (here: the same records, one blank line more) is another run, but records are idempotent.
    summary = run(db, write_jsonl(tmp_path / "b.jsonl", [*records, ""]))
    assert summary.resumed_from == 0
    assert (summary.accepted, summary.rejected) == (3, 0)
    assert count(db, donation_versions) == 3
    assert count(db, import_runs) == 2


# --- signing workers ----------------------------------------------------------------------------------


def test_signing_workers_give_the_same_outcome_and_certificates_that_verify(
    db: Database, tmp_path: Path, run: Runner
) -> None:
    """A chunk's certificates signed in worker processes: same counts, numbers and rejections as without,
    every QR verifies, and each certificate carries its own donation's content."""
    create_station(db, HANGZHOU)
    records: list[Any] = history(7)
    records.insert(3, {**history(1, prefix="X")[0], "volume_ml": -5})  # rejected: counted, reported
    with IngestWorkers(2) as workers:
        summary = run(db, write_jsonl(tmp_path / "a.jsonl", records), chunk=3, workers=workers)
    assert (summary.lines, summary.accepted, summary.rejected) == (8, 7, 1)
    assert [e["line"] for e in report_lines(summary.report_path)] == [4]
    verifier = OnlineVerifier(db, "CN-NHC")
    with db.reading() as uow:
        rows = uow.conn.execute(
            select(certificates.c.certificate_no, certificates.c.qr, donations.c.donation_no)
            .join(donations, donations.c.id == certificates.c.donation_id)
            .order_by(certificates.c.certificate_no)
        ).all()
    assert len(rows) == 7
    for number, qr, donation_no in rows:
        result = verifier.verify(qr)
        assert result.valid, result.reason
        assert result.content is not None
        assert (result.content.certificate_no, result.content.donation_no) == (number, donation_no)


def test_a_key_store_travels_to_a_worker_without_its_loaded_keys(signing: Signing, db: Database) -> None:
    with db.reading() as uow:
        key = uow.certificates.active_key("signing")
    assert key is not None
    signing.store.load(key.kid, algorithm(key.alg))
    copy = pickle.loads(pickle.dumps(signing.store))
    assert copy.directory == signing.store.directory
    assert b"PRIVATE" not in pickle.dumps(signing.store) and copy._cache == {}
