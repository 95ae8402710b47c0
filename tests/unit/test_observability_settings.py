"""The metrics listener and log level settings: off and quiet by default, and a typo is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bloodcert.config import ConfigError, Settings


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"BLOODCERT_DATA_DIR": str(tmp_path), **{f"BLOODCERT_{k}": v for k, v in values.items()}}


def test_metrics_are_off_and_logs_quiet_unless_asked_for(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert (settings.metrics_port, settings.metrics_host, settings.log_level) == (
        None,
        "127.0.0.1",
        "warning",
    )
    asked = Settings.from_env(env(tmp_path, METRICS_PORT="9464", METRICS_HOST="10.1.2.3", LOG_LEVEL="info"))
    assert (asked.metrics_port, asked.metrics_host, asked.log_level) == (9464, "10.1.2.3", "info")


@pytest.mark.parametrize(
    ("name", "value"), [("METRICS_PORT", "metrics"), ("METRICS_PORT", "70000"), ("LOG_LEVEL", "loud")]
)
def test_a_malformed_metrics_port_or_log_level_stops_the_start(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"BLOODCERT_{name}"):
        Settings.from_env(env(tmp_path, **{name: value}))
