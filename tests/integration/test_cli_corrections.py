"""The CLI's part of the data-quality loop: escalation from cron, provincial administrators' accounts."""

from __future__ import annotations

from pathlib import Path

from tests.factories import STAFF_PASSWORD
from tests.integration.test_cli import Env, env, invoke  # noqa: F401 - the `env` fixture


def test_escalation_runs_from_cron_with_nothing_to_do(env: Env) -> None:  # noqa: F811
    result = invoke(env, "corrections", "escalate")
    assert result.exit_code == 0, result.output
    assert "escalated 0 requests" in result.stdout


def test_a_provincial_administrator_is_bound_to_a_province(env: Env, tmp_path: Path) -> None:  # noqa: F811
    password = tmp_path / "pw"
    password.write_text(STAFF_PASSWORD, encoding="utf-8")
    common = ("staff", "add", "--role", "provincial_admin", "--password-file", str(password))
    refused = invoke(env, *common, "--username", "nobody")
    assert refused.exit_code != 0 and "--province" in str(refused.exception)
    added = invoke(env, *common, "--username", "petra", "--province", "33")
    assert added.exit_code == 0, added.output
    assert "for province 33" in added.stdout
    assert env.scalar("SELECT province FROM staff_users WHERE username = 'petra'") == "33"
    unknown = invoke(env, *common, "--username", "paula", "--province", "99")
    assert unknown.exit_code != 0
