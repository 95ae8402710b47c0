"""Offline verification material: a trust list file and a directory of status list files."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bloodcert.certs import status_list
from bloodcert.certs.documents import InvalidDocument, TrustList, parse_trust_list, verify_document
from bloodcert.certs.verify import Verification, verify_qr


class UnpinnedTrustList(InvalidDocument):
    """No root key was pinned: the list's own embedded key would vouch for itself."""


def load_trust_list(
    path: Path,
    *,
    pinned_root_pem: str | None = None,
    pinned_root_sha256: str | None = None,
    allow_unpinned: bool = False,
) -> TrustList:
    """Read and check a trust list file against a pinned root key.

    A file carries its own root key, so anyone can make one that checks out against itself: without a
    pin (the root public key or its SHA-256 fingerprint) it is refused unless the caller says
    `allow_unpinned`. InvalidDocument when it is unreadable, unpinned, or its signature fails.
    """
    if pinned_root_pem is None and pinned_root_sha256 is None and not allow_unpinned:
        raise UnpinnedTrustList(
            "no root key is pinned: give the national root key's fingerprint "
            "(BLOODCERT_ROOT_KEY_SHA256 or --root-fingerprint) or its PEM (--root-key)"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidDocument(f"cannot read the trust list {path}: {type(exc).__name__}") from exc
    if not isinstance(document, dict):
        raise InvalidDocument("the trust list is not a JSON object")
    return parse_trust_list(document, pinned_root_pem=pinned_root_pem, pinned_root_sha256=pinned_root_sha256)


class StatusFiles:
    """Status lists from `<directory>/<list id>.json`, each checked against the trust list's root key."""

    def __init__(self, directory: Path | None, trust: TrustList) -> None:
        self.directory = directory
        self.trust = trust
        self._lists: dict[str, tuple[bytes, datetime] | None] = {}

    def _load(self, list_id: str) -> tuple[bytes, datetime] | None:
        if list_id not in self._lists:
            self._lists[list_id] = self._read(list_id)
        return self._lists[list_id]

    def _read(self, list_id: str) -> tuple[bytes, datetime] | None:
        if self.directory is None or not list_id.isalnum():
            return None
        try:
            document = json.loads((self.directory / f"{list_id}.json").read_text(encoding="utf-8"))
            verify_document(
                document, public_key_pem=self.trust.root_public_key_pem, alg_name=self.trust.root_alg
            )
            # A genuine list for another id must not stand in for this one.
            if not str(document["id"]).endswith(f"/status/{list_id}"):
                return None
            valid_until = datetime.fromisoformat(document["validUntil"])
            if valid_until.tzinfo is None:
                return None
            return status_list.decode_list(document["credentialSubject"]["encodedList"]), valid_until
        except (OSError, ValueError, KeyError, TypeError, InvalidDocument):
            return None

    def lookup(self, list_id: str, index: int) -> bool | None:
        """True revoked, False in force, None when the list is missing or unusable."""
        found = self._load(list_id)
        if found is None or not 0 <= index < len(found[0]) * 8:
            return None
        return status_list.get_bit(found[0], index)

    def is_stale(self, list_id: str, now: datetime) -> bool:
        """True when the list is past its validUntil (verification goes on, and says so)."""
        found = self._load(list_id)
        return found is not None and now > found[1]


def verify_offline(text: str, trust: TrustList, status_dir: Path | None, now: datetime) -> Verification:
    """Verify with exported files only: no network, no database."""
    files = StatusFiles(status_dir, trust)
    result = verify_qr(text, trust, files.lookup, now)
    if result.content is not None and files.is_stale(result.content.status_list[0], now):
        return replace(result, notes=(*result.notes, "status_list_stale"))
    return result
