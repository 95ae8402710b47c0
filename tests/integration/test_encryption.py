"""Personal data at rest: what a stolen database holds, what the platform reads, and migration 0002."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bloodcert.config import ConfigError, Settings
from bloodcert.domain.identity import IdType, mask_id_number
from bloodcert.domain.keyed import identity_hash_of, name_hash_of
from bloodcert.services import history
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import report_donations
from bloodcert.services.sessions import DonorPrincipal
from bloodcert.services.sessions import resolve_donor as resolve
from bloodcert.storage.crypto import DataKeyError, FieldCipher
from bloodcert.storage.migrate import current_heads, downgrade, upgrade
from bloodcert.storage.tables import donors, metadata, persons, quality_issues
from bloodcert.storage.uow import Database
from tests.conftest import DATA_KEY, INDEX_KEY, PG_ADMIN_URL, _postgres_available
from tests.factories import LI_LEI, WANG_FANG, create_station, donor_session, make_record

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
OTHER_KEY = bytes(range(200, 232))
QR = "BC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B3KL6QM5/OVGA/MAT%ZSGO-8C/5ZB2K4Y"


def secrets_of(donor: dict[str, Any]) -> list[bytes]:
    """What must never be readable in the database: ID number, name (UTF-8 and JSON-escaped), birth date."""
    name = donor["name"]
    escaped = "".join(f"\\u{ord(c):04x}" for c in name)
    return [donor["id_number"].encode(), name.encode(), escaped.encode(), donor["birth_date"].encode()]


def raw_bytes(engine: sa.Engine) -> bytes:
    """Every value of every table as a thief with the database (and no key) would see it."""
    chunks = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                for value in row:
                    chunks.append(
                        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                    )
    return b"\x00".join(chunks)


def sqlite_files(url: str) -> bytes:
    """The SQLite database file and its write-ahead log, byte for byte."""
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def report(db: Database, signing: Signing, records: list[dict[str, Any]]) -> list[Any]:
    with db.transaction() as uow:
        station = uow.stations.get_by_code("33000001")
        assert station is not None
        return report_donations(
            uow, station=station, records=records, index_key=INDEX_KEY, signing=signing, now=NOW
        )


def wang_fang_principal(db: Database) -> DonorPrincipal:
    identity = identity_hash_of(INDEX_KEY, IdType.RESIDENT_ID, WANG_FANG["id_number"])
    with db.transaction() as uow:
        grant = donor_session(uow, identity, name_hash_of(INDEX_KEY, WANG_FANG["name"]), now=NOW)
        principal, _touch = resolve(uow, grant.token, NOW)
    return principal


# The platform's own writes and reads


def test_a_reported_donation_leaves_no_id_number_name_or_birth_date_in_the_database(
    db: Database, signing: Signing
) -> None:
    create_station(db)
    rejected = make_record(donation_no="R1", donor=LI_LEI, kind="blood_pudding")
    [accepted, refused] = report(db, signing, [make_record(donation_no="A1"), rejected])
    assert (accepted.outcome, refused.outcome) == ("created", "rejected")
    stolen = raw_bytes(db.engine)
    if db.engine.dialect.name == "sqlite":
        stolen += sqlite_files(db.url)
    for secret in secrets_of(WANG_FANG) + secrets_of(LI_LEI):
        assert secret not in stolen, secret


def test_the_platform_still_reads_what_was_reported(db: Database, signing: Signing) -> None:
    create_station(db)
    record = make_record(donation_no="A1")
    rejected = make_record(donation_no="R1", donor=LI_LEI, kind="blood_pudding")
    [result, _] = report(db, signing, [record, rejected])
    assert result.certificate_no is not None
    principal = wang_fang_principal(db)
    with db.reading() as uow:
        me = history.me(uow, principal)
        person = uow.persons.get(principal.person_ids[0])
        certificate = history.certificate(uow, principal, result.certificate_no)
        [donation] = history.history(uow, principal, history.Filters()).donations
        [(_version, kept)] = uow.donations.versions_of(donation.donation_id)
        donor_birth = uow.conn.execute(sa.select(donors.c.birth_date)).scalar_one()
        issue_records = uow.conn.execute(sa.select(quality_issues.c.record)).scalars().all()
    assert (me.name, me.id_number_masked) == ("王芳", mask_id_number(WANG_FANG["id_number"]))
    assert person is not None
    assert (person.id_number, person.name, person.birth_date) == (
        WANG_FANG["id_number"],
        "王芳",
        date(1990, 1, 1),
    )
    assert certificate.content.holder_name == "王芳"
    assert kept == record
    assert donor_birth == date(1990, 1, 1)
    assert rejected in issue_records


# Wrong keys and moved ciphertexts


def test_a_database_read_with_another_key_fails_loudly(db: Database, signing: Signing) -> None:
    create_station(db)
    report(db, signing, [make_record(donation_no="A1")])
    thief = Database(db.url, data_key=OTHER_KEY)
    try:
        with pytest.raises(DataKeyError, match="BLOODCERT_DATA_KEY is not the key"), thief.reading() as uow:
            uow.conn.execute(sa.select(persons.c.name)).all()
    finally:
        thief.dispose()


def test_a_database_without_a_key_refuses_personal_data_but_serves_the_rest(
    db: Database, signing: Signing
) -> None:
    create_station(db)
    report(db, signing, [make_record(donation_no="A1")])
    keyless = Database(db.url)
    try:
        with keyless.reading() as uow:
            assert uow.conn.execute(sa.select(persons.c.abo)).scalar_one() == "A"
            with pytest.raises(DataKeyError, match="no data key"):
                uow.conn.execute(sa.select(persons.c.id_number)).all()
    finally:
        keyless.dispose()


@pytest.mark.parametrize(
    "move",
    [
        "UPDATE persons SET id_number = name",
        "UPDATE persons SET birth_date = (SELECT d.birth_date FROM donors d WHERE d.person_id = persons.id)",
    ],
)
def test_a_ciphertext_copied_into_another_column_does_not_decrypt(
    db: Database, signing: Signing, move: str
) -> None:
    create_station(db)
    report(db, signing, [make_record(donation_no="A1")])
    with db.engine.begin() as conn:
        conn.execute(sa.text(move))
    with pytest.raises(DataKeyError, match="copied from another column"), db.reading() as uow:
        uow.conn.execute(sa.select(persons.c.id_number, persons.c.birth_date)).all()


def test_encrypted_columns_cannot_be_queried_by_value() -> None:
    with pytest.raises(TypeError, match="blind index"):
        _ = persons.c.id_number == WANG_FANG["id_number"]
    assert str(persons.c.birth_date.is_(None)) == "persons.birth_date IS NULL"


# The cipher itself


def test_the_same_value_encrypts_differently_each_time_and_opens_only_in_its_column() -> None:
    cipher = FieldCipher(DATA_KEY)
    first, second = (cipher.encrypt(b"330106199001011221", b"persons.id_number") for _ in range(2))
    assert first != second
    assert first[0] == 1 and len(first) == 1 + 12 + 18 + 16
    assert cipher.decrypt(second, b"persons.id_number") == b"330106199001011221"
    with pytest.raises(DataKeyError, match=r"persons\.name cannot be decrypted"):
        cipher.decrypt(first, b"persons.name")
    tampered = first[:-1] + bytes([first[-1] ^ 1])
    with pytest.raises(DataKeyError):
        cipher.decrypt(tampered, b"persons.id_number")
    with pytest.raises(DataKeyError, match="does not hold a value"):
        cipher.decrypt(b"330106199001011221" * 2, b"persons.id_number")


def test_a_short_data_key_is_refused() -> None:
    with pytest.raises(DataKeyError, match="at least 32 bytes"):
        FieldCipher(b"\x01" * 16)


def test_the_data_key_is_generated_once_beside_the_data_and_kept_private(tmp_path: Path) -> None:
    env = {"BLOODCERT_DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env).data_key
    assert len(first) == 32
    assert Settings.from_env(env).data_key == first
    assert (tmp_path / "data.key").stat().st_mode & 0o777 == 0o600
    assert Settings.from_env({**env, "BLOODCERT_DATA_KEY": OTHER_KEY.hex()}).data_key == OTHER_KEY
    with pytest.raises(ConfigError, match="DATA_KEY must hold at least 32 bytes"):
        Settings.from_env({**env, "BLOODCERT_DATA_KEY": "ab" * 16})


# Migration 0002 on a database that already holds donors

RECORD = make_record(donation_no="D0001")
REJECTED = make_record(donation_no="D0002", donor=LI_LEI, kind="blood_pudding")
EXTRA_PERSONS = 2100  # more than one batch of the migration (1,000 rows)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no migration has touched: an SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'populated.db'}"
        return
    if not _postgres_available():
        if os.environ.get("BLOODCERT_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (BLOODCERT_REQUIRE_POSTGRES=1) but unreachable")
        pytest.skip("PostgreSQL is not reachable")
    name = f"bloodcert_enc_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _old_type(values: list[Any]) -> sa.types.TypeEngine[Any] | None:
    """The 0001 column type a value was written with (None: let the driver pass it through)."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, dict):
        return sa.JSON()
    if isinstance(sample, datetime):
        return sa.DateTime()
    if isinstance(sample, date):
        return sa.Date()
    return sa.LargeBinary() if isinstance(sample, bytes) else None


def insert_at_0001(conn: sa.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows as the 0001 schema stored them, without the application's tables.py."""
    stub = sa.table(table, *(sa.column(k, _old_type([r[k] for r in rows])) for k in rows[0]))
    conn.execute(sa.insert(stub), rows)


T = datetime(2024, 5, 1, 1, 30)
PERSON = {"sex": "F", "rhd": "positive", "donation_count": 1, "whole_blood_ml": 400, "platelet_units": 0}
PERSON |= {"plasma_ml": 0, "first_at": T, "last_at": T, "created_at": T, "updated_at": T}


def person_at_0001(pid: int, id_type: str, id_number: str, name: str, birth: date | None) -> dict[str, Any]:
    hashes = {
        k: hashlib.sha256(f"{k}{pid}".encode()).digest() for k in ("merge_hash", "identity_hash", "name_hash")
    }
    identity = {"id_type": id_type, "id_number": id_number, "name": name, "birth_date": birth}
    return {"id": pid, **hashes, **identity, "abo": "A", **PERSON}


def donor_at_0001(did: int, person: dict[str, Any]) -> dict[str, Any]:
    reported = {"first_reported_at": T, "last_reported_at": T}
    facts = {"sex": "F", "birth_date": person["birth_date"], "rhd": "positive"}
    return {
        "id": did,
        "station_id": 1,
        "person_id": person["id"],
        "merge_hash": person["merge_hash"],
        **facts,
        **reported,
    }


def issue_at_0001(iid: int, code: str, record: dict[str, Any] | None, **links: Any) -> dict[str, Any]:
    where = {"donation_no": "D0002", "donation_id": None, "person_id": None, "other_person_id": None, **links}
    what = {"severity": "error" if record else "warning", "code": code, "field": "donor", "message": code}
    return {
        "id": iid,
        "station_id": 1,
        **where,
        **what,
        "record": record,
        "status": "open",
        "created_at": T,
        "source": "import",
    }


def rows_at_0001() -> dict[str, list[dict[str, Any]]]:
    """A station, two persons (one without a birth date) and their donors, a donation with its version and
    certificate, a rejected record and a warning, and enough further persons to take several batches."""
    wang = person_at_0001(1, "resident_id", WANG_FANG["id_number"], "王芳", date(1990, 1, 1))
    li = person_at_0001(2, "passport", "E12345678", "李雷", None)
    more = [
        person_at_0001(i, "passport", f"G{i:08d}", f"献血者{i}", date(1980, 1, 1 + i % 28))
        for i in range(3, 3 + EXTRA_PERSONS)
    ]
    site = {"site_name": "武林广场献血屋", "site_type": "fixed", "site_region": "330103"}
    amount = {"kind": "whole_blood", "volume_ml": 400, "units": None, "test_result": "qualified"}
    return {
        "stations": [
            {"id": 1, "code": "33000001", "name": "浙江省血液中心", "tier": "blood_centre", "region": "330000", "created_at": T}
        ],
        "persons": [wang, li, *more],
        "donors": [donor_at_0001(1, wang), donor_at_0001(2, li)],
        "donations": [
            {"id": 1, "station_id": 1, "donation_no": "D0001", "version": 1, "status": "valid", "person_id": 1,
             "donor_id": 1, "donated_at": T, "donated_on": date(2024, 5, 1), "utc_offset_min": 480, **amount,
             **site, "certificate_no": "20240000000001X", "updated_at": T}
        ],
        "donation_versions": [
            {"id": 1, "donation_id": 1, "version": 1, "content_hash": b"h" * 32, "record": RECORD,
             "received_at": T, "source": "import"}
        ],
        "certificates": [
            {"id": 1, "certificate_no": "20240000000001X", "donation_id": 1, "donation_version": 1,
             "person_id": 1, "status": "active", "issued_at": T, "status_changed_at": None, "kid": b"k" * 8,
             "status_list_id": "L1", "status_index": 0, "qr": QR}
        ],
        "quality_issues": [
            issue_at_0001(1, "invalid_value", REJECTED),
            issue_at_0001(2, "identity_conflict", None, donation_id=1, person_id=1, other_person_id=2),
        ],
    }  # fmt: skip


def populate_at_0001(url: str) -> None:
    """Fill a database at revision 0001 with plaintext rows, as the 0001 schema stored them."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table, rows in rows_at_0001().items():
            insert_at_0001(conn, table, rows)
    engine.dispose()


def plaintext_columns(url: str) -> dict[str, Any]:
    """The 0001 columns, read back with their 0001 types."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:

        def column(table: str, name: str, type_: sa.types.TypeEngine[Any]) -> list[Any]:
            stub = sa.table(table, sa.column("id"), sa.column(name, type_))
            return list(conn.execute(sa.select(stub.c[name]).order_by(stub.c.id).limit(3)).scalars())

        found = {
            "id_number": column("persons", "id_number", sa.String()),
            "name": column("persons", "name", sa.String()),
            "birth_date": column("persons", "birth_date", sa.Date()),
            "donor_birth_date": column("donors", "birth_date", sa.Date()),
            "record": column("donation_versions", "record", sa.JSON()),
            "qr": column("certificates", "qr", sa.Text()),
            "issue_record": column("quality_issues", "record", sa.JSON()),
        }
    engine.dispose()
    return found


EXPECTED_PLAINTEXT = {
    "id_number": [WANG_FANG["id_number"], "E12345678", "G00000003"],
    "name": ["王芳", "李雷", "献血者3"],
    "birth_date": [date(1990, 1, 1), None, date(1980, 1, 4)],
    "donor_birth_date": [date(1990, 1, 1), None],
    "record": [RECORD],
    "qr": [QR],
    "issue_record": [REJECTED, None],
}


def schema_differences(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return list(compare_metadata(context, metadata))


def revision_of(url: str) -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        heads = set(MigrationContext.configure(conn).get_current_heads())
    engine.dispose()
    return heads


def read_through_the_platform(url: str) -> dict[str, Any]:
    """The same columns as `plaintext_columns`, read by the application's repositories and tables."""
    db = Database(url, data_key=DATA_KEY)
    try:
        with db.reading() as uow:
            people = [p for i in (1, 2, 3) if (p := uow.persons.get(i)) is not None]
            certificate = uow.certificates.get_by_no("20240000000001X")
            found = {
                "id_number": [p.id_number for p in people],
                "name": [p.name for p in people],
                "birth_date": [p.birth_date for p in people],
                "donor_birth_date": list(
                    uow.conn.execute(sa.select(donors.c.birth_date).order_by(donors.c.id)).scalars()
                ),
                "record": [record for _version, record in uow.donations.versions_of(1)],
                "qr": [certificate.qr] if certificate else [],
                "issue_record": list(
                    uow.conn.execute(
                        sa.select(quality_issues.c.record).order_by(quality_issues.c.id)
                    ).scalars()
                ),
            }
    finally:
        db.dispose()
    return found


def test_upgrading_a_populated_database_encrypts_every_row_and_downgrading_decrypts_them(
    blank_url: str,
) -> None:
    upgrade(blank_url, "0001")
    populate_at_0001(blank_url)
    assert plaintext_columns(blank_url) == EXPECTED_PLAINTEXT

    upgrade(blank_url, "head", data_key=DATA_KEY)
    engine = sa.create_engine(blank_url)
    stolen = raw_bytes(engine)
    for secret in [*secrets_of(WANG_FANG), *secrets_of(LI_LEI), b"E12345678", b"G00002102", QR.encode()]:
        assert secret not in stolen, secret
    assert schema_differences(engine) == []
    with engine.connect() as conn:
        # A missing record stays SQL NULL rather than an encrypted JSON null.
        assert conn.execute(sa.text("SELECT record FROM quality_issues WHERE id = 2")).scalar() is None
    engine.dispose()
    assert read_through_the_platform(blank_url) == EXPECTED_PLAINTEXT

    downgrade(blank_url, "0001", data_key=DATA_KEY)
    assert revision_of(blank_url) == {"0001"}
    assert plaintext_columns(blank_url) == EXPECTED_PLAINTEXT


def postgres_files(url: str, tables: list[str]) -> bytes:
    """The tables' heap and TOAST files as PostgreSQL wrote them to disk (needs a superuser)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("CHECKPOINT"))  # every page on disk, not only in shared buffers
            paths = conn.execute(
                sa.text(
                    "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid IN "
                    "(SELECT oid FROM pg_class WHERE relname = ANY(:t) "
                    "UNION SELECT reltoastrelid FROM pg_class WHERE relname = ANY(:t))"
                ),
                {"t": tables},
            ).scalars()
            read = sa.text("SELECT pg_read_binary_file(:p)")
            return b"".join(bytes(conn.execute(read, {"p": p}).scalar_one()) for p in paths if p)
    except sa.exc.ProgrammingError as exc:
        pytest.skip(f"cannot read PostgreSQL's files: {exc.orig}")
    finally:
        engine.dispose()


def test_after_the_upgrade_the_database_files_hold_no_plaintext(blank_url: str) -> None:
    upgrade(blank_url, "0001")
    populate_at_0001(blank_url)
    upgrade(blank_url, "head", data_key=DATA_KEY)
    if blank_url.startswith("sqlite"):
        on_disk = sqlite_files(blank_url)
    else:
        on_disk = postgres_files(
            blank_url, ["persons", "donors", "donation_versions", "certificates", "quality_issues"]
        )
    assert len(on_disk) > 100_000
    for secret in [*secrets_of(WANG_FANG), *secrets_of(LI_LEI), b"E12345678", b"G00002102", QR.encode()]:
        assert secret not in on_disk, secret


def test_every_batch_of_a_large_table_is_encrypted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'populated.db'}"
    upgrade(url, "0001")
    populate_at_0001(url)
    upgrade(url, "head", data_key=DATA_KEY)
    db = Database(url, data_key=DATA_KEY)
    try:
        with db.reading() as uow:
            names = uow.conn.execute(sa.select(persons.c.id, persons.c.name).order_by(persons.c.id)).all()
    finally:
        db.dispose()
    assert len(names) == 2 + EXTRA_PERSONS
    assert names[-1] == (2 + EXTRA_PERSONS, f"献血者{2 + EXTRA_PERSONS}")


def test_a_populated_database_is_not_upgraded_without_the_data_key(blank_url: str) -> None:
    upgrade(blank_url, "0001")
    populate_at_0001(blank_url)
    with pytest.raises(DataKeyError, match="no data key was given"):
        upgrade(blank_url, "head")
    assert revision_of(blank_url) == {"0001"}
    assert plaintext_columns(blank_url) == EXPECTED_PLAINTEXT


def test_a_downgrade_with_the_wrong_key_changes_nothing(blank_url: str) -> None:
    upgrade(blank_url, "0001")
    populate_at_0001(blank_url)
    upgrade(blank_url, "head", data_key=DATA_KEY)
    # Later migrations step down first (SQLite commits each step of a downgrade on its own); then the
    # failed decryption of 0002 must leave everything as it was.
    downgrade(blank_url, "0002")
    with pytest.raises(DataKeyError, match="not the key"):
        downgrade(blank_url, "0001", data_key=OTHER_KEY)
    assert revision_of(blank_url) == {"0002"}
    upgrade(blank_url, "head", data_key=DATA_KEY)
    engine = sa.create_engine(blank_url)
    assert schema_differences(engine) == []
    engine.dispose()
    assert read_through_the_platform(blank_url) == EXPECTED_PLAINTEXT


def test_an_empty_database_needs_no_key_to_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    downgrade(url, "0001")
    upgrade(url)
    assert revision_of(url) == current_heads(url)
