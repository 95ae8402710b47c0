"""Files that hold secrets or personal data: created readable by their owner only (0600).

The mode is given to `os.open` when the file is made, never set by chmod afterwards: between a
create and a chmod, anyone on the machine could open the file and keep the descriptor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Literal

PRIVATE_MODE = 0o600

How = Literal["new", "replace", "append"]


def _descriptor(path: Path, how: How) -> int:
    flags = os.O_WRONLY | os.O_CREAT
    if how == "append":
        flags |= os.O_APPEND
    else:
        flags |= os.O_EXCL
        if how == "replace":
            path.unlink(missing_ok=True)
    return os.open(path, flags, PRIVATE_MODE)


def open_private(path: Path, how: How) -> IO[str]:
    """Open `path` for writing UTF-8 text as an owner-only file.

    new: FileExistsError if it exists (never overwrite a key); replace: a fresh file in place of any old
    one (which may have had a wider mode); append: add to the file, making it owner-only if it is new.
    """
    return os.fdopen(_descriptor(path, how), "a" if how == "append" else "w", encoding="utf-8")


def write_private(path: Path, data: bytes, how: How = "replace") -> None:
    """Write `data` to an owner-only file (see open_private for `how`)."""
    with os.fdopen(_descriptor(path, how), "ab" if how == "append" else "wb") as fh:
        fh.write(data)
