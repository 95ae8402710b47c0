"""Certificate verification over HTTP (docs/certificate-format.md): every reason, the trust list, the status list, offline use.

Certificates are issued through the real, signed station API; the QR text is read back from `certificates`.
"""

from __future__ import annotations

import base64
import json
import random
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from bloodcert.certs import qr, status_list
from bloodcert.certs.algorithms import algorithm
from bloodcert.certs.documents import (
    InvalidDocument,
    parse_trust_list,
    root_fingerprint,
    sign_document,
    verify_document,
)
from bloodcert.certs.offline import UnpinnedTrustList, load_trust_list, verify_offline
from bloodcert.config import Settings
from bloodcert.services.certificates import (
    Signing,
    kid_of,
    rotate_keys,
    status_list_document,
    trust_list_document,
)
from bloodcert.storage.uow import Database
from tests.api.conftest import BASE
from tests.cli_process import cli_env
from tests.factories import WANG_FANG, StationKey, create_station, make_record, signed_headers

REPORT = BASE + "/api/v1/station/donations"
VERIFY = BASE + "/api/v1/verify"
TRUST_LIST = BASE + "/.well-known/bloodcert/trust-list.json"
REASONS = {"ok", "malformed", "unknown_key", "bad_signature", "revoked", "key_expired"}
FULL_ID = WANG_FANG["id_number"]


def report(client: TestClient, key: StationKey, *records: dict[str, Any]) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    body = json.dumps({"records": list(records)}).encode()
    response = client.post(REPORT, content=body, headers=signed_headers(key, "POST", REPORT, body))
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def issue(client: TestClient, key: StationKey, db: Database, **record: Any) -> tuple[str, str]:  # type: ignore[type-arg]
    """Report one donation; return its certificate number and QR text."""
    [result] = report(client, key, make_record(**record))
    assert result["outcome"] in {"created", "updated"}, result
    return result["certificate_no"], qr_of(db, result["certificate_no"])


def qr_of(db: Database, certificate_no: str) -> str:
    with db.reading() as uow:
        row = uow.certificates.get_by_no(certificate_no)
    assert row is not None
    return row.qr


def entry_of(db: Database, certificate_no: str) -> tuple[str, int]:
    with db.reading() as uow:
        row = uow.certificates.get_by_no(certificate_no)
    assert row is not None
    return row.status_list_id, row.status_index


def verify(client: TestClient, text: str) -> dict[str, Any]:  # type: ignore[type-arg]
    response = client.post(VERIFY, json={"qr": text})
    assert response.status_code == 200, response.text
    assert FULL_ID not in response.text
    body: dict[str, Any] = response.json()
    assert body["reason"] in REASONS
    assert body["valid"] is (body["reason"] == "ok")
    assert (body["certificate"] is not None) is body["valid"]
    return body


def reencode(text: str, *, signature: bytes | None = None, payload: bytes | None = None) -> str:
    """The same COSE_Sign1 with its signature or payload swapped, wrapped again."""
    decoded = qr.decode(text)
    cose = cbor2.dumps(
        cbor2.CBORTag(18, [decoded.protected, {}, payload or decoded.payload, signature or decoded.signature])
    )
    return qr.PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def active_signing_key(db: Database, signing: Signing) -> tuple[bytes, Any, datetime]:
    """The active signing key's kid, private key (from the key store) and not_after."""
    with db.reading() as uow:
        row = uow.certificates.active_key("signing")
    assert row is not None
    return row.kid, signing.store.load(row.kid, algorithm(row.alg)), row.not_after.replace(tzinfo=UTC)


def resign(text: str, private_key: Any, kid: bytes, *, iat: datetime | None = None) -> str:
    claims = dict(qr.decode(text).claims)
    if iat is not None:
        claims[qr.CLAIM_IAT] = int(iat.timestamp())
    return qr.encode(claims, alg=algorithm("ES256"), private_key=private_key, kid=kid).qr_text


def status_bits(client: TestClient, list_id: str) -> bytes:  # type: ignore[type-arg]
    response = client.get(f"{BASE}/.well-known/bloodcert/status/{list_id}")
    assert response.status_code == 200, response.text
    document = response.json()
    trust = parse_trust_list(client.get(TRUST_LIST).json())
    verify_document(document, public_key_pem=trust.root_public_key_pem, alg_name=trust.root_alg)
    return status_list.decode_list(document["credentialSubject"]["encodedList"])


# ok


def test_a_fresh_certificate_verifies_with_its_fields_and_only_a_masked_id(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
) -> None:
    key = create_station(db)
    number, text = issue(client, key, db, donation_no="A1")
    assert text.startswith("BC1:")
    body = verify(client, text)
    assert (body["valid"], body["reason"], body["notes"]) == (True, "ok", [])
    assert body["certificate"] == {
        "certificate_no": number,
        "donated_at": "2024-05-01",
        "kind": "whole_blood",
        "volume_ml": 400,
        "units": None,
        "station_name": "测试血站33000001",
        "holder_name": "王芳",
        "id_number_masked": "330***********1221",
        "abo": "A",
        "rhd": "positive",
    }
    # The QR itself never carries the full ID number either.
    assert FULL_ID not in json.dumps(qr.decode(text).claims, default=str, ensure_ascii=False)
    # A platelet certificate reports units instead of a volume.
    _, platelets = issue(
        client,
        key,
        db,
        donation_no="P1",
        kind="platelets",
        volume_ml=None,
        units=1,
        donated_at="2025-06-01T09:00:00+08:00",
    )
    certificate = verify(client, platelets)["certificate"]
    assert (certificate["kind"], certificate["volume_ml"], certificate["units"]) == ("platelets", None, 1)


# malformed, unknown_key, bad_signature


def test_text_that_is_not_a_bc1_payload_is_malformed(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    _, text = issue(client, key, db)
    body = text[len(qr.PREFIX) :]
    for bad in [
        "",
        "hello",
        "HC1:" + body,
        "bc1:" + body,
        text[: len(text) // 2],
        qr.PREFIX + body.lower(),
        text + "A" * 5000,
        qr.PREFIX + base45.b45encode(zlib.compress(b"\xffnot CBOR")).decode(),
    ]:
        result = verify(client, bad)
        assert (result["valid"], result["reason"], result["certificate"]) == (False, "malformed", None), bad


def test_forged_qrs_are_refused_as_unknown_key_or_bad_signature(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    key = create_station(db)
    _, text = issue(client, key, db)
    es256 = algorithm("ES256")
    # Signed by a key the database does not hold: unknown_key.
    stranger = es256.generate()
    assert (
        verify(client, resign(text, stranger, kid_of(es256, stranger.public_key())))["reason"]
        == "unknown_key"
    )
    # Signed by another key under the real kid: bad_signature.
    kid, _, _ = active_signing_key(db, signing)
    assert verify(client, resign(text, stranger, kid))["reason"] == "bad_signature"
    # The signature bytes altered, zeroed or shortened, or the payload changed: bad_signature.
    signature = qr.decode(text).signature
    flipped = bytes([signature[0] ^ 0x01]) + signature[1:]
    for altered in [flipped, bytes(64), signature[:63]]:
        assert verify(client, reencode(text, signature=altered))["reason"] == "bad_signature"
    payload = qr.decode(text).payload.replace("王芳".encode(), "李雷".encode())
    assert verify(client, reencode(text, payload=payload))["reason"] == "bad_signature"
    # The original, re-wrapped unchanged, still verifies: only the alteration is refused.
    assert verify(client, reencode(text))["reason"] == "ok"


# revoked


def test_a_voided_donation_revokes_its_certificate_and_sets_its_status_bit(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
) -> None:
    key = create_station(db)
    number, text = issue(client, key, db, donation_no="A1")
    other_number, other_text = issue(
        client, key, db, donation_no="A2", donated_at="2025-06-01T09:00:00+08:00"
    )
    list_id, index = entry_of(db, number)
    response = client.get(f"{BASE}/.well-known/bloodcert/status/{list_id}")
    document = response.json()
    assert "BitstringStatusListCredential" in document["type"]
    assert document["credentialSubject"]["type"] == "BitstringStatusList"
    assert document["credentialSubject"]["statusPurpose"] == "revocation"
    assert document["credentialSubject"]["encodedList"].startswith("u")
    assert document["id"].endswith(f"/.well-known/bloodcert/status/{list_id}")
    bits = status_bits(client, list_id)
    assert len(bits) * 8 >= 131_072
    assert not status_list.get_bit(bits, index)

    [result] = report(client, key, make_record(donation_no="A1", version=2, status="void"))
    assert result["outcome"] == "updated"
    assert verify(client, text) == {
        "valid": False,
        "reason": "revoked",
        "certificate": None,
        "notes": [],
        "type": "donation",
        "honour": None,
        "pass": None,
        "hours": None,
    }
    bits = status_bits(client, list_id)
    assert status_list.get_bit(bits, index)
    # Nothing else is revoked: the other certificate's bit is clear and it still verifies.
    assert not status_list.get_bit(bits, entry_of(db, other_number)[1])
    assert sum(bin(b).count("1") for b in bits) == 1
    assert verify(client, other_text)["reason"] == "ok"
    missing = client.get(BASE + "/.well-known/bloodcert/status/999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_a_correction_revokes_the_old_qr_and_the_new_one_verifies(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    old_number, old_text = issue(client, key, db, donation_no="A1")
    new_number, new_text = issue(client, key, db, donation_no="A1", version=2, volume_ml=300)
    assert new_number != old_number
    assert verify(client, old_text)["reason"] == "revoked"
    body = verify(client, new_text)
    assert body["reason"] == "ok"
    assert (body["certificate"]["certificate_no"], body["certificate"]["volume_ml"]) == (new_number, 300)
    old_list, old_index = entry_of(db, old_number)
    new_list, new_index = entry_of(db, new_number)
    assert status_list.get_bit(status_bits(client, old_list), old_index)
    assert not status_list.get_bit(status_bits(client, new_list), new_index)


# key_expired


def test_a_qr_issued_after_its_keys_not_after_is_key_expired(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    key = create_station(db)
    _, text = issue(client, key, db)
    kid, private, not_after = active_signing_key(db, signing)
    assert verify(client, resign(text, private, kid, iat=not_after - timedelta(days=1)))["reason"] == "ok"
    late = resign(text, private, kid, iat=not_after + timedelta(days=1))
    assert verify(client, late)["reason"] == "key_expired"


def test_a_retired_key_still_vouches_for_its_old_certificates_but_not_new_ones(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    key = create_station(db)
    _, text = issue(client, key, db)
    kid, private, _ = active_signing_key(db, signing)
    with db.transaction() as uow:
        rotate_keys(uow, signing, datetime.now(UTC))
    assert not signing.store.path(kid).exists()  # the retired private key is destroyed
    # Verified for the first time only now: the verifier's key cache cannot hold the pre-rotation validity.
    assert verify(client, text)["reason"] == "ok"
    after = resign(text, private, kid, iat=datetime.now(UTC) + timedelta(minutes=1))
    assert verify(client, after)["reason"] == "key_expired"
    _, fresh = issue(client, key, db, donation_no="A2", donated_at="2025-06-01T09:00:00+08:00")
    assert qr.decode(fresh).kid != kid
    assert verify(client, fresh)["reason"] == "ok"


# The trust list and offline verification


def test_the_trust_list_is_signed_and_lists_the_signing_keys(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
) -> None:
    response = client.get(TRUST_LIST)
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    document = response.json()
    with db.reading() as uow:
        root = uow.certificates.active_key("root")
    assert root is not None
    trust = parse_trust_list(document, pinned_root_pem=root.public_key_pem)
    kid, _, _ = active_signing_key(db, signing)
    assert trust.issuer == "CN-NHC"
    assert set(trust.keys) == {kid}
    assert (trust.keys[kid].alg, trust.keys[kid].status) == ("ES256", "active")
    assert trust.next_update > trust.issued_at
    forged = {
        **document,
        "keys": [{**document["keys"][0], "status": "active", "not_after": "2999-01-01T00:00:00"}],
    }
    with pytest.raises(InvalidDocument, match="does not verify"):
        parse_trust_list(forged)


def _export(db: Database, signing: Signing, settings: Settings, directory: Path, now: datetime) -> Path:
    """What `bloodcert trust-list export` writes, built with the services."""
    (directory / "status").mkdir(parents=True)
    with db.reading() as uow:
        document = trust_list_document(uow, signing, now)
        for list_id in document["status_lists"]:
            status = status_list_document(uow, signing, list_id, base_url=settings.public_base_url)
            (directory / "status" / f"{list_id}.json").write_text(json.dumps(status), encoding="utf-8")
    path = directory / "trust-list.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_offline_verification_with_exported_files(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
    settings: Settings,
    tmp_path: Path,
) -> None:
    from bloodcert.cli import app

    key = create_station(db)
    _, kept = issue(client, key, db, donation_no="A1")
    _, voided = issue(client, key, db, donation_no="A2", donated_at="2025-06-01T09:00:00+08:00")
    report(client, key, make_record(donation_no="A2", version=2, status="void"))
    now = datetime.now(UTC)
    path = _export(db, signing, settings, tmp_path / "export", now)
    with db.reading() as uow:
        root = uow.certificates.active_key("root")
    assert root is not None
    trust = load_trust_list(path, pinned_root_pem=root.public_key_pem)
    status_dir = path.parent / "status"

    result = verify_offline(kept, trust, status_dir, now)
    assert (result.valid, result.reason, result.notes) == (True, "ok", ())
    assert result.content is not None
    assert result.content.id_number_masked == "330***********1221"
    assert verify_offline(voided, trust, status_dir, now).reason == "revoked"
    # A trust list past its next update still works, and says so (the DCC lesson: stale, not down).
    later = trust.next_update + timedelta(days=30)
    stale = verify_offline(kept, trust, status_dir, later)
    # Both exported documents are past their refresh date by then, and the verifier names each.
    assert (stale.valid, stale.reason, stale.notes) == (True, "ok", ("trust_list_stale", "status_list_stale"))
    assert verify_offline(voided, trust, status_dir, later).reason == "revoked"

    # `bloodcert trust-list export` writes the same material, and `bloodcert verify --trust-list` reads it.
    env = cli_env(db.url, tmp_path)
    runner = CliRunner()
    cli_path = tmp_path / "cli" / "trust-list.json"
    cli_path.parent.mkdir()
    exported = runner.invoke(app, ["trust-list", "export", str(cli_path)], env=env)
    assert exported.exit_code == 0, exported.output
    cli_trust = load_trust_list(cli_path, pinned_root_pem=root.public_key_pem)
    assert verify_offline(kept, cli_trust, cli_path.parent / "status", now).reason == "ok"
    assert verify_offline(voided, cli_trust, cli_path.parent / "status", now).reason == "revoked"
    assert f"root key sha256: {root_fingerprint(root.public_key_pem)}" in exported.output
    env["BLOODCERT_ROOT_KEY_SHA256"] = root_fingerprint(root.public_key_pem)
    valid = runner.invoke(app, ["verify", kept, "--trust-list", str(cli_path)], env=env)
    assert (valid.exit_code, valid.output.splitlines()[0]) == (0, "valid")
    revoked = runner.invoke(app, ["verify", voided, "--trust-list", str(cli_path)], env=env)
    assert (revoked.exit_code, revoked.output.splitlines()[0]) == (1, "invalid: revoked")

    # Without status lists the answer is valid but unchecked; a tampered status list is ignored, not believed.
    assert verify_offline(kept, trust, None, now).notes == ("status_unknown",)
    list_file = next(status_dir.glob("*.json"))
    document = json.loads(list_file.read_text(encoding="utf-8"))
    document["credentialSubject"]["encodedList"] = status_list.encode_list(status_list.empty_bits())
    list_file.write_text(json.dumps(document), encoding="utf-8")
    unsigned = verify_offline(voided, load_trust_list(path, allow_unpinned=True), status_dir, now)
    assert (unsigned.valid, unsigned.notes) == (True, ("status_unknown",))
    # Pinning another root refuses the trust list altogether.
    es256 = algorithm("ES256")
    other_root = es256.public_pem(es256.generate().public_key()).decode()
    with pytest.raises(InvalidDocument, match="pinned"):
        load_trust_list(path, pinned_root_pem=other_root)


def _cli_env(db: Database, tmp_path: Path) -> dict[str, str]:
    return cli_env(db.url, tmp_path, BLOODCERT_ROOT_KEY_SHA256="")


def _forge(document: dict[str, Any], kept: str) -> tuple[dict[str, Any], str]:
    """A trust list signed by a made-up root, naming a made-up signing key, and a certificate it signed."""
    es256 = algorithm("ES256")
    fake_root, fake_signing = es256.generate(), es256.generate()
    fake_kid = b"forged01"
    forged = {
        **{k: v for k, v in document.items() if k != "signature"},
        "root": {
            "kid": "Zm9yZ2Vk",
            "alg": "ES256",
            "public_key_pem": es256.public_pem(fake_root.public_key()).decode(),
        },
        "keys": [
            {
                **document["keys"][0],
                "kid": base64.b64encode(fake_kid).decode(),
                "public_key_pem": es256.public_pem(fake_signing.public_key()).decode(),
            }
        ],
    }
    signed = sign_document(forged, alg=es256, private_key=fake_root, kid=b"forged")
    iat = datetime.fromisoformat(document["keys"][0]["not_before"]) + timedelta(minutes=1)
    return signed, resign(kept, fake_signing, fake_kid, iat=iat)


def test_offline_verify_refuses_a_forged_trust_list_unless_pinning_is_waived_aloud(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
    settings: Settings,
    tmp_path: Path,
) -> None:
    from bloodcert.cli import app

    key = create_station(db)
    _, kept = issue(client, key, db, donation_no="F1")
    now = datetime.now(UTC)
    path = _export(db, signing, settings, tmp_path / "export", now)
    forged_list, forged_cert = _forge(json.loads(path.read_text(encoding="utf-8")), kept)
    path.write_text(json.dumps(forged_list), encoding="utf-8")
    with db.reading() as uow:
        root = uow.certificates.active_key("root")
    assert root is not None
    runner, env = CliRunner(), _cli_env(db, tmp_path)
    verify_forged = ["verify", forged_cert, "--trust-list", str(path)]

    # Nothing pinned: the forged list is not even read.
    unpinned = runner.invoke(app, verify_forged, env=env)
    assert unpinned.exit_code == 2
    assert "no root key is pinned" in unpinned.output
    with pytest.raises(UnpinnedTrustList):
        load_trust_list(path)
    # The real root pinned, by setting, by option, or by PEM: the forged list is refused.
    env_pinned = {**env, "BLOODCERT_ROOT_KEY_SHA256": root_fingerprint(root.public_key_pem)}
    assert runner.invoke(app, verify_forged, env=env_pinned).exit_code == 2
    fingerprint = root_fingerprint(root.public_key_pem).upper()
    by_option = runner.invoke(app, [*verify_forged, "--root-fingerprint", fingerprint], env=env)
    assert (by_option.exit_code, "another root key" in by_option.output) == (2, True)
    pem = tmp_path / "root.pem"
    pem.write_text(root.public_key_pem, encoding="utf-8")
    assert runner.invoke(app, [*verify_forged, "--root-key", str(pem)], env=env).exit_code == 2
    # Only an explicit waiver reads it, with a warning: the forgery then verifies, which is the point.
    waived = runner.invoke(app, [*verify_forged, "--insecure-unpinned"], env=env)
    assert waived.exit_code == 3, waived.output
    assert "warning: no root key pinned" in waived.output


def test_offline_verify_without_status_lists_says_status_unknown_and_exits_3(
    client: TestClient,  # type: ignore[type-arg]
    db: Database,
    signing: Signing,
    settings: Settings,
    tmp_path: Path,
) -> None:
    from bloodcert.cli import app

    key = create_station(db)
    _, kept = issue(client, key, db, donation_no="S1")
    _, voided = issue(client, key, db, donation_no="S2", donated_at="2025-06-01T09:00:00+08:00")
    report(client, key, make_record(donation_no="S2", version=2, status="void"))
    path = _export(db, signing, settings, tmp_path / "export", datetime.now(UTC))
    with db.reading() as uow:
        root = uow.certificates.active_key("root")
    assert root is not None
    env = {**_cli_env(db, tmp_path), "BLOODCERT_ROOT_KEY_SHA256": root_fingerprint(root.public_key_pem)}
    runner = CliRunner()
    assert runner.invoke(app, ["verify", voided, "--trust-list", str(path)], env=env).exit_code == 1
    empty = tmp_path / "no-status"
    empty.mkdir()
    for text in (kept, voided):  # a revoked certificate must not read `valid` for want of its list
        result = runner.invoke(
            app, ["verify", text, "--trust-list", str(path), "--status-dir", str(empty)], env=env
        )
        assert result.exit_code == 3, result.output
        assert result.output.splitlines()[0].startswith("status unknown")
        assert "valid\n" not in result.output.splitlines()[0]


# Hostile bodies


def _bodies(valid_qr: str, rng: random.Random) -> list[bytes]:
    """200 bodies, all valid UTF-8: random JSON of every shape, random bytes, mutations of a valid request."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    bodies: list[bytes] = []

    def mutate(text: str) -> str:
        at = rng.randrange(len(text))
        kind = rng.choice(["flip", "insert", "delete", "truncate", "unicode"])
        if kind == "flip":
            return text[:at] + rng.choice(alphabet) + text[at + 1 :]
        if kind == "insert":
            return text[:at] + rng.choice(alphabet) + text[at:]
        if kind == "delete":
            return text[:at] + text[at + 1 :]
        if kind == "truncate":
            return text[:at]
        return text[:at] + chr(rng.randrange(0x80, 0x2FFFF)) + text[at:]

    def random_json(depth: int = 0) -> Any:
        choice = rng.randrange(8 if depth < 3 else 5)
        if choice == 0:
            return None
        if choice == 1:
            return rng.choice([True, False])
        if choice == 2:
            return rng.randint(-(2**70), 2**70)
        if choice == 3:
            return rng.random() * 1e300
        if choice == 4:
            return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(40)))
        if choice == 5:
            return [random_json(depth + 1) for _ in range(rng.randrange(4))]
        return {rng.choice(["qr", "QR", "x", ""]): random_json(depth + 1) for _ in range(rng.randrange(4))}

    for i in range(200):
        kind = i % 5
        if kind == 0:
            bodies.append(json.dumps({"qr": mutate(valid_qr)}).encode())
        elif kind == 1:
            bodies.append(json.dumps({"qr": random_json()}).encode())
        elif kind == 2:
            bodies.append(json.dumps(random_json()).encode())
        elif kind == 3:
            raw = json.dumps({"qr": valid_qr}).encode()
            at = rng.randrange(len(raw))
            bodies.append(raw[:at] + bytes([rng.randrange(128)]) + raw[at + 1 :])
        else:
            # Random characters, as UTF-8 (invalid UTF-8 has its own test below).
            bodies.append(
                bytes(rng.randrange(256) for _ in range(rng.randrange(64))).decode("latin-1").encode()
            )
    return bodies


def test_hostile_bodies_never_cause_a_server_error(client: TestClient, db: Database) -> None:  # type: ignore[type-arg]
    key = create_station(db)
    _, text = issue(client, key, db)
    missing = client.post(VERIFY, json={})
    assert missing.status_code == 400
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["status"] == 400
    statuses: dict[int, int] = {}
    for body in _bodies(text, random.Random(20261127)):
        response = client.post(VERIFY, content=body, headers={"Content-Type": "application/json"})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (body, response.text)
        if response.status_code == 200:
            assert response.json()["reason"] in REASONS
            assert FULL_ID not in response.text
        else:
            assert response.headers["content-type"].startswith("application/problem+json"), body
            assert "Traceback" not in response.text
    assert statuses.get(200, 0) >= 40  # the mutated QRs were really verified, not all refused as bad JSON
    assert set(statuses) <= {200, 400, 413, 415, 422, 429}


def test_invalid_utf8_in_a_json_string_is_400_not_500(client: TestClient) -> None:  # type: ignore[type-arg]
    for body in [b'{"qr": "BC1:\xff"}', b'{"qr": "\xd2"}', b'{"\xff": 1}']:
        response = client.post(VERIFY, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body
        assert response.headers["content-type"].startswith("application/problem+json")
