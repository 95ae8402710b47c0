"""Test data: records with sensible defaults, stations with keys, and signed requests."""

from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bloodcert.certs.algorithms import algorithm
from bloodcert.services.certificates import Signing
from bloodcert.services.reporting import RecordResult, report_donations
from bloodcert.services.request_signing import RequestSigner
from bloodcert.services.stations import add_station_key, register_station
from bloodcert.storage.rows import StationRow
from bloodcert.storage.uow import Database
from tests.conftest import INDEX_KEY

# 王芳: a donor with a valid resident ID, and 李雷: a second donor who must never see her data.
WANG_FANG = {
    "id_type": "resident_id",
    "id_number": "330106199001011221",
    "name": "王芳",
    "sex": "F",
    "birth_date": "1990-01-01",
    "abo": "A",
    "rhd": "positive",
}
LI_LEI = {
    "id_type": "resident_id",
    "id_number": "110105198503150043",
    "name": "李雷",
    "sex": "F",
    "birth_date": "1985-03-15",
    "abo": "O",
    "rhd": "negative",
}


def make_record(**overrides: Any) -> dict[str, Any]:
    """A valid whole-blood record for 王芳; keyword arguments replace fields (`donor` is merged)."""
    record: dict[str, Any] = {
        "donation_no": overrides.pop("donation_no", f"D{uuid.uuid4().hex[:12]}"),
        "version": 1,
        "status": "valid",
        "donor": copy.deepcopy(WANG_FANG),
        "donated_at": "2024-05-01T09:30:00+08:00",
        "kind": "whole_blood",
        "volume_ml": 400,
        "units": None,
        "site": {"name": "武林广场献血屋", "type": "fixed", "region": "330103"},
        "test_result": "qualified",
    }
    donor = overrides.pop("donor", None)
    if donor:
        record["donor"].update(donor)
    record.update(overrides)
    return record


@dataclass(frozen=True)
class StationKey:
    """A registered station and the private key it signs with."""

    station: StationRow
    key_id: str
    alg: str
    private_key: Any


def report_records(
    db: Database,
    signing: Signing,
    records: list[dict[str, Any]],
    code: str = "33000001",
    *,
    now: datetime | None = None,
) -> list[RecordResult]:
    """Report records as the station `code` does (its certificates issued at once), in one transaction;
    each record's result."""
    with db.transaction() as uow:
        station = uow.stations.get_by_code(code)
        assert station is not None
        return report_donations(
            uow,
            station=station,
            records=records,
            index_key=INDEX_KEY,
            signing=signing,
            now=now or datetime.now(UTC),
        )


def create_station(
    db: Database, code: str = "33000001", *, region: str = "330000", alg: str = "ed25519"
) -> StationKey:
    """Register a station with one fresh key."""
    private: Any
    if alg == "sm2-sm3":  # needs the `sm` extra
        sm2 = algorithm("SM2-SM3")
        private = sm2.generate()
        public_pem = sm2.public_pem(private.public_key())
    else:
        private = (
            ed25519.Ed25519PrivateKey.generate()
            if alg == "ed25519"
            else ec.generate_private_key(ec.SECP256R1())
        )
        public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    now = datetime.now(UTC)
    with db.transaction() as uow:
        station = register_station(uow, code=code, name=f"测试血站{code}", region=region, now=now)
        key_id = add_station_key(uow, code=code, public_key_pem=public_pem, alg=alg, now=now)
    return StationKey(station, key_id, alg, private)


def signed_headers(
    key: StationKey,
    method: str,
    url: str,
    body: bytes | None,
    *,
    created: datetime | None = None,
    nonce: str | None = None,
    key_id: str | None = None,
    expires: datetime | None = None,
) -> dict[str, str]:
    """RFC 9421 headers for a request, signed the way docs/station-integration.md requires."""
    signer = RequestSigner(key_id or key.key_id, key.alg, key.private_key)
    return signer.headers(method, url, body, created=created, nonce=nonce, expires=expires)


def digest_of(body: bytes) -> str:
    """The sha-256 Content-Digest value of a body."""
    import base64

    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


# ---- console staff ---------------------------------------------------------------------------------------

# Personas: ada runs the platform, olga operates station 33000001, oscar operates 31000001 and must be
# refused everything of olga's, audrey audits, and charlie's account has been disabled.
STAFF_PASSWORD = "Tulip-Harbour-Violet-42"


@dataclass(frozen=True)
class StaffAccount:
    """A console account made for a test, with what its holder knows: the password and the TOTP secret."""

    username: str
    role: str
    station_code: str | None
    password: str
    totp_secret: str
    provisioning_uri: str

    def code(self, at: datetime | None = None, *, steps_ahead: int = 0) -> str:
        """The authenticator app's code at `at` (now), or that of a later 30-second step."""
        import pyotp

        return str(pyotp.TOTP(self.totp_secret).at(at or datetime.now(UTC), counter_offset=steps_ahead))


def create_staff(
    db: Database,
    username: str = "ada",
    role: str = "national_admin",
    station_code: str | None = None,
    *,
    password: str = STAFF_PASSWORD,
    province: str | None = None,
) -> StaffAccount:
    """A console account, made the way `bloodcert staff add` makes one."""
    from urllib.parse import parse_qs, urlsplit

    from bloodcert.services.staff import add_staff

    with db.transaction() as uow:
        new = add_staff(
            uow,
            username=username,
            role=role,
            station_code=station_code,
            password=password,
            now=datetime.now(UTC),
            province=province,
        )
    secret = parse_qs(urlsplit(new.provisioning_uri).query)["secret"][0]
    return StaffAccount(username, role, station_code, password, secret, new.provisioning_uri)


def staff_session(db: Database, account: StaffAccount) -> str:
    """A session token for an account, as a successful login would open (for tests of what comes after)."""
    from bloodcert.services import sessions

    with db.transaction() as uow:
        user = uow.staff.user_by_username(account.username)
        assert user is not None
        owner = sessions.StaffOwner(user.id, f"staff:{user.username}")
        outcome = sessions.grant(uow, login_context(), sessions.STAFF, owner)
    assert outcome.grant is not None
    return outcome.grant.token


def login_context(now: datetime | None = None, client: str = "testclient") -> Any:
    """The LoginContext of a test login (the test settings' index key and empty audit key)."""
    from bloodcert.services.sessions import LoginContext
    from tests.conftest import INDEX_KEY

    return LoginContext(client, INDEX_KEY, b"", now or datetime.now(UTC))


def donor_session(
    uow: Any,
    identity_hash: bytes,
    name_hash: bytes,
    *,
    person_id: int | None = None,
    method: str = "web",
    now: datetime | None = None,
) -> Any:
    """A donor session's grant, as a login would open it (person_id None: a real-name platform login)."""
    from bloodcert.services import sessions

    owner = sessions.DonorOwner(identity_hash, name_hash, person_id, method)
    outcome = sessions.grant(uow, login_context(now), sessions.DONOR, owner)
    assert outcome.grant is not None
    return outcome.grant
