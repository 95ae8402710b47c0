"""The `bloodcert` command line."""

from __future__ import annotations

import dataclasses
import getpass
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from bloodcert.config import ConfigError, Settings
from bloodcert.errors import AppError
from bloodcert.private_files import open_private, write_private
from bloodcert.storage.uow import Database, UnitOfWork

if TYPE_CHECKING:
    from bloodcert.certs.verify import Verification
    from bloodcert.services.key_check import KeyCheck

# Below this many lines, starting worker processes costs more than it saves.
PARALLEL_IMPORT_LINES = 20_000

app = typer.Typer(
    help="bloodcert: national electronic voluntary blood donation certificates (全国电子无偿献血证).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
station_app = typer.Typer(help="Blood stations and their request-signing keys.", no_args_is_help=True)
keys_app = typer.Typer(help="The issuer's certificate signing keys.", no_args_is_help=True)
trust_app = typer.Typer(help="The signed trust list, for offline verifiers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(station_app, name="station")
app.add_typer(keys_app, name="keys")
app.add_typer(trust_app, name="trust-list")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _database(settings: Settings, *, check_keys: bool = True) -> Database:
    """The configured database, once its schema is current and the configured keys fit its data."""
    from bloodcert.storage.schema import is_up_to_date

    # With a read replica, every write that changes what donors see fences it (storage/replica.py).
    db = Database(
        settings.database_url,
        data_key=settings.data_key,
        replica_url=settings.replica_url,
        redis_url=settings.redis_url,
    )
    try:
        ready = is_up_to_date(db)
    except Exception as exc:
        _fail(f"cannot reach the database: {type(exc).__name__}")
    if not ready:
        _fail("the database schema is missing or old: run `bloodcert db upgrade` first")
    if check_keys:
        # Nothing is read or written under a data or index key that does not fit (a database restored
        # without its keys). A wrong audit key is left to `db check-keys` and `audit verify` to report.
        found = _key_check(db, settings, audit=False)
        if not found.ok:
            _fail("\n".join(found.problems) + "\n(docs/backup-and-restore.md: restoring the keys)")
    return db


def _key_check(db: Database, settings: Settings, *, audit: bool) -> KeyCheck:
    from bloodcert.services.key_check import check_keys

    with db.reading() as uow:
        return check_keys(uow, index_key=settings.index_key, audit_key=settings.audit_key if audit else None)


def _now() -> datetime:
    return datetime.now(UTC)


def _audit(uow: UnitOfWork, action: str, obj: str) -> None:
    """Record an operator's change in the audit chain, in the change's own transaction."""
    from bloodcert.services import audit

    actor = f"cli:{getpass.getuser()}"[:64]
    audit.append(uow, _settings().audit_key, audit.AuditEvent(actor, action, obj, "localhost"))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to the configured database."""
    from bloodcert.storage.crypto import DataKeyError
    from bloodcert.storage.migrate import upgrade

    settings = _settings()
    try:
        upgrade(settings.database_url, data_key=settings.data_key)
    except DataKeyError as exc:
        _fail(str(exc))
    typer.echo("database is up to date")


@db_app.command("prune")
def db_prune() -> None:
    """Drop used station nonces, expired captchas, old login failures, ended rate-limit windows and
    expired read-replica fences.

    Safe at any time; run it from cron (hourly is plenty).
    """
    from bloodcert.services.maintenance import prune

    settings = _settings()
    db = _database(settings)
    with db.transaction() as uow:
        pruned = prune(uow, now=_now(), signature_window_s=settings.signature_window_s)
    typer.echo(f"pruned {pruned.nonces} nonces and {pruned.rate_windows} ended rate-limit windows")
    if pruned.fences:
        typer.echo(f"pruned {pruned.fences} expired read-replica fences")


@db_app.command("check-keys")
def db_check_keys() -> None:
    """Check that the data, index and audit keys are the ones the database was written with.

    Exit 1, naming each key that does not fit (e.g. a database restored without its keys). Every other
    command checks the data and index keys before it starts.
    """
    settings = _settings()
    found = _key_check(_database(settings, check_keys=False), settings, audit=True)
    if not found.ok:
        for problem in found.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)
    fit = ", ".join(f"{name} key" for name in found.checked) or "nothing to check"
    unchecked = ", ".join(name for name in ("data", "index", "audit") if name not in found.checked)
    note = f" (no data yet for the {unchecked} key)" if unchecked else ""
    typer.echo(f"the keys fit the database: {fit}{note}")


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="The new backup file (never overwritten; written 0600).")],
) -> None:
    """Copy the SQLite database, consistently, while the server runs (SQLite's online backup).

    PostgreSQL is backed up with its own tools instead (pg_dump, pg_basebackup; docs/backup-and-restore.md).
    The keys are not in the copy: back them up on their own.
    """
    from bloodcert.storage.backup import BackupError, backup_sqlite

    db = _database(_settings())
    try:
        done = backup_sqlite(db, file)
    except BackupError as exc:
        _fail(str(exc))
    if done.check != "ok":
        _fail(f"the copy at {done.path} fails SQLite's check: {done.check}", code=1)
    typer.echo(f"backed up to {done.path} ({done.size:,} bytes; SQLite's check of the copy: ok)")


corrections_app = typer.Typer(help="Donors' correction and back-fill requests.", no_args_is_help=True)
app.add_typer(corrections_app, name="corrections")


@corrections_app.command("escalate")
def corrections_escalate() -> None:
    """Escalate open requests past their due time to the province's administrators.

    Listing requests escalates them too; run this from cron so that it happens when nobody looks.
    """
    from bloodcert.services.corrections import escalate_overdue

    settings = _settings()
    db = _database(settings)
    with db.transaction() as uow:
        count = escalate_overdue(uow, _now(), settings.audit_key)
    typer.echo(f"escalated {count} requests")


def _write_private_key(key_out: Path, private_pem: bytes) -> None:
    """Write a new private key, created exclusively and private from the first byte."""
    key_out.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_private(key_out, private_pem, "new")
    except FileExistsError:
        _fail(f"{key_out} exists; refusing to overwrite a private key")


def _register_with_new_key(
    key_out: Path, action: str, register: Callable[[Any, bytes], tuple[str, str, str]]
) -> None:
    """Register a tenant (station or hospital) with a fresh Ed25519 key; prints the key id last.

    `register(uow, public_pem)` registers it and its key and returns (code, name, key id). The private key
    is written before the transaction and removed again if registration fails, so no key file is left for a
    tenant that does not exist.
    """
    from bloodcert.services.stations import new_ed25519_key

    db = _database(_settings())
    private_pem, public_pem = new_ed25519_key()
    _write_private_key(key_out, private_pem)
    try:
        with db.transaction() as uow:
            code, name, key_id = register(uow, public_pem)
            _audit(uow, action, f"{code} {key_id}")
    except BaseException:
        key_out.unlink(missing_ok=True)
        raise
    typer.echo(f"registered {code} {name}; private key written to {key_out}")
    typer.echo(key_id)


def _add_key_from_file(public_key: Path, action: str, code: str, add: Callable[[Any, bytes], str]) -> None:
    """Register another public key (PEM file) for a tenant; prints the key id last."""
    if not public_key.is_file():
        _fail(f"no file at {public_key}")
    db = _database(_settings())
    with db.transaction() as uow:
        key_id = add(uow, public_key.read_bytes())
        _audit(uow, action, f"{code} {key_id}")
    typer.echo(key_id)


@station_app.command("add")
def station_add(
    code: Annotated[str, typer.Option(help="Station code, unique nationally.")],
    name: Annotated[str, typer.Option(help="Station name, e.g. 杭州市中心血站.")],
    region: Annotated[str, typer.Option(help="GB/T 2260 region code of the station.")],
    key_out: Annotated[Path, typer.Option(help="Where to write the new Ed25519 private key (PKCS#8 PEM).")],
    tier: Annotated[
        str, typer.Option(help="blood_centre | central_station | central_bank")
    ] = "central_station",
) -> None:
    """Register a station and give it a fresh Ed25519 signing key; prints the key id last."""
    from bloodcert.services.stations import add_station_key, register_station

    def register(uow: Any, public_pem: bytes) -> tuple[str, str, str]:
        station = register_station(uow, code=code, name=name, region=region, tier=tier, now=_now())
        key_id = add_station_key(uow, code=station.code, public_key_pem=public_pem, alg="ed25519", now=_now())
        return station.code, station.name, key_id

    _register_with_new_key(key_out, "station.add", register)


@station_app.command("add-key")
def station_add_key(
    code: Annotated[str, typer.Option(help="Station code.")],
    public_key: Annotated[Path, typer.Option(help="PEM file with the station's public key.")],
    alg: Annotated[str, typer.Option(help="ed25519 | ecdsa-p256-sha256 | sm2-sm3")] = "ed25519",
) -> None:
    """Register another public key for a station; prints the key id last."""
    from bloodcert.services.stations import add_station_key

    _add_key_from_file(
        public_key,
        "station.add_key",
        code,
        lambda uow, pem: add_station_key(uow, code=code, public_key_pem=pem, alg=alg, now=_now()),
    )


@station_app.command("revoke-key")
def station_revoke_key(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke a station key at once."""
    from bloodcert.services.stations import revoke_station_key

    db = _database(_settings())
    with db.transaction() as uow:
        revoke_station_key(uow, key_id=key_id, now=_now())
        _audit(uow, "station.revoke_key", key_id)
    typer.echo(f"revoked {key_id}")


@station_app.command("seed")
def station_seed() -> None:
    """Register the built-in (illustrative) national list of 452 blood stations, without keys."""
    from bloodcert.services.stations import seed_builtin_stations

    db = _database(_settings())
    with db.transaction() as uow:
        added = seed_builtin_stations(uow, _now())
        _audit(uow, "station.seed", str(added))
        total = uow.stations.count()
    typer.echo(f"added {added} stations; {total} registered")


@station_app.command("list")
def station_list() -> None:
    """List registered stations."""
    db = _database(_settings())
    with db.reading() as uow:
        for s in uow.stations.all():
            typer.echo(f"{s.code}\t{s.region}\t{s.tier}\t{s.name}")


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="JSON Lines or CSV file of records.")],
    station: Annotated[str | None, typer.Option(help="Every record belongs to this station.")] = None,
    report: Annotated[Path | None, typer.Option(help="Where to write rejected lines.")] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Processes to use (0: none; default: one per core, for "
            f"{PARALLEL_IMPORT_LINES:,}+ lines). On PostgreSQL, 2 or more write at once, each signing its "
            "own certificates; otherwise they sign certificates while the one writer writes.",
        ),
    ] = None,
    defer_signing: Annotated[
        bool,
        typer.Option(
            help="Store certificates unsigned, for `bloodcert certs sign-pending` to sign later "
            "(donors see them as being issued meanwhile)."
        ),
    ] = False,
) -> None:
    """Back-fill donations from a file: same rules as the API, resumable, with a report of rejected lines."""
    import gc
    from contextlib import nullcontext

    from tqdm import tqdm

    from bloodcert.services.certificates import signing_of
    from bloodcert.services.importing import (
        COLLECT_EVERY_CHUNKS,
        count_lines,
        import_file,
        import_file_parallel,
        started_writers,
        tune_collector,
    )
    from bloodcert.services.workers import IngestWorkers

    settings = _settings()
    db = _database(settings)
    if not file.is_file():
        _fail(f"no file at {file}")
    total = count_lines(file)
    tune_collector()
    if jobs is None:
        # One per core: the signers' bursts overlap the writer's database work (measured on 2 cores: 2
        # workers beat 1, which beats none).
        jobs = (os.cpu_count() or 1) if total >= PARALLEL_IMPORT_LINES else 0
    signing = signing_of(settings)
    on_postgres = db.engine.dialect.name == "postgresql"
    started = started_writers(db, file, station) if on_postgres else None
    if started is not None and started != jobs:
        typer.echo(f"going on with the {started} writers this import started with", err=True)
        jobs = started
    parallel = jobs >= 2 and on_postgres
    # Signing workers have nothing to do when signing is deferred.
    pool = IngestWorkers(jobs) if jobs and not parallel and not defer_signing else nullcontext(None)
    with tqdm(total=total, unit="line", desc="import", disable=None) as bar, pool as workers:
        chunks = 0

        def advance(done: int) -> None:
            nonlocal chunks
            bar.update(done - bar.n)
            chunks += 1
            if chunks % COLLECT_EVERY_CHUNKS == 0:
                gc.collect()

        if parallel:
            summary = import_file_parallel(
                db,
                file,
                station_code=station,
                keys=(settings.index_key, signing, defer_signing),
                data_key=settings.data_key,
                writers=jobs,
                report_path=report,
                progress=lambda n: _update(bar, n),
            )
        else:
            summary = import_file(
                db,
                file,
                station_code=station,
                index_key=settings.index_key,
                signing=signing,
                report_path=report,
                progress=advance,
                workers=workers,
                defer_signing=defer_signing,
            )
    if summary.resumed_from:
        typer.echo(f"resumed after line {summary.resumed_from}")
    typer.echo(
        f"{summary.lines} lines: {summary.accepted} accepted, {summary.rejected} rejected "
        f"(rejected lines and reasons in {summary.report_path})"
    )
    if defer_signing:
        typer.echo("certificates stored pending: run `bloodcert certs sign-pending` to sign them")


def _update(bar: Any, count: int) -> None:
    bar.update(count)


certs_app = typer.Typer(help="Donation certificates.", no_args_is_help=True)
app.add_typer(certs_app, name="certs")


@certs_app.command("sign-pending")
def certs_sign_pending(
    jobs: Annotated[
        int, typer.Option(min=1, help="Signing processes (PostgreSQL; SQLite signs in one).")
    ] = 1,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Certificates per transaction.")] = 500,
) -> None:
    """Sign the certificates an import stored pending (--defer-signing); safe to stop and run again, and to
    run several at once."""
    from tqdm import tqdm

    from bloodcert.services.certificates import signing_of
    from bloodcert.services.pending_certificates import count_pending, sign_pending, sign_pending_job
    from bloodcert.services.workers import run_writers

    settings = _settings()
    db = _database(settings)
    signing = signing_of(settings)
    waiting = count_pending(db)
    signed = 0
    with tqdm(total=waiting, unit="cert", desc="sign", disable=None) as bar:

        def advance(count: int) -> None:
            nonlocal signed
            signed += count
            bar.update(count)

        if jobs >= 2 and db.engine.dialect.name == "postgresql":
            job = (settings.database_url, settings.data_key, signing, batch)
            run_writers(sign_pending_job, [job] * jobs, advance)
        else:
            sign_pending(db, signing, batch=batch, progress=advance)
    typer.echo(f"signed {signed} certificates; {count_pending(db)} pending")


@certs_app.command("skip-ahead")
def certs_skip_ahead(
    certificates: Annotated[
        int,
        typer.Option(
            min=1,
            help="How many certificate numbers to skip: at least as many certificates as can have been "
            "issued between the backup and the restore.",
        ),
    ],
) -> None:
    """After a restore to an earlier moment: skip the certificate numbers and status list slots that
    certificates issued after the backup may carry, so that no number is given twice (audited)."""
    from bloodcert.services.skip_ahead import skip_ahead

    db = _database(_settings())
    with db.transaction() as uow:
        done = skip_ahead(uow, certificates, _now())
        _audit(uow, "certs.skip-ahead", f"{certificates} certificate numbers")
    typer.echo(
        f"skipped certificate serials {done.first_serial:,} to {done.last_serial:,} and status lists "
        f"{done.first_list} to {done.last_list}; sealed {done.sealed} status lists that had room"
    )


@certs_app.command("pending")
def certs_pending() -> None:
    """How many certificates wait for `bloodcert certs sign-pending`."""
    from bloodcert.services.pending_certificates import count_pending

    typer.echo(str(count_pending(_database(_settings()))))


@app.command("push")
def push_cmd(  # noqa: PLR0917 - one parameter per command-line option
    paths: Annotated[
        list[str], typer.Argument(help="JSON Lines or CSV files, folders of them, or - for standard input.")
    ],
    url: Annotated[str, typer.Option(help="The platform's base URL, e.g. https://bloodcert.example.")],
    key_id: Annotated[str, typer.Option(help="The station key's id (stk_…).")],
    key: Annotated[Path, typer.Option(help="The station's private key (PKCS#8 PEM).")],
    alg: Annotated[str, typer.Option(help="ed25519 | ecdsa-p256-sha256 | sm2-sm3")] = "ed25519",
    spool: Annotated[
        Path, typer.Option(help="Folder of the spool (and of rejected.jsonl); one per platform.")
    ] = Path("bloodcert-spool"),
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Records per request.")] = 500,
    give_up_after: Annotated[
        float, typer.Option(min=1, help="Stop when nothing has got through for this many seconds.")
    ] = 900.0,
) -> None:
    """Send a station's records to the platform in signed batches, each exactly once, through a spool."""
    from tqdm import tqdm

    from bloodcert.services.push import Pusher, PushOptions, PushStopped, spool_inputs
    from bloodcert.services.push_spool import Spool
    from bloodcert.services.request_signing import RequestSigner

    if not key.is_file():
        _fail(f"no key file at {key}")
    files = [Path(p) for p in paths if p != "-"]
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        _fail(f"no file or folder at {', '.join(missing)}")
    signer = RequestSigner.from_pem(key_id, alg, key.read_bytes())
    options = PushOptions(url, batch_size=batch_size, give_up_after_s=give_up_after)
    queue = Spool.open(spool, options.url)
    try:
        added = spool_inputs(queue, files)
        if "-" in paths:
            added += queue.add_stream(_stdin_records(), "-")
        waiting = queue.waiting()
        typer.echo(f"{added} new records spooled; {waiting} to send")
        with tqdm(total=waiting, unit="record", desc="push", disable=None) as bar:

            def advance(records: int) -> None:
                bar.update(records)

            pusher = Pusher(queue, signer, options, on_batch=advance)
            try:
                run = pusher.run()
            except PushStopped as exc:
                _fail(str(exc), exc.exit_code)
        sent = ", ".join(f"{n} {outcome}" for outcome, n in sorted(run.outcomes.items())) or "nothing"
        totals = queue.outcomes()
        typer.echo(f"sent {sum(run.outcomes.values())} records in {run.batches} batches: {sent}")
        typer.echo(
            f"spool {spool}: {sum(totals.values())} records answered, {totals.get('rejected', 0)} rejected "
            f"(reasons in {spool / 'rejected.jsonl'}), {queue.waiting()} waiting"
        )
    finally:
        queue.close()


def _stdin_records() -> Any:
    """Standard input's records: JSON Lines, or CSV when the first line is not a JSON object."""
    import itertools

    from bloodcert.services.record_files import read_csv, read_json_lines

    stream = sys.stdin.buffer
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    lines = itertools.chain([first], stream)
    if first.lstrip().startswith(b"{"):
        return read_json_lines(lines, None)
    return read_csv((raw.decode("utf-8-sig") for raw in lines), None)


@app.command("generate")
def generate_cmd(
    persons: Annotated[int, typer.Option(min=1, help="How many donors.")],
    out: Annotated[Path, typer.Option(help="JSON Lines file to write.")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed writes the same file.")] = 0,
    noise: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of records with a station error.")
    ] = 0.0,
    as_of: Annotated[
        str | None, typer.Option(help="Last day of the generated history, YYYY-MM-DD (default 2026-11-01).")
    ] = None,
) -> None:
    """Write synthetic national donation data in the import format."""
    import json
    from datetime import date

    from tqdm import tqdm

    from bloodcert.services.synthetic import Generator

    try:
        today = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail("--as-of must be a date as YYYY-MM-DD")
    generator = Generator(seed=seed, noise=noise, today=today)
    count = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        open_private(out, "replace") as fh,  # synthetic, but shaped like personal data
        tqdm(total=persons, unit="person", desc="generate", disable=None) as bar,
    ):
        for i in range(persons):
            for record in generator.records(1):
                fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
            if i % 1000 == 999:
                bar.update(1000)
        bar.update(persons - bar.n)
    typer.echo(f"wrote {count} records of {persons} persons to {out}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new document-signing key (and the root on first use); retire and destroy the old one."""
    from bloodcert.services.certificates import rotate_keys, signing_of

    settings = _settings()
    db = _database(settings)
    with db.transaction() as uow:
        key = rotate_keys(uow, signing_of(settings), _now())
        _audit(uow, "keys.rotate", key.kid.hex())
    typer.echo(f"new signing key {key.kid.hex()} ({key.alg}), valid until {key.not_after:%Y-%m-%d}")


@keys_app.command("list")
def keys_list() -> None:
    """List the issuer's keys with their validity and status."""
    settings = _settings()
    db = _database(settings)
    with db.reading() as uow:
        for key in uow.certificates.all_keys():
            typer.echo(
                f"{key.kid.hex()}\t{key.role}\t{key.alg}\t{key.not_before:%Y-%m-%d}..{key.not_after:%Y-%m-%d}"
                f"\t{key.status}"
            )


@trust_app.command("export")
def trust_list_export(
    file: Annotated[Path, typer.Argument(help="Where to write the trust list JSON.")],
    status_dir: Annotated[
        Path | None, typer.Option(help="Where to write the status lists (default: FILE's folder/status).")
    ] = None,
) -> None:
    """Write the signed trust list and every signed status list, for offline verification."""
    import json

    from bloodcert.services.certificates import (
        root_key_fingerprint,
        signing_of,
        status_list_document,
        trust_list_document,
    )

    settings = _settings()
    db = _database(settings)
    signing = signing_of(settings)
    status_dir = status_dir or file.parent / "status"
    status_dir.mkdir(parents=True, exist_ok=True)
    with db.reading() as uow:
        document = trust_list_document(uow, signing, _now())
        fingerprint = root_key_fingerprint(uow)
        for list_id in document["status_lists"]:
            status = status_list_document(uow, signing, list_id, base_url=settings.public_base_url)
            (status_dir / f"{list_id}.json").write_text(
                json.dumps(status, ensure_ascii=False), encoding="utf-8"
            )
    file.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    typer.echo(
        f"wrote {file} ({len(document['keys'])} keys) and {len(document['status_lists'])} status lists "
        f"to {status_dir}"
    )
    typer.echo(f"root key sha256: {fingerprint} (verifiers pin it as BLOODCERT_ROOT_KEY_SHA256)")


# `bloodcert verify` exit codes (docs/verification-offline.md); 2 is typer's own for usage errors.
EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNUSABLE = 2
EXIT_STATUS_UNKNOWN = 3


@app.command("verify")
def verify_cmd(
    qr_text: Annotated[str, typer.Argument(help="The certificate's BC1: text.")],
    *,
    trust_list: Annotated[Path | None, typer.Option(help="Exported trust list: verify offline.")] = None,
    status_dir: Annotated[
        Path | None, typer.Option(help="Exported status lists (default: next to it).")
    ] = None,
    root_key: Annotated[Path | None, typer.Option(help="Pin the issuer's root public key (PEM).")] = None,
    root_fingerprint: Annotated[
        str | None,
        typer.Option(help="Pin the root key by its SHA-256 (default: BLOODCERT_ROOT_KEY_SHA256)."),
    ] = None,
    insecure_unpinned: Annotated[
        bool, typer.Option(help="Accept a trust list signed by whatever root key it names (testing only).")
    ] = False,
) -> None:
    """Verify a certificate: exit 0 valid, 1 invalid, 2 unusable input, 3 signature valid but revocation
    status unknown."""
    if trust_list is None:
        from bloodcert.services.verification import OnlineVerifier

        settings = _settings()
        result = OnlineVerifier(_database(settings), settings.issuer).verify(qr_text)
    else:
        pins = (root_key, root_fingerprint, insecure_unpinned)
        result = _verify_offline(qr_text, trust_list, status_dir or trust_list.parent / "status", *pins)
    unknown = result.valid and "status_unknown" in result.notes
    if unknown:
        typer.echo("status unknown: the signature is valid; no status list says whether it is revoked")
    else:
        typer.echo("valid" if result.valid else f"invalid: {result.reason}")
    for note in result.notes:
        typer.echo(f"note: {note.replace('_', ' ')}")
    if result.content is not None and result.valid:
        from bloodcert.domain.donation_rules import kind_label

        c = result.content
        amount = f"{c.volume_ml} ml" if c.volume_ml is not None else f"{c.units} units"
        typer.echo(
            f"{c.certificate_no}  {c.donated_on}  {kind_label(c.kind, 'en')} {amount}"
            f"  {c.holder_name} {c.id_number_masked}"
            f"  {c.abo} {c.rhd or ''}  {c.station_name}"
        )
    if result.honour is not None:
        h = result.honour
        typer.echo(
            f"honour card  {h.holder_name}  {h.highest_award or '-'}  {'; '.join(h.perks) or '-'}"
            f"  {h.volunteer_hours} h  until {h.expires_at.isoformat()}"
        )
    if result.donor_pass is not None:
        p = result.donor_pass
        typer.echo(
            f"pass  {p.holder_name} {p.id_number_masked}  {p.site_name} ({p.station_code})"
            f"  {p.day} {p.starts_at or 'walk-in'}  {p.kind}  until {p.expires_at.isoformat()}"
        )
    if result.hours is not None:
        s = result.hours
        tables = "; ".join(f"{t.table} {t.donations} donations {t.hours} h" for t in s.tables) or "-"
        typer.echo(
            f"volunteer hours statement  {s.holder_name} {s.id_number_masked}  {s.hours} h"
            f"  {s.donations} donations ({tables})  until {s.expires_at.isoformat()}"
        )
    raise typer.Exit(EXIT_STATUS_UNKNOWN if unknown else EXIT_VALID if result.valid else EXIT_INVALID)


def _verify_offline(  # noqa: PLR0917 (the pins travel together from verify_cmd)
    qr_text: str,
    trust_list: Path,
    status_dir: Path,
    root_key: Path | None,
    root_fingerprint: str | None,
    insecure_unpinned: bool,
) -> Verification:
    from bloodcert.certs.documents import InvalidDocument
    from bloodcert.certs.offline import load_trust_list, verify_offline
    from bloodcert.config import root_key_pin

    try:
        pinned_pem = root_key.read_text(encoding="utf-8") if root_key else None
        pinned_sha256 = root_fingerprint or (None if pinned_pem else root_key_pin())
        if insecure_unpinned and pinned_pem is None and pinned_sha256 is None:
            typer.echo("warning: no root key pinned; this trust list vouches for itself", err=True)
        trust = load_trust_list(
            trust_list,
            pinned_root_pem=pinned_pem,
            pinned_root_sha256=pinned_sha256,
            allow_unpinned=insecure_unpinned,
        )
    except (InvalidDocument, OSError) as exc:
        _fail(f"the trust list cannot be used: {exc}", EXIT_UNUSABLE)
    return verify_offline(qr_text, trust, status_dir, _now())


audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 at the first edited, deleted or reordered entry."""
    from bloodcert.services.audit import verify_chain

    settings = _settings()
    # The walk below finds a wrong audit key itself, and names the first entry that does not fit.
    with _database(settings, check_keys=False).reading() as uow:
        report = verify_chain(uow, settings.audit_key)
    if report.intact:
        typer.echo(f"audit chain intact: {report.entries} entries; head {report.head_hash}")
        return
    typer.echo(f"audit chain BROKEN at entry {report.first_bad_id}: {report.problem}", err=True)
    raise typer.Exit(1)


@audit_app.command("prune")
def audit_prune() -> None:
    """Delete entries older than BLOODCERT_AUDIT_RETENTION_DAYS (at least 180); the chain stays checkable."""
    from bloodcert.services.audit import prune

    settings = _settings()
    with _database(settings).transaction() as uow:
        try:
            removed = prune(uow, settings.audit_key, retention_days=settings.audit_retention_days, now=_now())
        except ValueError as exc:
            _fail(str(exc), code=1)
        _audit(uow, "audit.prune", str(removed))
    typer.echo(f"pruned {removed} entries older than {settings.audit_retention_days} days")


staff_app = typer.Typer(
    help="Console staff accounts (/console). None exists until one is added.", no_args_is_help=True
)
app.add_typer(staff_app, name="staff")


@staff_app.command("add")
def staff_add(
    username: Annotated[str, typer.Option(help="3-32 of a-z 0-9 . _ -, starting with a letter.")],
    role: Annotated[str, typer.Option(help="national_admin | provincial_admin | station_operator | auditor")],
    password_file: Annotated[Path, typer.Option(help="File holding the password (12-128 characters).")],
    station: Annotated[str | None, typer.Option(help="Station code (station operators only).")] = None,
    province: Annotated[
        str | None, typer.Option(help="GB/T 2260 province, e.g. 33 (provincial administrators only).")
    ] = None,
) -> None:
    """Create a console account; prints its TOTP provisioning URI (otpauth://...) last, once."""
    from bloodcert.services.staff import add_staff

    if not password_file.is_file():
        _fail(f"no file at {password_file}")
    # A file rather than an argument, so that the password stays out of shell history and `ps`.
    password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
    db = _database(_settings())
    with db.transaction() as uow:
        new = add_staff(
            uow,
            username=username,
            role=role,
            station_code=station,
            password=password,
            now=_now(),
            province=province,
        )
        bound = new.user.station_code or new.user.province or ""
        _audit(uow, "staff.add", f"{new.user.username} {new.user.role} {bound}".strip())
    where = f" at station {new.user.station_code}" if new.user.station_code else ""
    where += f" for province {new.user.province}" if new.user.province else ""
    typer.echo(f"added {new.user.username} ({new.user.role}{where}); the password file may be deleted now")
    typer.echo("enrol this in an authenticator app (shown only now; the secret is stored encrypted):")
    typer.echo(new.provisioning_uri)


@staff_app.command("list")
def staff_list() -> None:
    """List console accounts: username, role, station, created, and whether disabled or locked."""
    db = _database(_settings())
    now = _now().replace(tzinfo=None)
    with db.reading() as uow:
        for user in uow.staff.all_users():
            state = "disabled" if user.disabled_at else "active"
            if not user.disabled_at and user.locked_until and user.locked_until > now:
                state = f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
            station = user.station_code or user.province or "-"
            typer.echo(f"{user.username}\t{user.role}\t{station}\t{user.created_at:%Y-%m-%d}\t{state}")


@staff_app.command("disable")
def staff_disable(username: Annotated[str, typer.Argument(help="The account to disable.")]) -> None:
    """Disable a console account at once; its open sessions end too."""
    from bloodcert.services.staff import disable_staff

    db = _database(_settings())
    with db.transaction() as uow:
        user = disable_staff(uow, username, _now())
        _audit(uow, "staff.disable", user.username)
    typer.echo(f"disabled {user.username}")


honours_app = typer.Typer(help="The national commendation: candidate lists and stations' decisions.")
app.add_typer(honours_app, name="honours")


@honours_app.command("candidates")
def honours_candidates(
    cycle: Annotated[str, typer.Option(help="The cycle, YYYY-YYYY (e.g. 2022-2023).")],
    out: Annotated[
        Path, typer.Option(help="Write the list here, as CSV (UTF-8 with BOM, for spreadsheets).")
    ],
    province: Annotated[
        str | None, typer.Option(help="Only donors who gave in this province (2-digit GB/T 2260 code).")
    ] = None,
    station: Annotated[str | None, typer.Option(help="Only donors who gave at this station (code).")] = None,
) -> None:
    """Write a cycle's candidate list: each candidate with the donations that count and where made."""
    from bloodcert.services import honours

    if province is not None and not (len(province) == 2 and province.isdigit()):
        _fail("--province is a 2-digit province code")
    with _database(_settings()).transaction() as uow:
        found = honours.candidates(uow, cycle, province=province, station_code=station)
        _audit(uow, "export:honour-candidates", f"{cycle} {province or station or 'national'}")
    out.write_text(honours.candidates_csv(found), encoding="utf-8-sig", newline="")
    typer.echo(f"{len(found)} candidates written to {out}")


@honours_app.command("decide")
def honours_decide(  # noqa: PLR0917 - one parameter per command-line option
    cycle: Annotated[str, typer.Option(help="The cycle, YYYY-YYYY.")],
    person_ref: Annotated[int, typer.Option(help="The candidate's person_ref from the list.")],
    award: Annotated[str, typer.Option(help="bronze, silver, gold or lifetime.")],
    confirm: Annotated[bool, typer.Option("--confirm/--reject", help="Confirm, or reject with --reason.")],
    reason: Annotated[str | None, typer.Option(help="Why it is rejected (required to reject).")] = None,
    station: Annotated[str, typer.Option(help="The deciding station's code.")] = "national",
) -> None:
    """Confirm a candidate's award, or reject it with a reason; a later decision replaces an earlier one."""
    from bloodcert.services import honours

    decision = honours.Decision(person_ref, cycle, award, confirm, reason, f"station:{station}"[:64])
    with _database(_settings()).transaction() as uow:
        honours.decide(uow, decision, _now())
        _audit(uow, "honour:" + ("confirm" if confirm else "reject"), f"{person_ref} {cycle} {award}")
    typer.echo(f"{'confirmed' if confirm else 'rejected'}: {award} {cycle} for {person_ref}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (README: one per core).")] = 2,
) -> None:
    """Serve the web UI and the APIs."""
    import uvicorn

    settings = _settings()
    if settings.metrics_port is not None:
        _serve_metrics(settings)  # before anything records a sample
    _database(settings).dispose()
    if workers > 1:
        from bloodcert import metrics

        metrics.worker_exited(os.getpid())  # this process only starts the workers: none of its gauges count
    # The workers read it (Settings.workers): limits counted in memory are shared out among them.
    os.environ["BLOODCERT_WORKERS"] = str(workers)
    from bloodcert.web.logs import log_config

    uvicorn.run(
        "bloodcert.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,  # the app writes its own, with request id and route (BLOODCERT_LOG_LEVEL=info)
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        # The app resolves forwarded client addresses itself, from BLOODCERT_TRUSTED_PROXIES only.
        proxy_headers=False,
    )


def _serve_metrics(settings: Settings) -> None:
    """Every worker's metrics on their own listener; samples of an earlier run are dropped first."""
    from bloodcert import metrics

    folder = os.environ.get(metrics.MULTIPROC_ENV) or str(settings.data_dir / "metrics")
    metrics.use_multiprocess_dir(Path(folder))
    assert settings.metrics_port is not None
    try:
        metrics.start_listener(settings.metrics_host, settings.metrics_port)
    except OSError as exc:
        _fail(f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: {exc.strerror}")
    typer.echo(f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics")


@app.command("demo")
def demo(
    persons: Annotated[int, typer.Option(min=1, help="Synthetic donors to seed.")] = 3000,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Seed only; do not start the server.")] = False,
) -> None:
    """Seed a fresh demo database (452 stations, thousands of donors) and serve it."""
    from bloodcert.demo import seed_demo

    info = seed_demo(persons=persons, echo=typer.echo)
    typer.echo(info.login_text)
    if no_serve:
        return
    import uvicorn

    from bloodcert.web.app import create_app

    # OAuth callbacks (the demo login platform's too) return to the public address: the one served here.
    base_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    settings = dataclasses.replace(info.settings, public_base_url=base_url)
    typer.echo(f"serving on {base_url}  (Ctrl+C to stop)")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        # The app resolves forwarded client addresses itself, from BLOODCERT_TRUSTED_PROXIES only.
        proxy_headers=False,
    )


# ---- hospitals and blood-fee waiver rules ----------------------------------------------------------------

hospital_app = typer.Typer(
    help="Hospitals that waive blood fees, and their request-signing keys.", no_args_is_help=True
)
waiver_app = typer.Typer(help="Blood-fee waivers (用血费用减免).", no_args_is_help=True)
rules_app = typer.Typer(help="The provincial waiver rule tables.", no_args_is_help=True)
app.add_typer(hospital_app, name="hospital")
app.add_typer(waiver_app, name="waiver")
waiver_app.add_typer(rules_app, name="rules")


@hospital_app.command("add")
def hospital_add(
    code: Annotated[str, typer.Option(help="Hospital code, unique nationally.")],
    name: Annotated[str, typer.Option(help="Hospital name, e.g. 浙江大学医学院附属第一医院.")],
    region: Annotated[str, typer.Option(help="GB/T 2260 region code of the hospital.")],
    key_out: Annotated[Path, typer.Option(help="Where to write the new Ed25519 private key (PKCS#8 PEM).")],
) -> None:
    """Register a hospital and give it a fresh Ed25519 signing key; prints the key id last."""
    from bloodcert.services.hospitals import add_hospital_key, register_hospital

    def register(uow: Any, public_pem: bytes) -> tuple[str, str, str]:
        hospital = register_hospital(uow, code=code, name=name, region=region, now=_now())
        key_id = add_hospital_key(
            uow, code=hospital.code, public_key_pem=public_pem, alg="ed25519", now=_now()
        )
        return hospital.code, hospital.name, key_id

    _register_with_new_key(key_out, "hospital.add", register)


@hospital_app.command("add-key")
def hospital_add_key(
    code: Annotated[str, typer.Option(help="Hospital code.")],
    public_key: Annotated[Path, typer.Option(help="PEM file with the hospital's public key.")],
    alg: Annotated[str, typer.Option(help="ed25519 | ecdsa-p256-sha256 | sm2-sm3")] = "ed25519",
) -> None:
    """Register another public key for a hospital; prints the key id last."""
    from bloodcert.services.hospitals import add_hospital_key

    _add_key_from_file(
        public_key,
        "hospital.add_key",
        code,
        lambda uow, pem: add_hospital_key(uow, code=code, public_key_pem=pem, alg=alg, now=_now()),
    )


@hospital_app.command("revoke-key")
def hospital_revoke_key(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke a hospital key at once."""
    from bloodcert.services.hospitals import revoke_hospital_key

    db = _database(_settings())
    with db.transaction() as uow:
        revoke_hospital_key(uow, key_id=key_id, now=_now())
        _audit(uow, "hospital.revoke_key", key_id)
    typer.echo(f"revoked {key_id}")


@hospital_app.command("list")
def hospital_list() -> None:
    """List registered hospitals."""
    db = _database(_settings())
    with db.reading() as uow:
        for h in uow.hospitals.all():
            typer.echo(f"{h.code}\t{h.region}\t{h.name}")


@rules_app.command("list")
def waiver_rules_list() -> None:
    """One line per jurisdiction: code, name, versions and where the rule comes from."""
    from bloodcert.domain.waivers import builtin_rule_book

    for code, versions in sorted(builtin_rule_book().rules.items()):
        current = versions[-1]
        dates = ", ".join(v.effective_from.isoformat() for v in versions)
        typer.echo(f"{code}\t{current.name}\t{current.unit.value}\tfrom {dates}\t{current.source}")


@rules_app.command("show")
def waiver_rules_show(
    province: Annotated[str, typer.Argument(help="Jurisdiction code (33) or name (浙江省).")],
) -> None:
    """Print every version of one jurisdiction's rule."""
    from bloodcert.domain.waivers import builtin_rule_book, describe_rule

    book = builtin_rule_book()
    found = [v for code, vs in book.rules.items() for v in vs if province in (code, v.name, v.name[:-1])]
    if not found:
        _fail(f"no waiver rule table for {province!r}; see `bloodcert waiver rules list`")
    for rule in found:
        typer.echo("\n".join(describe_rule(rule)))
        typer.echo("")


notify_app = typer.Typer(help="Donor messages: delivery and the daily sweeps.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("send")
def notify_send() -> None:
    """Send the messages that are due through SMS, WeChat and Alipay; run it from cron every minute."""
    import httpx

    from bloodcert.channels.registry import channels_from_settings
    from bloodcert.services import notifications

    settings = _settings()
    db = _database(settings)
    with httpx.Client(timeout=10.0) as http:
        channels = channels_from_settings(settings, http)
        run = notifications.deliver_due(db, channels, notifications.policy_of(settings.notify), _now())
    typer.echo(
        f"sent {run.sent}, retrying {run.retried}, failed {run.failed}, "
        f"waiting {run.postponed}, dropped {run.dropped}"
    )


@notify_app.command("sweep")
def notify_sweep() -> None:
    """Tell donors who may donate again, and remind tomorrow's bookings; run it once a day (any hour)."""
    from datetime import timedelta

    from bloodcert.domain.clock import BEIJING
    from bloodcert.services import notices

    db = _database(_settings())
    now = _now()
    today = now.astimezone(BEIJING).date()
    with db.transaction() as uow:
        eligible = notices.eligible_again(uow, today, now)
        reminded = notices.booking_reminders(uow, today + timedelta(days=1), now)
    typer.echo(f"eligible again: {eligible}; booking reminders: {reminded}")


def main() -> None:
    """Entry point: run the CLI, turning domain errors into one clear line and exit code 1."""
    try:
        app()
    except AppError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        sys.exit(1)


claims_app = typer.Typer(help="Online claims of blood fees and their review deadlines.", no_args_is_help=True)
app.add_typer(claims_app, name="claims")


@claims_app.command("escalate")
def claims_escalate() -> None:
    """Escalate every open claim past its due date to its provinces' administrators (each once).

    Run it from cron (hourly); the console and the donor see a claim as overdue either way.
    """
    from bloodcert.services import claims
    from bloodcert.services.relatives import Actor

    settings = _settings()
    db = _database(settings)
    who = Actor("system", None, settings.index_key, settings.audit_key, _now())
    with db.transaction() as uow:
        done = claims.escalate_overdue(uow, who)
    typer.echo(f"escalated {len(done)} overdue claims")
