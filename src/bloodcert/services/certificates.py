"""Certificate signing: key rotation, issuing signed QR payloads, revocation, trust and status lists."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bloodcert.certs import status_list
from bloodcert.certs.algorithms import Algorithm, algorithm
from bloodcert.certs.documents import TRUST_LIST_LIFETIME, b64, root_fingerprint, sign_document
from bloodcert.certs.keystore import KeyStore, MissingKey
from bloodcert.certs.payload import CertificateContent, to_claims
from bloodcert.certs.qr import encode
from bloodcert.config import Settings
from bloodcert.domain.clock import naive_utc
from bloodcert.errors import NotConfigured
from bloodcert.storage.rows import SigningKeyRow, StatusListRow
from bloodcert.storage.uow import UnitOfWork
from bloodcert.storage.writes import NewSigningKey, NewStatusList

ROOT_VALIDITY = timedelta(days=365 * 20)
# The counter that numbers status lists (1, 2, …).
STATUS_LIST_COUNTER = "status_list"
SIGNING_VALIDITY = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Signing:
    """What certificate signing needs from the configuration."""

    store: KeyStore
    issuer: str
    alg_name: str = "ES256"


def signing_of(settings: Settings) -> Signing:
    """The signing configuration the settings describe."""
    return Signing(KeyStore(settings.key_dir), settings.issuer, settings.cert_alg)


def kid_of(alg: Algorithm, public_key: Any) -> bytes:
    """The key id: the first 8 bytes of SHA-256 over the DER public key (EU DCC hashes its certificate)."""
    return hashlib.sha256(alg.public_der(public_key)).digest()[:8]


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _new_key(
    uow: UnitOfWork, signing: Signing, role: str, now: datetime, validity: timedelta
) -> SigningKeyRow:
    alg = algorithm(signing.alg_name)
    private = alg.generate()
    kid = kid_of(alg, private.public_key())
    signing.store.save(kid, alg.private_pem(private))
    row = NewSigningKey(
        kid=kid,
        role=role,
        alg=alg.name,
        public_key_pem=alg.public_pem(private.public_key()).decode(),
        # Whole seconds, like a CWT's iat: a certificate signed in the key's first second must verify.
        not_before=naive_utc(now.replace(microsecond=0)),
        not_after=naive_utc(now + validity),
        status="active",
        created_at=naive_utc(now),
    )
    uow.certificates.add_key(row)
    active = uow.certificates.active_key(role)
    assert active is not None
    return active


def rotate_keys(uow: UnitOfWork, signing: Signing, now: datetime) -> SigningKeyRow:
    """Add a new document-signing key (and the root on first use); retire and destroy the old one."""
    if uow.certificates.active_key("root") is None:
        _new_key(uow, signing, "root", now, ROOT_VALIDITY)
    previous = uow.certificates.active_key("signing")
    fresh = _new_key(uow, signing, "signing", now, SIGNING_VALIDITY)
    if previous is not None:
        # Its public key stays in the trust list for as long as its certificates matter (they do not expire).
        uow.certificates.retire_key(previous.kid, naive_utc(now))
        signing.store.destroy(previous.kid)
    return fresh


def _key_entry(key: SigningKeyRow) -> dict[str, Any]:
    return {
        "kid": b64(key.kid),
        "alg": key.alg,
        "public_key_pem": key.public_key_pem,
        "not_before": _aware(key.not_before).isoformat(),
        "not_after": _aware(key.not_after).isoformat(),
        "status": key.status,
    }


def _root(uow: UnitOfWork, signing: Signing) -> tuple[SigningKeyRow, Any, Algorithm]:
    root = uow.certificates.active_key("root")
    if root is None:
        raise NotConfigured("no issuer root key: run `bloodcert keys rotate`")
    alg = algorithm(root.alg)
    try:
        return root, signing.store.load(root.kid, alg), alg
    except MissingKey as exc:
        raise NotConfigured(str(exc)) from exc


def root_key_fingerprint(uow: UnitOfWork) -> str:
    """SHA-256 of the active root public key: what offline verifiers pin (BLOODCERT_ROOT_KEY_SHA256)."""
    root = uow.certificates.active_key("root")
    if root is None:
        raise NotConfigured("no issuer root key: run `bloodcert keys rotate`")
    return root_fingerprint(root.public_key_pem)


def trust_list_document(uow: UnitOfWork, signing: Signing, now: datetime) -> dict[str, Any]:
    """The trust list: every document-signing key with its validity and status, signed by the root key."""
    root, private, alg = _root(uow, signing)
    document = {
        "issuer": signing.issuer,
        "version": 1,
        "issued_at": now.isoformat(),
        "next_update": (now + TRUST_LIST_LIFETIME).isoformat(),
        "root": {"kid": b64(root.kid), "alg": root.alg, "public_key_pem": root.public_key_pem},
        "keys": [_key_entry(k) for k in uow.certificates.all_keys() if k.role == "signing"],
        "status_lists": uow.certificates.list_ids(),
    }
    return sign_document(document, alg=alg, private_key=private, kid=root.kid)


def status_list_document(
    uow: UnitOfWork, signing: Signing, list_id: str, *, base_url: str
) -> dict[str, Any] | None:
    """One Bitstring Status List credential, signed by the root key; None for an unknown list."""
    row = uow.certificates.get_list(list_id)
    if row is None:
        return None
    root, private, alg = _root(uow, signing)
    document = status_list.credential(
        base_url=base_url,
        list_id=list_id,
        issuer=signing.issuer,
        bits=row.bits,
        updated=datetime.now(UTC),
    )
    return sign_document(document, alg=alg, private_key=private, kid=root.kid)


@dataclass(frozen=True, slots=True)
class SignJob:
    """Certificates' claims to sign with one key, everything another process needs to do it."""

    store: KeyStore
    kid: bytes
    alg_name: str
    claims: list[dict[Any, Any]]

    def sign(self, private_key: Any) -> list[str]:
        """The `BC1:` texts, in order."""
        alg = algorithm(self.alg_name)
        return [encode(c, alg=alg, private_key=private_key, kid=self.kid).qr_text for c in self.claims]


# Starts a job's signing elsewhere; the function it returns waits for the `BC1:` texts, in order.
SignStart = Callable[[SignJob], Callable[[], list[str]]]


@dataclass(slots=True)
class CertificateIssuer:
    """Signs certificates during one ingest transaction and keeps the status lists it touched."""

    uow: UnitOfWork
    signing: Signing
    key: SigningKeyRow
    private_key: Any
    alg: Algorithm
    lists: dict[str, StatusListRow] = field(default_factory=dict)
    open_list: StatusListRow | None = None

    @classmethod
    def open(cls, uow: UnitOfWork, signing: Signing) -> CertificateIssuer:
        """Ready to sign with the active key; NotConfigured (503) when it or its file is missing."""
        key = uow.certificates.active_key("signing")
        if key is None:
            raise NotConfigured("no certificate signing key: run `bloodcert keys rotate`")
        alg = algorithm(key.alg)
        try:
            private = signing.store.load(key.kid, alg)
        except MissingKey as exc:
            raise NotConfigured(str(exc)) from exc
        return cls(uow, signing, key, private, alg)

    def _allocate(self, now: datetime) -> tuple[str, int]:
        if self.open_list is None or self.open_list.allocated_count >= status_list.FILL_LIMIT:
            self.open_list = self._list_with_room(now)
        index = status_list.allocate(self.open_list.allocated)
        self.open_list.allocated_count += 1
        return self.open_list.list_id, index

    def _list_with_room(self, now: datetime) -> StatusListRow:
        """A status list to take entries from: one this transaction holds already, else one no other
        transaction holds (concurrent writers fill different lists), else a new one."""
        for row in self.lists.values():
            if row.allocated_count < status_list.FILL_LIMIT:
                return row
        certificates = self.uow.certificates
        found = certificates.claim_open_list(status_list.FILL_LIMIT, exclude=self.lists)
        if found is None:
            # The id comes from a counter, so that writers open lists side by side without waiting.
            list_id = str(self.uow.donations.allocate_serials(STATUS_LIST_COUNTER, 1))
            empty, stamp = bytes(status_list.empty_bits()), naive_utc(now)
            certificates.create_list(NewStatusList(list_id, empty, empty, 0, stamp, stamp))
            found = certificates.get_list(list_id)
            assert found is not None
        return self.lists.setdefault(found.list_id, found)

    def stamp(self, contents: list[CertificateContent], issued_at: datetime) -> list[CertificateContent]:
        """Give each content a status entry, in order, without signing (a deferred certificate)."""
        return [
            CertificateContent(**{**_fields(c), "status_list": self._allocate(issued_at)}) for c in contents
        ]

    def start_issue(
        self, contents: list[CertificateContent], issued_at: datetime, sign: SignStart | None = None
    ) -> Callable[[], list[tuple[CertificateContent, str]]]:
        """Give each content a status entry, in order, and start signing them; the returned function
        waits for (content with its entry, `BC1:` text) pairs.

        `sign` starts signing elsewhere (a bulk import's worker processes), so that the caller can write
        other rows meanwhile; without it, signing happens here, when the results are asked for.
        """
        stamped = self.stamp(contents, issued_at)
        job = self.sign_job(stamped, issued_at)
        private_key = self.private_key
        waiting = sign(job) if sign is not None and stamped else (lambda: job.sign(private_key))
        return lambda: list(zip(stamped, waiting(), strict=True))

    def sign_job(self, stamped: list[CertificateContent], issued_at: datetime) -> SignJob:
        """The signing, with the active key, of contents that have their status entries."""
        claims = [to_claims(c, issuer=self.signing.issuer, issued_at=issued_at) for c in stamped]
        return SignJob(self.signing.store, self.key.kid, self.alg.name, claims)

    def revoke(self, entries: list[tuple[str, int]]) -> None:
        """Set the revocation bits of ended (revoked or superseded) certificates."""
        missing = {list_id for list_id, _ in entries if list_id not in self.lists}
        self.lists.update(self.uow.certificates.lists_for_update(missing))
        for list_id, index in entries:
            status_list.set_bit(self.lists[list_id].bits, index)

    def flush(self, now: datetime) -> None:
        """Write back every status list this transaction changed."""
        for row in self.lists.values():
            self.uow.certificates.save_list(row, naive_utc(now))


def _fields(content: CertificateContent) -> dict[str, Any]:
    return {name: getattr(content, name) for name in CertificateContent.__slots__}


def pending_of(content: CertificateContent) -> dict[str, Any]:
    """A certificate's content as stored while it waits for its signature (JSON)."""
    fields = _fields(content)
    return {**fields, "donated_on": content.donated_on.isoformat(), "status_list": list(content.status_list)}


def content_of(pending: dict[str, Any]) -> CertificateContent:
    """The content of a pending certificate, as pending_of stored it."""
    list_id, index = pending["status_list"]
    return CertificateContent(
        **{
            **pending,
            "donated_on": date.fromisoformat(pending["donated_on"]),
            "status_list": (str(list_id), int(index)),
        }
    )
