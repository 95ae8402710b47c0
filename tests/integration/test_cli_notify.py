"""`bloodcert notify send` and `notify sweep` from cron: they run against the configured database and say
what they did (with no channel configured, nothing leaves)."""

from __future__ import annotations

from tests.integration.test_cli import Env, env, invoke

__all__ = ["env"]


def test_notify_send_reports_what_it_did(env: Env) -> None:
    result = invoke(env, "notify", "send")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 0, retrying 0, failed 0, waiting 0, dropped 0"


def test_notify_sweep_reports_whom_it_told(env: Env) -> None:
    result = invoke(env, "notify", "sweep")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "eligible again: 0; booking reminders: 0"
