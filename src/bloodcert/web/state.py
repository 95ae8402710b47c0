"""What every handler may reach: settings and the database, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from bloodcert.config import Settings
from bloodcert.storage.uow import Database


@dataclass(slots=True)
class AppState:
    """Process-wide objects, stored on the app's state."""

    settings: Settings
    db: Database

    @staticmethod
    def of(request: Request[Any, Any, Any]) -> AppState:
        """The AppState of the app serving this request."""
        state: AppState = request.app.state["bloodcert"]
        return state
