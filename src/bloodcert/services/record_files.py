"""Reading donation records from JSON Lines or CSV files: one parser for `bloodcert import` and `push`.

A JSON Lines file holds one record per line; a CSV file has a header row with the record's field names,
donor and site fields flattened (`donor_id_type`, `site_region`, …). Each line comes back with its number
(1-based; the CSV header does not count) so that a reader can resume after the lines it has done.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bloodcert.errors import ValidationFailed

_INT_FIELDS = {"version", "volume_ml", "units"}
# Suffixes of the files a folder of records is read for (by `bloodcert push`).
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a record file: the record (None when the line could not be parsed) and its station."""

    number: int
    record: object
    station_code: str | None
    parse_error: str | None


def read_lines(
    path: Path, station_code: str | None, *, skip: int = 0, only: Callable[[int, bytes], bool] | None = None
) -> Iterator[Line]:
    """The records of a JSON Lines or CSV file (by its suffix), after the first `skip` lines.

    `station_code`, when given, is every record's station; otherwise each record's `station` field is.
    `only(number, raw line)`, when given, picks the lines of a JSON Lines file to parse (the others are
    passed over unread); a CSV file's lines are all returned.
    """
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            yield from read_csv(fh, station_code, skip=skip)
        return
    with path.open("rb") as fh:
        yield from read_json_lines(fh, station_code, skip=skip, only=only)


def read_json_lines(
    lines: Iterable[bytes],
    station_code: str | None,
    *,
    skip: int = 0,
    only: Callable[[int, bytes], bool] | None = None,
) -> Iterator[Line]:
    """The records of a JSON Lines stream (blank lines are skipped but counted)."""
    number = 0
    for raw in lines:
        number += 1
        if number <= skip or not raw.strip() or (only is not None and not only(number, raw)):
            continue
        yield _parse_json_line(number, raw, station_code)


def _parse_json_line(number: int, raw: bytes, station_code: str | None) -> Line:
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return Line(number, None, station_code, "the line is not valid JSON")
    code = station_code or (record.get("station") if isinstance(record, dict) else None)
    return Line(number, record, code if isinstance(code, str) else None, None)


def read_csv(fh: Iterable[str], station_code: str | None, *, skip: int = 0) -> Iterator[Line]:
    """The records of a CSV stream with a header row of the record's (flattened) field names."""
    reader = csv.DictReader(fh)
    if not reader.fieldnames or "donation_no" not in reader.fieldnames:
        raise ValidationFailed("the CSV needs a header row with the record's field names")
    for row in reader:
        number = reader.line_num - 1  # the header is line 0 of the data
        if number <= skip:
            continue
        record = _unflatten(row)
        code = station_code or record.pop("station", None)
        yield Line(number, record, code or None, None)


def _unflatten(row: dict[str, str]) -> dict[str, Any]:
    """`donor_id_type` → {"donor": {"id_type": …}}; empty cells are null; counts become integers."""
    record: dict[str, Any] = {}
    for key, value in row.items():
        cell: Any = value if value != "" else None
        if key in _INT_FIELDS and cell is not None and cell.lstrip("-").isdigit():
            cell = int(cell)
        for prefix in ("donor_", "site_"):
            if key.startswith(prefix):
                record.setdefault(prefix[:-1], {})[key[len(prefix) :]] = cell
                break
        else:
            record[key] = cell
    return record


def fingerprint(path: Path, station_code: str | None) -> str:
    """Identify a file by its size and a hash of its first and last 64 KiB, plus the target station."""
    size = path.stat().st_size
    digest = hashlib.sha256(f"{size}:{station_code or ''}:".encode())
    with path.open("rb") as fh:
        digest.update(fh.read(65536))
        fh.seek(max(size - 65536, 0))
        digest.update(fh.read(65536))
    return digest.hexdigest()


def record_files(path: Path) -> list[Path]:
    """A record file itself, or a folder's record files (by suffix) in name order."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in RECORD_SUFFIXES)
    return [path]
