"""`bloodcert demo`: a fresh SQLite database with every station and thousands of synthetic donors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bloodcert.config import Settings
from bloodcert.domain.identity import IdType
from bloodcert.private_files import open_private, write_private
from bloodcert.services.certificates import root_key_fingerprint, rotate_keys, signing_of
from bloodcert.services.importing import import_file
from bloodcert.services.stations import add_station_key, new_ed25519_key, seed_builtin_stations
from bloodcert.services.supply import seed_demo_levels
from bloodcert.services.synthetic import Generator
from bloodcert.storage.migrate import upgrade
from bloodcert.storage.uow import Database

DEMO_STATION = "33000001"  # 浙江省血液中心 in the built-in list


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """What the demo made, and how to log in to it."""

    settings: Settings
    login_text: str


def seed_demo(*, persons: int, echo: Callable[[str], Any], data_dir: Path = Path("./var/demo")) -> DemoInfo:
    """Recreate the demo database and fill it; returns settings pointing at it and a printable login."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "bloodcert.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    shutil.rmtree(data_dir / "keys", ignore_errors=True)  # the keys of the previous demo database
    settings = replace(
        Settings.from_env({"BLOODCERT_DATA_DIR": str(data_dir)}),
        database_url=f"sqlite:///{db_path}",
        demo=True,
    )
    upgrade(settings.database_url, data_key=settings.data_key)
    db = Database(settings.database_url, data_key=settings.data_key)
    now = datetime.now(UTC)
    private_pem, public_pem = new_ed25519_key()
    with db.transaction() as uow:
        rotate_keys(uow, signing_of(settings), now)
        seed_builtin_stations(uow, now)
        key_id = add_station_key(uow, code=DEMO_STATION, public_key_pem=public_pem, alg="ed25519", now=now)
        fingerprint = root_key_fingerprint(uow)
    key_path = data_dir / "demo-station-key.pem"
    write_private(key_path, private_pem)
    records_path = data_dir / "demo-records.jsonl"
    first = _write_records(records_path, persons)
    echo(f"seeding {persons} synthetic donors into {db_path} …")
    summary = import_file(
        db, records_path, station_code=None, index_key=settings.index_key, signing=signing_of(settings)
    )
    with db.transaction() as uow:
        seed_demo_levels(uow, now, settings.index_key)  # the public supply page has something to show
    db.dispose()
    donor = first["donor"]
    login = (
        f"demo database: {db_path} ({summary.accepted} donations accepted, {summary.rejected} rejected)\n"
        f"demo login (证件类型 / 证件号码 / 姓名 / 献血编号):\n"
        f"  {IdType(donor['id_type']).value} / {donor['id_number']} / {donor['name']}"
        f" / {first['donation_no']}\n"
        f"demo station {DEMO_STATION}: key id {key_id}, private key {key_path}\n"
        f"root key for offline verification: export BLOODCERT_ROOT_KEY_SHA256={fingerprint}"
    )
    return DemoInfo(settings, login)


def _write_records(path: Path, persons: int) -> dict[str, Any]:
    generator = Generator(seed=2026)
    first: dict[str, Any] | None = None
    with open_private(path, "replace") as fh:
        for record in generator.records(persons):
            if first is None and record["donor"]["id_type"] == "resident_id":
                first = record
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    assert first is not None
    return first
