"""`bloodcert hospital …` and `bloodcert waiver rules …` against an SQLite file."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

from tests.integration.test_cli import Env, MainRunner, env, invoke, last_line, run_main

__all__ = ["env", "run_main"]  # fixtures shared with the station CLI tests


def add_hospital(env: Env, tmp_path: Path, code: str = "H3301001") -> str:
    key_out = tmp_path / "keys" / f"{code}.pem"
    result = invoke(
        env,
        "hospital",
        "add",
        "--code",
        code,
        "--name",
        "浙江某医院",
        "--region",
        "330106",
        "--key-out",
        str(key_out),
    )
    assert result.exit_code == 0, result.output
    return last_line(result.stdout)


def test_hospital_add_writes_a_private_key_and_prints_a_hospital_key_id_last(
    env: Env, tmp_path: Path
) -> None:
    key_id = add_hospital(env, tmp_path)
    assert key_id.startswith("hsk_")
    key_out = tmp_path / "keys" / "H3301001.pem"
    private = load_pem_private_key(key_out.read_bytes(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert stat.S_IMODE(key_out.stat().st_mode) == 0o600
    assert env.scalar("SELECT hospital_id FROM hospital_keys WHERE key_id = ?", key_id) is not None
    assert env.scalar("SELECT count(*) FROM station_keys") == 0
    assert "H3301001" in invoke(env, "hospital", "list").stdout


def test_hospital_add_key_and_revoke_key(env: Env, tmp_path: Path, run_main: MainRunner) -> None:
    add_hospital(env, tmp_path)
    pem = tmp_path / "p256.pem"
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem.write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    added = invoke(
        env,
        "hospital",
        "add-key",
        "--code",
        "H3301001",
        "--public-key",
        str(pem),
        "--alg",
        "ecdsa-p256-sha256",
    )
    assert added.exit_code == 0, added.output
    key_id = last_line(added.stdout)
    assert invoke(env, "hospital", "revoke-key", key_id).exit_code == 0
    assert env.scalar("SELECT revoked_at FROM hospital_keys WHERE key_id = ?", key_id) is not None
    again = run_main("hospital", "revoke-key", key_id)
    assert (again.exit_code, "no active key" in again.stderr) == (1, True)
    unknown = run_main(
        "hospital", "add-key", "--code", "NOPE", "--public-key", str(pem), "--alg", "ecdsa-p256-sha256"
    )
    assert unknown.exit_code == 1


def test_hospital_add_rejects_an_unknown_region(env: Env, tmp_path: Path, run_main: MainRunner) -> None:
    result = run_main(
        "hospital",
        "add",
        "--code",
        "H1",
        "--name",
        "x",
        "--region",
        "999999",
        "--key-out",
        str(tmp_path / "k.pem"),
    )
    assert result.exit_code == 1
    assert "GB/T 2260" in result.stderr
    assert not (tmp_path / "k.pem").exists()


def test_waiver_rules_list_and_show(env: Env) -> None:
    listed = invoke(env, "waiver", "rules", "list")
    assert listed.exit_code == 0, listed.output
    codes = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert {"32", "33", "3416", "3702", "41", "44"} <= set(codes)
    shown = invoke(env, "waiver", "rules", "show", "33")
    assert "浙江省 (33), in force from 2020-01-01" in shown.stdout
    assert "source:" in shown.stdout
    assert "with a gold award also: grandparent, sibling, spouse_parent" in shown.stdout
    assert invoke(env, "waiver", "rules", "show", "江苏").exit_code == 0
    assert invoke(env, "waiver", "rules", "show", "99").exit_code == 2
