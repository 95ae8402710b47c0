"""Documents donors upload with a claim or a relative's registration: checked by content, stored encrypted,
reachable only through a random token, and every read audited by the caller."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bloodcert.domain.claims import EXTENSIONS, MAX_FILE_BYTES, MAX_FILES, FileProblem, sniff
from bloodcert.domain.clock import naive_utc
from bloodcert.errors import PayloadTooLarge, ProblemField, UnsupportedMediaType, ValidationFailed
from bloodcert.storage.repositories.claims import FileMeta
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewClaimFile

CLAIM_KINDS = ("invoice", "itemised_bill", "other")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part as received: the form field it came in, the name the client gave it, its bytes."""

    kind: str
    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Checked:
    """An upload whose content is a PDF, JPEG or PNG."""

    upload: Upload
    media_type: str


def check_uploads(uploads: Sequence[Upload], *, already: int = 0) -> list[Checked]:
    """Every upload recognised by its content, or the first problem: 413 too large or too many, 415 not a
    PDF/JPEG/PNG (whatever its name says), 400 empty or malformed. Nothing is stored before this passes."""
    if already + len(uploads) > MAX_FILES:
        raise PayloadTooLarge(f"at most {MAX_FILES} files in all", slug="too_many_files")
    checked = []
    for upload in uploads:
        found = sniff(upload.content)
        field = (
            [ProblemField(upload.kind, str(found), _message(found))] if isinstance(found, FileProblem) else []
        )
        if found is FileProblem.TOO_LARGE:
            raise PayloadTooLarge(_message(found), slug="file_too_large", errors=field)
        if found is FileProblem.UNSUPPORTED:
            raise UnsupportedMediaType(_message(found), slug="unsupported_file_type", errors=field)
        if isinstance(found, FileProblem):
            raise ValidationFailed(_message(found), slug="malformed_file", errors=field)
        checked.append(Checked(upload, found))
    return checked


def _message(problem: FileProblem) -> str:
    messages = {
        FileProblem.EMPTY: "the file is empty",
        FileProblem.TOO_LARGE: f"a file holds at most {MAX_FILE_BYTES // (1024 * 1024)} MiB",
        FileProblem.UNSUPPORTED: "only PDF, JPEG or PNG files are accepted (recognised by content)",
        FileProblem.MALFORMED: "the file is damaged or incomplete",
    }
    return messages[problem]


def store(
    uow: UnitOfWork,
    files: Sequence[Checked],
    *,
    person_id: int,
    now: datetime,
    claim_pk: int | None = None,
    relative_pk: int | None = None,
) -> list[str]:
    """Store checked files (encrypted by the column type); returns their tokens."""
    tokens = []
    for f in files:
        token = secrets.token_urlsafe(24)
        uow.claims.add_file(
            NewClaimFile(
                token=token,
                person_id=person_id,
                claim_id=claim_pk,
                relative_id=relative_pk,
                kind=f.upload.kind,
                media_type=f.media_type,
                size=len(f.upload.content),
                sha256=hashlib.sha256(f.upload.content).digest(),
                content=f.upload.content,
                created_at=naive_utc(now),
            )
        )
        tokens.append(token)
    return tokens


@dataclass(frozen=True, slots=True)
class Document:
    """A stored document ready to serve."""

    meta: FileMeta
    content: bytes

    @property
    def filename(self) -> str:
        return f"{self.meta.kind}-{self.meta.id}.{EXTENSIONS.get(self.meta.media_type, 'bin')}"
