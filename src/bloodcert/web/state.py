"""What every handler may reach: settings and the database, built once per process."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litestar import Request

from bloodcert.config import Settings
from bloodcert.identity.providers.base import IdentityProvider
from bloodcert.identity.providers.registry import providers_from_settings
from bloodcert.services.audit import AuditSink
from bloodcert.services.certificates import Signing, signing_of
from bloodcert.services.scorecards import ScorecardCache
from bloodcert.services.sessions import SessionTouches
from bloodcert.services.verification import OnlineVerifier
from bloodcert.storage.uow import Database

if TYPE_CHECKING:
    from bloodcert.web.ratelimit import Refusals
    from bloodcert.web.rendering import RenderCache


@dataclass(slots=True)
class AppState:
    """Process-wide objects, stored on the app's state."""

    settings: Settings
    db: Database
    signing: Signing
    verifier: OnlineVerifier
    providers: dict[str, IdentityProvider] = field(default_factory=dict)
    audit: AuditSink | None = None
    touches: SessionTouches | None = None  # donor sessions' idle deadlines to move (services/sessions.py)
    refusals: Refusals | None = None  # the per-client limit of 401s and 403s (web/ratelimit.py)
    renders: RenderCache | None = None  # rendered certificates by content (web/rendering.py)
    scorecards: ScorecardCache = field(default_factory=ScorecardCache)  # stations' public figures

    @classmethod
    def build(cls, settings: Settings, db: Database) -> AppState:
        """Wire the process-wide objects the settings ask for."""
        verifier = OnlineVerifier(db, settings.issuer)
        # Every worker derives the same demo-login key, so a code issued by one is accepted by another.
        demo_key = hmac.new(settings.index_key, b"demo-login", hashlib.sha256).digest()
        providers = providers_from_settings(settings.providers, demo=settings.demo, demo_key=demo_key)
        return cls(
            settings=settings,
            db=db,
            signing=signing_of(settings),
            verifier=verifier,
            providers=providers,
            audit=AuditSink(db, settings.audit_key, mode=settings.audit_mode),
            touches=SessionTouches(db, mode=settings.audit_mode),
        )

    @staticmethod
    def of(request: Request[Any, Any, Any]) -> AppState:
        """The AppState of the app serving this request."""
        state: AppState = request.app.state["bloodcert"]
        return state
