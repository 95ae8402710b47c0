"""The donor's messages and message settings as JSON (docs/notifications.md), for the mini-programs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import httpx
import msgspec
from litestar import Request, Router, get, post, put
from litestar.datastructures import CacheControlHeader
from litestar.params import JSONBody, Parameter, QueryParameter

from bloodcert.channels.registry import channels_from_settings
from bloodcert.domain.notifications import Channel, Preferences, Topic
from bloodcert.domain.regions import is_known_region
from bloodcert.errors import ProblemField, ValidationFailed
from bloodcert.services import notifications as svc
from bloodcert.services.audit import AuditEvent
from bloodcert.web.auth import audit_read, donor_guard, guarded_donor
from bloodcert.web.clients import client_of
from bloodcert.web.state import AppState

RowId = Annotated[int, Parameter(ge=1, le=2**53)]
PHONE = re.compile(r"^1[3-9]\d{9}$")
TopicName = Literal["record", "eligible", "booking", "answer", "callup", "survey", "security"]
ChannelName = Literal["inbox", "sms", "wechat", "alipay"]


class DeliveryOut(msgspec.Struct):
    channel: str
    status: str


class MessageOut(msgspec.Struct):
    id: int
    topic: str
    title: str
    body: str
    link: str | None
    created_at: str
    read: bool
    deliveries: list[DeliveryOut]


class InboxOut(msgspec.Struct):
    unread: int
    notifications: list[MessageOut]


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    choices: dict[TopicName, list[ChannelName]]
    phone: str | None = None
    home_region: str | None = None


class PreferencesOut(msgspec.Struct):
    choices: dict[str, list[str]]
    phone_masked: str | None
    home_region: str | None
    linked: dict[str, bool]


@get("", sync_to_thread=True)
def my_messages(
    request: Request[Any, Any, Any], lang: Annotated[Literal["zh", "en"], QueryParameter()] = "zh"
) -> InboxOut:
    """My messages, newest first (at most 100), in Chinese or English, with each channel's delivery status."""
    principal = guarded_donor(request)
    with AppState.of(request).db.reading() as uow:
        entries = svc.inbox(uow, principal.person_ids, lang)
    audit_read(request, principal.actor, "read:notifications")
    return InboxOut(
        sum(1 for e in entries if not e.read),
        [
            MessageOut(
                e.id,
                e.topic,
                e.title,
                e.body,
                e.link,
                e.created_at.isoformat(),
                e.read,
                [DeliveryOut(c, s) for c, s in e.deliveries],
            )
            for e in entries
        ],
    )


@post("/{notification_id:int}/read", status_code=204, sync_to_thread=True)
def mark_read(request: Request[Any, Any, Any], notification_id: RowId) -> None:
    """Mark one of my messages read (another donor's message is silently not touched)."""
    with AppState.of(request).db.transaction() as uow:
        svc.mark_read(uow, guarded_donor(request).person_ids, notification_id, datetime.now(UTC))


def _out(prefs: Preferences, linked: dict[str, bool]) -> PreferencesOut:
    return PreferencesOut(
        prefs.as_json() | {"security": sorted(c.value for c in prefs.channels(Topic.SECURITY))},
        svc.mask_phone(prefs.phone) if prefs.phone else None,
        prefs.home_region,
        linked,
    )


@get("/preferences", sync_to_thread=True)
def my_preferences(request: Request[Any, Any, Any]) -> PreferencesOut:
    """Which messages I get through which channels, my SMS number (masked) and where I live."""
    principal = guarded_donor(request)
    with AppState.of(request).db.reading() as uow:
        prefs, linked = svc.settings_of(uow, min(principal.person_ids))
    audit_read(request, principal.actor, "read:notification_prefs")
    return _out(prefs, linked)


def _wanted(data: PreferencesIn) -> Preferences:
    problems = []
    if data.phone is not None and not PHONE.match(data.phone):
        problems.append(ProblemField("phone", "invalid_format", "an 11-digit mainland mobile number"))
    if data.home_region is not None and not (
        len(data.home_region) == 6 and is_known_region(data.home_region)
    ):
        problems.append(ProblemField("home_region", "unknown_region", "a GB/T 2260 code"))
    if problems:
        raise ValidationFailed("the preferences are not valid", errors=problems)
    choices = {Topic(t): frozenset(Channel(c) for c in cs) for t, cs in data.choices.items()}
    return Preferences({**Preferences().choices, **choices}, data.phone, data.home_region)


@put("/preferences", sync_to_thread=True)
def set_preferences(request: Request[Any, Any, Any], data: JSONBody[PreferencesIn]) -> PreferencesOut:
    """Replace my choices (topics left out keep their defaults); a new number is told to the old one."""
    principal = guarded_donor(request)
    wanted = _wanted(data)
    with AppState.of(request).db.transaction() as uow:
        svc.save_preferences(uow, min(principal.person_ids), wanted, datetime.now(UTC))
        prefs, linked = svc.settings_of(uow, min(principal.person_ids))
    sink = AppState.of(request).audit
    assert sink is not None
    sink.record(AuditEvent(principal.actor, "update:notification_prefs", None, client_of(request)))
    return _out(prefs, linked)


class WeChatIn(msgspec.Struct, forbid_unknown_fields=True):
    js_code: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


@post("/wechat", status_code=204, sync_to_thread=True)
def link_wechat(request: Request[Any, Any, Any], data: JSONBody[WeChatIn]) -> None:
    """From the mini-program: a fresh `wx.login()` code, so that WeChat messages reach this donor."""
    state = AppState.of(request)
    with httpx.Client(timeout=10.0) as http:
        channel = channels_from_settings(state.settings, http).get(Channel.WECHAT)
        svc.link_wechat(
            state.db, channel, min(guarded_donor(request).person_ids), data.js_code, datetime.now(UTC)
        )


notifications_router = Router(
    path="/api/v1/me/notifications",
    route_handlers=[my_messages, mark_read, my_preferences, set_preferences, link_wechat],
    guards=[donor_guard],
    cache_control=CacheControlHeader(no_store=True),
    tags=["donor"],
    security=[{"donorSession": []}],
)
