"""Build the ASGI application."""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from bloodcert import metrics
from bloodcert.config import Settings
from bloodcert.domain.waivers import builtin_rule_book
from bloodcert.storage.uow import Database
from bloodcert.web import console, openapi, pages, ratelimit
from bloodcert.web.api import (
    certificates,
    claims,
    corrections,
    donor,
    entitlements,
    health,
    health_checks,
    honours,
    hospital,
    notifications,
    providers,
    sites,
    station,
    supply,
)
from bloodcert.web.clients import ProxyHeadersMiddleware, trusted_networks
from bloodcert.web.problems import EXCEPTION_HANDLERS, BoundedRequest
from bloodcert.web.rendering import RenderCache
from bloodcert.web.security import (
    DEFAULT_BODY_LIMIT,
    BodyLimitMiddleware,
    CSRFCookieFirstMiddleware,
    security_headers,
)
from bloodcert.web.state import AppState


@get("/api/v1/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every API route, with its error responses."""
    return openapi.served_document(request.app)


def _shutdown(state: AppState) -> None:
    # Buffered audit entries reach the database before the worker goes.
    if state.audit is not None:
        state.audit.close()
    if state.touches is not None:
        state.touches.close()
    state.db.dispose()
    metrics.worker_exited(os.getpid())  # its connection gauges no longer count


def _proxy_headers(settings: Settings) -> list[DefineMiddleware]:
    """The forwarded-address middleware, when there is a trusted proxy to believe (it does nothing else)."""
    networks = trusted_networks(settings.trusted_proxies)
    return [DefineMiddleware(ProxyHeadersMiddleware, networks=networks)] if networks else []


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Litestar:
    """The platform's web application, with its routes, error mapping and OpenAPI document."""
    settings = settings or Settings.from_env()
    db = db or Database(
        settings.database_url,
        data_key=settings.data_key,
        replica_url=settings.replica_url,
        redis_url=settings.redis_url,
    )
    state = AppState.build(settings, db)
    state.refusals = ratelimit.refusals_for(settings)
    state.renders = RenderCache()
    csrf = pages.csrf_config(settings)
    builtin_rule_book()  # a malformed waiver rule table stops the start, naming the file and field
    return Litestar(
        route_handlers=[
            health.healthz,
            health.readyz,
            health.favicon,
            station.report_batch,
            station.station_quality,
            *hospital.routes,
            certificates.verify,
            certificates.trust_list,
            certificates.status_list,
            donor.auth_router,
            donor.me_router,
            entitlements.entitlements_handler,
            claims.donor_router,
            claims.station_router,
            honours.honours_router,
            sites.appointments_router,
            notifications.notifications_router,
            *sites.public_handlers,
            sites.station_router,
            health_checks.donor_router,
            health_checks.station_router,
            supply.station_router,
            supply.get_supply,
            supply.get_satisfaction,
            corrections.donor_router,
            corrections.station_router,
            providers.providers_router,
            openapi_document,
            openapi.reference_page,
            pages.router,
            console.router,
            pages.static_files(),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        template_config=pages.template_config(),
        csrf_config=csrf,
        before_send=[security_headers],
        # In this order: who the client is, its limits, the body's size, the CSRF cookie; then Litestar's
        # own CSRF check and the route.
        middleware=[
            *_proxy_headers(settings),
            ratelimit.middleware_for(settings, db, state.refusals),
            BodyLimitMiddleware,
            DefineMiddleware(CSRFCookieFirstMiddleware, config=csrf),
        ],
        request_class=BoundedRequest,
        request_max_body_size=DEFAULT_BODY_LIMIT,
        openapi_config=OpenAPIConfig(
            title="bloodcert",
            version="1",
            description="National electronic voluntary blood donation certificates (全国电子无偿献血证).",
            path="/api/v1/schema",
            use_handler_docstrings=True,
            render_plugins=[],
            components=Components(
                security_schemes={
                    "donorSession": SecurityScheme(type="http", scheme="bearer", description="Donor session"),
                    "stationSignature": SecurityScheme(
                        type="apiKey",
                        name="Signature",
                        security_scheme_in="header",
                        description="RFC 9421 HTTP Message Signature with an RFC 9530 Content-Digest",
                    ),
                    "hospitalSignature": SecurityScheme(
                        type="apiKey",
                        name="Signature",
                        security_scheme_in="header",
                        description="RFC 9421 HTTP Message Signature by a hospital key (never a station's)",
                    ),
                }
            ),
        ),
        state=State({"bloodcert": state}),
        on_shutdown=[lambda _app: _shutdown(state)],
        logging_config=None,
        debug=False,
    )
