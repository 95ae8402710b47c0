"""Ingest is order and batch independent: the same records fed in any order and any batching give the same
persons, donations and certificates (docs/station-integration.md: idempotent versions, corrections, voids, cross-station merge).

Each example feeds a subset of a fixed universe of records, permuted and cut into batches, into a fresh SQLite
database, and compares a canonical snapshot with that of feeding the same records one at a time in their
original order.
"""

from __future__ import annotations

import copy
import itertools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bloodcert.certs.status_list import get_bit
from bloodcert.domain.certno import is_valid_certificate_no
from bloodcert.domain.records import content_hash
from bloodcert.services.certificates import Signing, rotate_keys
from bloodcert.services.reporting import RecordResult, Submission, ingest, report_donations
from bloodcert.services.stations import register_station
from bloodcert.storage.rows import StationRow
from bloodcert.storage.tables import (
    certificates,
    donation_versions,
    donations,
    persons,
    quality_issues,
    stations,
    status_lists,
)
from bloodcert.storage.uow import Database
from tests.conftest import DATA_KEY, INDEX_KEY, signing_for
from tests.factories import LI_LEI, WANG_FANG, make_record

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

S1, S2, S3 = "33000001", "11000001", "44000001"
STATIONS = {S1: "330000", S2: "110000", S3: "440000"}

# 王芳's resident ID in full-width digits: normalised, it is the same document, so it must merge with her.
FULLWIDTH = {"id_number": "３３０１０６１９９００１０１１２２１"}
# 王芳's ID number with another ABO type: an identity conflict, kept apart as a second person.
ABO_B = {"abo": "B"}
PASSPORT = {
    "id_type": "passport",
    "id_number": "E12345678",
    "name": "JOHN SMITH",
    "sex": "M",
    "birth_date": "1980-06-15",
    "abo": "AB",
    "rhd": "positive",
}


def _reversed_keys(record: dict[str, Any]) -> dict[str, Any]:
    return dict(reversed(list(record.items())))


def _universe() -> list[tuple[str, dict[str, Any]]]:
    """(station code, raw record). No two different contents share a (station, donation_no, version):
    which of two such records wins (the other is a version_conflict) depends on arrival order by design."""
    a2 = make_record(
        donation_no="A2",
        donor=FULLWIDTH,
        kind="plasma",
        volume_ml=600,
        donated_at="2025-02-01T10:00:00+08:00",
    )
    c1_v2 = make_record(donation_no="C1", version=2, donor=PASSPORT, donated_at="2025-10-01T09:00:00+08:00")
    void_a3: dict[str, Any] = {"donation_no": "A3", "version": 2, "status": "void", "donor": LI_LEI}
    return [
        # Station 1: a volume correction then a correction to another donor; a duplicate; a void.
        (S1, make_record(donation_no="A1")),
        (S1, make_record(donation_no="A1", version=2, volume_ml=300)),
        (S1, make_record(donation_no="A1", version=3, volume_ml=300, donor=LI_LEI)),
        (S1, a2),
        (S1, _reversed_keys(a2)),  # an exact duplicate (key order does not matter)
        (
            S1,
            make_record(
                donation_no="A3",
                donor=LI_LEI,
                kind="platelets",
                volume_ml=None,
                units=1,
                donated_at="2024-09-01T09:00:00+08:00",
            ),
        ),
        (
            S1,
            make_record(
                **void_a3, kind="platelets", volume_ml=None, units=1, donated_at="2024-09-01T09:00:00+08:00"
            ),
        ),
        (
            S1,
            make_record(donation_no="A4", volume_ml=200, donor=ABO_B, donated_at="2025-06-01T09:00:00+08:00"),
        ),
        (
            S1,
            make_record(
                donation_no="A4",
                version=2,
                volume_ml=200,
                donor=FULLWIDTH,
                donated_at="2025-06-01T09:00:00+08:00",
            ),
        ),
        # Station 2: the same donation number as station 1's A1, for another donor; a void and an un-void;
        # a donation first seen at version 2.
        (S2, make_record(donation_no="A1", donor=PASSPORT, donated_at="2024-03-01T09:00:00+08:00")),
        (
            S2,
            make_record(
                donation_no="B1",
                kind="platelets",
                volume_ml=None,
                units=2,
                donated_at="2025-08-01T09:00:00+08:00",
            ),
        ),
        (
            S2,
            make_record(
                donation_no="B1",
                version=2,
                donor=ABO_B,
                kind="platelets",
                volume_ml=None,
                units=2,
                donated_at="2025-08-01T09:00:00+08:00",
            ),
        ),
        (
            S2,
            make_record(
                donation_no="B2",
                donor=PASSPORT,
                kind="plasma",
                volume_ml=400,
                donated_at="2025-01-10T09:00:00+08:00",
            ),
        ),
        (
            S2,
            make_record(
                donation_no="B2",
                version=2,
                status="void",
                donor=PASSPORT,
                kind="plasma",
                volume_ml=400,
                donated_at="2025-01-10T09:00:00+08:00",
            ),
        ),
        (
            S2,
            make_record(
                donation_no="B2",
                version=3,
                donor=PASSPORT,
                kind="plasma",
                volume_ml=500,
                donated_at="2025-01-10T09:00:00+08:00",
            ),
        ),
        (S2, make_record(donation_no="B3", version=2, donor=LI_LEI, donated_at="2025-09-01T09:00:00+08:00")),
        # Station 3: a correction to another donor, duplicated; a donation first seen void; the conflict.
        (S3, make_record(donation_no="C1", donor=LI_LEI, donated_at="2025-10-01T09:00:00+08:00")),
        (S3, c1_v2),
        (S3, copy.deepcopy(c1_v2)),
        (S3, make_record(donation_no="C2", status="void", donor=FULLWIDTH)),
        (
            S3,
            make_record(
                donation_no="C3",
                donor=ABO_B,
                kind="plasma",
                volume_ml=300,
                donated_at="2024-12-01T09:00:00+08:00",
            ),
        ),
        # Invalid records, rejected whatever comes before them (some reuse a live donation number).
        (S1, make_record(donation_no="A5", donor={"id_number": "330106199001011222"})),
        (S2, {"junk": True}),
        (S1, make_record(donation_no="A1", version=4, kind=None)),
        (S3, make_record(donation_no="C1", version=3, donor=LI_LEI, donated_at="2027-01-01T09:00:00+08:00")),
        (
            S2,
            make_record(
                donation_no="B1", version=3, site={"name": "某献血点", "type": "fixed", "region": "999999"}
            ),
        ),
    ]


UNIVERSE = _universe()
INVALID = frozenset(range(len(UNIVERSE) - 5, len(UNIVERSE)))
assert WANG_FANG["abo"] == "A"  # ABO_B really is another blood type

Batch = tuple[bool, list[int]]  # (ingest as one mixed-station batch?, indices into UNIVERSE)


@st.composite
def feeds(draw: st.DrawFn) -> tuple[list[int], list[Batch]]:
    """A subset of the universe (in original order) and a permutation of it cut into batches."""
    n = len(UNIVERSE)
    chosen = draw(
        st.one_of(
            st.lists(st.booleans(), min_size=n, max_size=n).map(
                lambda keep: [i for i, k in enumerate(keep) if k]
            ),
            st.just(list(range(n))),
        )
    )
    order = draw(st.permutations(chosen))
    cuts = sorted(draw(st.sets(st.integers(1, len(order) - 1)))) if len(order) > 1 else []
    bounds = [0, *cuts, len(order)]
    chunks = [order[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    mixed = draw(st.lists(st.booleans(), min_size=len(chunks), max_size=len(chunks)))
    return chosen, list(zip(mixed, chunks, strict=True))


@dataclass(frozen=True)
class Fresh:
    """A fresh database with the stations registered and a certificate signing key."""

    db: Database
    signing: Signing


@contextmanager
def fresh_database(template: Path, directory: Path, name: str) -> Iterator[Fresh]:
    path = directory / f"{name}.db"
    shutil.copy(template, path)
    db = Database(f"sqlite:///{path}", data_key=DATA_KEY)
    signing = signing_for(directory / name)
    try:
        with db.transaction() as uow:
            rotate_keys(uow, signing, NOW)
            for code, region in STATIONS.items():
                register_station(uow, code=code, name=f"测试血站{code}", region=region, now=NOW)
        yield Fresh(db, signing)
    finally:
        db.dispose()


def feed(fresh: Fresh, batches: list[Batch]) -> dict[int, RecordResult]:
    """Feed each batch in its own transaction: whole through `ingest`, or split per station (keeping order)
    through `report_donations`."""
    outcomes: dict[int, RecordResult] = {}
    for mixed, indices in batches:
        groups = [indices] if mixed else _per_station(indices)
        for group in groups:
            with fresh.db.transaction() as uow:
                by_code = {code: uow.stations.get_by_code(code) for code in STATIONS}
                raws = [copy.deepcopy(UNIVERSE[i][1]) for i in group]
                common: dict[str, Any] = {"index_key": INDEX_KEY, "signing": fresh.signing, "now": NOW}
                if mixed:
                    subs = [
                        Submission(_known(by_code[UNIVERSE[i][0]]), r)
                        for i, r in zip(group, raws, strict=True)
                    ]
                    results = ingest(uow, subs, source="api", **common)
                else:
                    station = _known(by_code[UNIVERSE[group[0]][0]])
                    results = report_donations(uow, station=station, records=raws, **common)
            assert len(results) == len(group)
            outcomes.update(zip(group, results, strict=True))
    return outcomes


def _per_station(indices: list[int]) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(UNIVERSE[i][0], []).append(i)
    return list(groups.values())


def _known(station: StationRow | None) -> StationRow:
    assert station is not None
    return station


def snapshot(db: Database) -> dict[str, Any]:
    """The canonical, id-free state, after checking the certificate invariants."""
    with db.reading() as uow:
        conn = uow.conn
        code_of = dict(conn.execute(select(stations.c.id, stations.c.code)).all())
        person_rows = conn.execute(select(persons)).all()
        donation_rows = conn.execute(select(donations)).all()
        version_rows = conn.execute(
            select(
                donation_versions.c.donation_id, donation_versions.c.version, donation_versions.c.content_hash
            )
        ).all()
        cert_rows = conn.execute(select(certificates)).all()
        bits = {i: bytes(b) for i, b in conn.execute(select(status_lists.c.list_id, status_lists.c.bits))}
        stale_records = conn.execute(
            select(quality_issues.c.record).where(quality_issues.c.code == "stale_version")
        ).scalars()
        kept = [content_hash(r) for r in stale_records]
    who = {p.id: (p.id_number, p.name, p.abo) for p in person_rows}
    key_of = {d.id: (code_of[d.station_id], d.donation_no) for d in donation_rows}
    version_of = {d.id: d.version for d in donation_rows}

    # A person who holds no donation exists only because an earlier version named them and was then corrected
    # away; in another order that version arrives after the correction, is stale and creates nobody. Such a
    # person must carry no totals; their existence is history, not state, like superseded certificates.
    holders = {d.person_id for d in donation_rows}
    for p in person_rows:
        if p.id not in holders:
            totals = (
                p.donation_count,
                p.whole_blood_ml,
                p.platelet_units,
                p.plasma_ml,
                p.first_at,
                p.last_at,
            )
            assert totals == (0, 0, 0, 0, None, None), f"person {who[p.id]} holds no donation but has totals"

    numbers = [c.certificate_no for c in cert_rows]
    assert len(numbers) == len(set(numbers)), "certificate numbers must be unique"
    assert all(is_valid_certificate_no(n) for n in numbers)
    assert {c.status for c in cert_rows} <= {"active", "superseded", "revoked"}
    for c in cert_rows:
        revoked_bit = get_bit(bits[c.status_list_id], c.status_index)
        assert revoked_bit == (c.status != "active"), (
            f"{c.status} certificate with revocation bit {revoked_bit}"
        )
    active: dict[int, list[Any]] = {}
    for c in cert_rows:
        if c.status == "active":
            active.setdefault(c.donation_id, []).append(c)
    for d in donation_rows:
        mine = active.get(d.id, [])
        if d.status == "valid":
            assert len(mine) == 1, f"{key_of[d.id]} is valid but has {len(mine)} active certificates"
            assert d.certificate_no == mine[0].certificate_no
            assert is_valid_certificate_no(d.certificate_no)
            assert (mine[0].donation_version, mine[0].person_id) == (d.version, d.person_id)
        else:
            assert mine == [], f"{key_of[d.id]} is void but has an active certificate"
            assert d.certificate_no is None

    return {
        "persons": {
            (
                p.id_type,
                p.id_number,
                p.name,
                p.abo,
                p.donation_count,
                p.whole_blood_ml,
                p.platelet_units,
                p.plasma_ml,
                p.first_at,
                p.last_at,
            )
            for p in person_rows
            if p.id in holders
        },
        "donations": {
            (
                *key_of[d.id],
                d.version,
                d.status,
                who[d.person_id],
                d.kind,
                d.volume_ml,
                d.units,
                d.donated_at,
            )
            for d in donation_rows
        },
        # Every version stored. Not comparable as such: a version arriving after a higher one is rejected as
        # stale and kept only as a quality issue, so which versions are stored depends on order.
        "donation_versions": {(*key_of[did], v, bytes(h)) for did, v, h in version_rows},
        "stale_records_kept": kept,
        # The stored row of each donation's current version: that one must not depend on order.
        "current_versions": {
            (*key_of[did], v, bytes(h)) for did, v, h in version_rows if v == version_of[did]
        },
        # Only the active certificate is state. How many certificates were ever issued is history and depends
        # on order: a correction that arrives before its earlier version makes that version stale, so it never
        # gets (and never supersedes) a certificate of its own.
        "certificates": {
            key_of[d.id]: (
                len(active.get(d.id, [])),
                sorted(c.donation_version for c in active.get(d.id, [])),
            )
            for d in donation_rows
        },
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(feed_plan=feeds())
def test_any_order_and_batching_gives_the_same_persons_donations_and_certificates(
    sqlite_template: Path, feed_plan: tuple[list[int], list[Batch]]
) -> None:
    chosen, batches = feed_plan
    note(f"one by one: {chosen}")
    note(f"batches (mixed?, indices): {batches}")
    with tempfile.TemporaryDirectory() as directory:
        with fresh_database(sqlite_template, Path(directory), "one_by_one") as fresh:
            expected_outcomes = feed(fresh, [(False, [i]) for i in chosen])
            expected = snapshot(fresh.db)
        with fresh_database(sqlite_template, Path(directory), "shuffled") as fresh:
            outcomes = feed(fresh, batches)
            actual = snapshot(fresh.db)
    for results, state in ((expected_outcomes, expected), (outcomes, actual)):
        assert all(results[i].outcome == "rejected" for i in INVALID & set(chosen)), (
            "invalid whatever the order"
        )
        # No version is lost: each valid version sent is stored, or was answered stale_version (and kept whole
        # as a quality issue); nothing else is stored.
        sent = {_version_key(i) for i in chosen if i not in INVALID}
        stale = [i for i, r in results.items() if "stale_version" in {e.code for e in r.errors}]
        assert sorted(_version_key(i)[3] for i in stale) == sorted(state["stale_records_kept"])
        assert state["donation_versions"] <= sent
        assert sent <= state["donation_versions"] | {_version_key(i) for i in stale}
    for part in ("persons", "donations", "current_versions", "certificates"):
        assert actual[part] == expected[part], part


def _version_key(i: int) -> tuple[str, str, int, bytes]:
    code, raw = UNIVERSE[i]
    return (code, raw["donation_no"], raw["version"], content_hash(raw))
