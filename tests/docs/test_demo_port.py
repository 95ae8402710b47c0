"""`bloodcert demo --port` (what `make demo PORT=…` runs) serves on that port, and the app knows it: OAuth
callbacks, the demo login platform's included, must come back to the address actually served."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from litestar.testing import TestClient
from typer.testing import CliRunner

from bloodcert.cli import app


def test_demo_on_another_port_sends_logins_back_to_that_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo writes var/demo under the working directory
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda asgi, **options: served.update(app=asgi, **options))

    result = CliRunner().invoke(app, ["demo", "--port", "8091", "--persons", "5"])

    assert result.exit_code == 0, result.output
    assert served["port"] == 8091
    assert "serving on http://127.0.0.1:8091" in result.output
    with TestClient(served["app"], base_url="http://127.0.0.1:8091") as client:
        start = client.get("/api/v1/auth/providers/demo/start", follow_redirects=False)
    assert start.status_code == 302
    callback = parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"]
    assert callback == ["http://127.0.0.1:8091/api/v1/auth/providers/demo/callback"]
