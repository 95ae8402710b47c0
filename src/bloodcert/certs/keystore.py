"""Private keys on disk, one PEM file per key id, in the configured key directory (never in the database)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from bloodcert.certs.algorithms import Algorithm
from bloodcert.private_files import write_private


class MissingKey(Exception):
    """A private key the database names is not in the key directory."""


class KeyStore:
    """Reads, writes and destroys private key files; caches loaded keys for the life of the process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[bytes, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # A store sent to another process (a bulk import's signing workers) goes without its loaded keys:
        # private keys never travel through a pipe, each process reads the key file itself.
        return {"directory": self.directory}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.directory = state["directory"]
        self._cache = {}

    def path(self, kid: bytes) -> Path:
        """Where the private key with this kid lives."""
        return self.directory / f"{kid.hex()}.pem"

    def save(self, kid: bytes, pem: bytes) -> None:
        """Write a private key readable by its owner only."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(self.path(kid), pem, "new")

    def load(self, kid: bytes, alg: Algorithm) -> Any:
        """The private key for `kid`; MissingKey says which file is missing and where it was looked for."""
        if kid not in self._cache:
            path = self.path(kid)
            if not path.is_file():
                raise MissingKey(
                    f"private key {kid.hex()} is not in {self.directory} (set BLOODCERT_DATA_DIR, or run "
                    "`bloodcert keys rotate` to make a new signing key)"
                )
            self._cache[kid] = alg.load_private(path.read_bytes())
        return self._cache[kid]

    def destroy(self, kid: bytes) -> None:
        """Overwrite a retired private key with random bytes, then remove it."""
        self._cache.pop(kid, None)
        path = self.path(kid)
        if path.is_file():
            size = path.stat().st_size
            with path.open("r+b") as fh:
                fh.write(secrets.token_bytes(size))
                fh.flush()
                os.fsync(fh.fileno())
            path.unlink()
