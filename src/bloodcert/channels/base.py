"""The one interface every message channel implements, and the error that says whether to try again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message for one address (a phone number, a WeChat openid, an Alipay user id)."""

    address: str
    event: str  # e.g. record.arrived
    title: str
    body: str
    link: str | None  # a path on the site (the mini-programs open the same path)
    at: str  # when it was raised, "YYYY-MM-DD HH:MM" Beijing time


class ChannelError(Exception):
    """The provider did not take the message. `retryable`: a later try may succeed (busy, throttled)."""

    def __init__(self, code: str, *, retryable: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable


class MessageChannel(Protocol):
    """A provider's message API."""

    @property
    def name(self) -> str: ...  # sms | wechat | alipay

    def send(self, message: OutgoingMessage) -> str: ...  # the provider's message id, or ChannelError


def clip(text: str, limit: int) -> str:
    """Text cut to a provider's field limit, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
