"""Offline verification material: a trust list file and a directory of status list files."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path

from bloodcert.certs import status_list
from bloodcert.certs.documents import InvalidDocument, TrustList, parse_trust_list, verify_document
from bloodcert.certs.verify import StatusLookup, Verification, verify_qr


def load_trust_list(path: Path, *, pinned_root_pem: str | None = None) -> TrustList:
    """Read and check a trust list file; InvalidDocument when it is unreadable or its signature fails."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidDocument(f"cannot read the trust list {path}: {type(exc).__name__}") from exc
    if not isinstance(document, dict):
        raise InvalidDocument("the trust list is not a JSON object")
    return parse_trust_list(document, pinned_root_pem=pinned_root_pem)


def status_lookup(directory: Path | None, trust: TrustList) -> StatusLookup:
    """Bits from `<directory>/<list id>.json`, checked against the trust list's root; None when absent."""

    @cache
    def bits(list_id: str) -> bytes | None:
        if directory is None or not list_id.isalnum():
            return None
        path = directory / f"{list_id}.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            verify_document(document, public_key_pem=trust.root_public_key_pem, alg_name=trust.root_alg)
            return status_list.decode_list(document["credentialSubject"]["encodedList"])
        except (OSError, ValueError, KeyError, TypeError, InvalidDocument):
            return None

    def lookup(list_id: str, index: int) -> bool | None:
        found = bits(list_id)
        if found is None or not 0 <= index < len(found) * 8:
            return None
        return status_list.get_bit(found, index)

    return lookup


def verify_offline(text: str, trust: TrustList, status_dir: Path | None, now: datetime) -> Verification:
    """Verify with exported files only: no network, no database."""
    return verify_qr(text, trust, status_lookup(status_dir, trust), now)
